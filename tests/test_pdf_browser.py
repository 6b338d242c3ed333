"""A real browser over the app serving a generated PDF: the card says « p. 3 », « Lire dans le document p. 3 » opens
the reader at page 3, and the card's download gives back the PDF itself (slow: starts the app and Chromium)."""

from __future__ import annotations

import os

import pytest
from documents import make_pdf

from docs.screenshot import CHROMIUM, CHROMIUM_ARGS, free_port, open_app, send_question
from docs.screenshot_pdf import OUTLINE, PAGES, QUESTION

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


@pytest.fixture(scope="module")
def pdf_app(tmp_path_factory):
    from rag import Retriever, Settings
    from ui.layout import build_app, launch

    corpus = tmp_path_factory.mktemp("pdf-app-corpus")
    data = make_pdf(PAGES, OUTLINE, title="Rapport de démonstration", header="Rapport de démonstration",
                    numbers=True)
    (corpus / "rapport-demonstration.pdf").write_bytes(data)
    settings = Settings(corpus_dir=str(corpus), index_dir=str(tmp_path_factory.mktemp("pdf-app-index")),
                        embedder="bundled")
    demo = build_app(Retriever.from_settings(settings))
    port = free_port()
    launch(demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    yield f"http://127.0.0.1:{port}/", data
    demo.close()


def test_pdf_citation_page_reader_and_download_in_a_browser(pdf_app):
    from playwright.sync_api import sync_playwright

    url, data = pdf_app
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
            open_app(page, url)
            send_question(page, QUESTION)
            card = page.locator("#passage-1")
            card.locator(".card-page").wait_for(timeout=60_000)
            assert card.locator(".card-page").inner_text() == "« p. 3 »"
            assert "p. 3. Source : rapport-demonstration" in card.locator(".ref-text").text_content()
            link = card.locator("a.file-link")
            response = page.request.get(url.rstrip("/") + link.get_attribute("href"))
            assert response.status == 200 and response.body() == data
            assert response.headers["content-disposition"].startswith("attachment")
            card.locator("button.read-link").click()
            where = page.locator("#reader .reader-where")
            where.wait_for(timeout=30_000)
            assert "Passage cité surligné, p. 3" in where.inner_text()
            hit = page.locator("#reader-hit")
            hit.wait_for(timeout=10_000)
            # the marked passage sits below the « p. 3 » mark and above the « p. 4 » one
            # (read in one go: the reader scrolls to the passage, and separate reads could straddle the scroll)
            top3, y, top4 = page.evaluate("['page-3', 'reader-hit', 'page-4'].map("
                                          "id => document.getElementById(id).getBoundingClientRect().top)")
            assert top3 < y < top4
        finally:
            browser.close()

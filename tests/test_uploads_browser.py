"""« Mes documents » in a real browser (Playwright driving Debian's Chromium): upload a .md, get a cited answer.

Set RAG_SCREENSHOT=1 to also write docs/upload.png (the README's picture of an answer from one's own document).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from corpora import ROOT

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")

from docs.screenshot import open_app, send_question  # noqa: E402

TIMEOUT = 120_000
ANSWER = "Le projet Héliotrope de drones sous-marins est financé à hauteur de 42 millions d'euros par la marine."
MINE = f"""# Note interne sur le projet Héliotrope

## Financement

{ANSWER}

## Calendrier

Sa livraison à la marine est prévue en 2031, après deux années d'essais en mer.
"""


def test_upload_a_markdown_file_and_get_an_answer_cited_from_it(browser, app_url, tmp_path):
    source = tmp_path / "note héliotrope.md"
    source.write_text(MINE, encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    try:
        open_app(page, app_url, TIMEOUT)
        page.get_by_text("Mes documents (privés à cette session)").click()
        page.locator("#upload-files input[type=file]").set_input_files(str(source))
        listed = page.locator("#my-docs-list .my-docs li")
        listed.first.wait_for(state="visible", timeout=TIMEOUT)
        assert "Note interne sur le projet Héliotrope" in listed.first.inner_text()
        assert "note héliotrope.md" in listed.first.inner_text()

        send_question(page, "Combien coûte le projet Héliotrope ?")
        page.locator("#result .answer").wait_for(state="visible", timeout=TIMEOUT)
        answer = page.locator("#result .answer").inner_text()
        assert ANSWER in answer
        first = page.locator("#result article.card").first
        assert "Mon document" in first.inner_text()
        assert first.locator("button.read-link").count() == 1  # it opens in the reader (test_feedback_browser)
        reference = first.locator("button.copy-ref:not(.copy-short)").get_attribute("data-ref")
        assert ANSWER in reference and "mon-document-1, caractères" in reference

        page.evaluate("document.querySelector('#my-docs-list').scrollIntoView({block: 'start'})")
        # until the scroll has stopped: the same position on two animation frames in a row
        page.wait_for_function("() => { const same = window.lastScrollY === window.scrollY;"
                               " window.lastScrollY = window.scrollY; return same; }", timeout=TIMEOUT)
        shot = tmp_path / "upload.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000
        if os.environ.get("RAG_SCREENSHOT"):
            page.screenshot(path=str(ROOT / "docs" / "upload.png"), full_page=False)

        page.locator("#clear-docs").click()  # the documents go, and the answer that quoted them
        page.wait_for_function("!document.querySelector('#result').textContent.includes('Héliotrope')",
                               timeout=TIMEOUT)
        assert "Vos documents ont été supprimés" in page.locator("#result").inner_text()
        assert "Aucun document envoyé" in page.locator("#my-docs-list").inner_text()
    finally:
        context.close()

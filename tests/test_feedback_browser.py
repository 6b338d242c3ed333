"""Feedback, an upload in the reader, and a cancelled upload, in a real browser (Playwright driving Debian's
Chromium), on the fixture corpus with a feedback file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")

from test_app_browser import serious_violations  # noqa: E402

from docs.screenshot import open_app, send_question  # noqa: E402

TIMEOUT = 120_000
QUESTION = "Que signifie un contrôle humain significatif ?"
ANSWER = "Le projet Héliotrope de drones sous-marins est financé à hauteur de 42 millions d'euros par la marine."
MINE = f"# Note interne sur le projet Héliotrope\n\n## Financement\n\n{ANSWER}\n\n## Calendrier\n\nSa livraison à la " \
       "marine est prévue en 2031, après deux années d'essais en mer.\n"


@pytest.fixture
def page(browser, feedback_app):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    open_app(page, feedback_app["url"], TIMEOUT)
    yield page
    context.close()


def test_clicking_faux_after_an_answer_writes_a_line_and_thanks(page, feedback_app):
    assert not page.locator("#feedback").is_visible()  # nothing to judge yet
    send_question(page, QUESTION)
    page.locator("#result .answer").wait_for(state="visible", timeout=TIMEOUT)
    page.locator("#feedback-wrong").wait_for(state="visible", timeout=TIMEOUT)
    assert serious_violations(page) == []  # the page with its feedback controls
    page.locator("#feedback-comment textarea").fill("La définition attendue est celle de l'UIP.")
    page.locator("#feedback-wrong").click()
    page.locator("#feedback-status", has_text="Merci").wait_for(timeout=TIMEOUT)
    assert "« Faux »" in page.locator("#feedback-status").inner_text()
    assert "Réponse extraite" in page.locator("#result").inner_text()  # the answer stays
    [line] = [json.loads(x) for x in feedback_app["file"].read_text(encoding="utf-8").splitlines()]
    assert line["question"] == QUESTION and line["verdict"] == "wrong" and line["outcome"] == "answered"
    assert line["comment"] == "La définition attendue est celle de l'UIP." and line["quotes"]
    shown = " ".join(page.locator("#result .answer .quote").first.inner_text().split())
    assert shown == f"« {' '.join(line['quotes'][0]['text'].split())} »"
    # a comment too long: a message, the text kept in its box, nothing written
    page.locator("#feedback-comment textarea").fill("x" * 501)
    page.locator("#feedback-missing").click()
    page.locator("#feedback-status", has_text="trop long").wait_for(timeout=TIMEOUT)
    assert page.locator("#feedback-comment textarea").input_value() == "x" * 501
    assert len(feedback_app["file"].read_text(encoding="utf-8").splitlines()) == 1
    assert serious_violations(page) == []


def test_an_upload_opens_in_the_reader_from_its_card(page, feedback_app, tmp_path):
    source = tmp_path / "note héliotrope.md"
    source.write_text(MINE, encoding="utf-8")
    page.get_by_text("Mes documents (privés à cette session)").click()
    page.locator("#upload-files input[type=file]").set_input_files(str(source))
    page.locator("#my-docs-list .my-docs li").first.wait_for(state="visible", timeout=TIMEOUT)
    send_question(page, "Combien coûte le projet Héliotrope ?")
    page.locator("#result .answer").wait_for(state="visible", timeout=TIMEOUT)
    card = page.locator("#result article.card", has_text="Mon document").first
    card.locator("button.read-link").click()
    hit = page.locator("#reader #reader-hit")
    hit.wait_for(timeout=TIMEOUT)
    assert ANSWER in hit.inner_text()
    assert page.locator("button[role=tab][aria-selected=true]").inner_text().strip() == "Corpus"
    assert page.locator("#reader-doc input").input_value() == \
        "M · Note interne sur le projet Héliotrope (vos documents)"
    assert serious_violations(page) == []
    # the reader's list offers it too, after the corpus's documents
    page.locator("#reader-doc input").click()
    options = page.locator("[role=option]")
    options.last.wait_for(timeout=TIMEOUT)
    label = options.last.inner_text().split("\n")[-1].strip()  # after the tick of the selected one
    assert label == "M · Note interne sur le projet Héliotrope (vos documents)"


def test_cancelling_an_upload_leaves_nothing_indexed(page, feedback_app, tmp_path):
    sentences = [f"Le rapport {i} du programme Albatros décrit l'essai numéro {i * 7} d'un drone de surveillance "
                 f"côtière, mené avec {i % 13 + 2} équipes au large de la station {i % 29}." for i in range(550)]
    big = tmp_path / "long rapport.txt"
    big.write_text("\n\n".join(" ".join(sentences[i:i + 5]) for i in range(0, 700, 5)), encoding="utf-8")
    sessions = feedback_app["demo"].upload_sessions
    page.get_by_text("Mes documents (privés à cette session)").click()
    assert len(big.read_text(encoding="utf-8")) < 100_000  # under the upload's character cap: it would be read
    page.locator("#upload-files input[type=file]").set_input_files(str(big))
    deadline = time.monotonic() + 60
    while not sessions._uploads and time.monotonic() < deadline:  # the upload is under way on the server
        time.sleep(0.05)
    assert sessions._uploads, "the upload never started"
    session = next(iter(sessions._uploads))
    # the page shows how far it is: the embedding step, passages done out of all
    page.get_by_text("Calcul des plongements de long rapport.txt").first.wait_for(timeout=TIMEOUT)
    page.locator("#cancel-upload").click()
    page.locator("#my-docs-list", has_text="Envoi annulé").wait_for(timeout=TIMEOUT)
    assert "Aucun document envoyé" in page.locator("#my-docs-list").inner_text()
    assert sessions.documents(session) == [] and not sessions._uploads
    send_question(page, "Que décrit le rapport 12 du programme Albatros ?")
    page.locator("#result .rag-result").first.wait_for(timeout=TIMEOUT)
    page.wait_for_function("!document.querySelector('#result').textContent.includes('Posez une question')",
                           timeout=TIMEOUT)
    assert "Albatros décrit" not in page.locator("#result").inner_text()


def test_on_a_phone_the_feedback_controls_fit_the_screen(browser, feedback_app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR", is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        open_app(page, feedback_app["url"], TIMEOUT)
        send_question(page, QUESTION)
        page.locator("#feedback-missing").wait_for(state="visible", timeout=TIMEOUT)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for verdict in ("right", "wrong", "missing"):
            box = page.locator(f"#feedback-{verdict}").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 24  # reachable by a thumb
        assert serious_violations(page) == []
    finally:
        context.close()


def test_the_guard_refuses_a_flood_of_comment_before_the_queue_and_the_line_says_no_more_than_the_page(feedback_app):
    """Through HTTP, as a script would: a comment past the box's size is refused with a French 422 before anything
    is queued; a verdict with no answer shown to that session writes nothing (quotes come from the server)."""
    import httpx

    demo, url = feedback_app["demo"], feedback_app["url"]
    wrong = next(i for i, f in demo.fns.items() if getattr(f.fn, "__name__", "") == "wrong")
    before = feedback_app["file"].read_bytes() if feedback_app["file"].exists() else b""
    body = {"data": ["x" * 2001], "fn_index": wrong, "session_hash": "script-1", "event_data": None,
            "trigger_id": None}
    r = httpx.post(url + "gradio_api/queue/join", json=body, timeout=30)
    assert r.status_code == 422 and "Commentaire trop long" in r.json()["detail"][0]["message"]
    body["data"] = ["une citation inventée"]
    r = httpx.post(url + "gradio_api/queue/join", json=body, timeout=30)
    assert r.status_code == 200
    deadline = time.monotonic() + 30
    while demo._queue.event_ids_to_events and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (feedback_app["file"].read_bytes() if feedback_app["file"].exists() else b"") == before

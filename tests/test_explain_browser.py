"""« Pourquoi ce passage ? » and follow-up questions in a real browser (Playwright, Debian's Chromium), on the
fixture corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")

from docs.screenshot import open_app, send_question  # noqa: E402

TIMEOUT = 30_000
FIRST = "Que demande la résolution au Secrétaire général ?"
FOLLOW_UP = "Quand a-t-elle été adoptée ?"
READ = "Quand la résolution a-t-elle été adoptée ?"


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    open_app(page, app_url)
    yield page
    context.close()


def asked(page) -> str:
    """The question the result panel says it answered, once a new one is there."""
    return page.locator("#result .asked q").first.inner_text(timeout=TIMEOUT)


def wait_asked(page, question: str) -> None:
    page.wait_for_function("q => { const e = document.querySelector('#result .asked q');"
                           " return !!e && e.textContent === q; }", arg=question, timeout=TIMEOUT)


def test_why_this_passage_opens_with_the_keyboard_and_shows_the_signals(page):
    send_question(page, "Que signifie un contrôle humain significatif ?")
    wait_asked(page, "Que signifie un contrôle humain significatif ?")
    # the page gives the answer the focus a moment after it shows it: only then is the focus the test's to move
    page.wait_for_function("() => !!document.activeElement && !!document.activeElement.closest('#result')",
                           timeout=TIMEOUT)
    why = page.locator("#result details.why").first
    summary = why.locator("summary")
    assert summary.inner_text() == "Pourquoi ce passage ?"
    assert not why.evaluate("d => d.open")
    assert page.locator("#result details.why").count() == page.locator("#result article.card").count()
    summary.focus()
    page.keyboard.press("Enter")
    assert why.evaluate("d => d.open")
    text = why.locator(".why-text").inner_text()
    assert "en recherche sémantique" in text and "mots trouvés : " in text and "contrôle" in text
    assert "type attendu : définition" in text and "tous les documents cherchés" in text
    page.keyboard.press("Enter")  # and closes again
    assert not why.evaluate("d => d.open")


def test_a_follow_up_is_read_with_the_previous_question_and_the_button_asks_it_alone(page):
    note = page.locator("#understood-row")
    send_question(page, FIRST)
    wait_asked(page, FIRST)
    assert not note.is_visible()
    send_question(page, FOLLOW_UP)
    wait_asked(page, READ)
    note.locator(".understood").wait_for(state="visible", timeout=TIMEOUT)
    assert "Compris comme :" in note.inner_text() and READ in note.inner_text()
    assert "24 décembre 2024" in page.locator("#result .answer").inner_text()
    button = page.locator("#ask-alone")
    assert button.inner_text().strip() == "Poser la question seule"
    button.click()
    wait_asked(page, FOLLOW_UP)  # the question as typed, on its own
    note.wait_for(state="hidden", timeout=TIMEOUT)


def test_a_visitor_typing_the_next_question_keeps_the_focus_when_the_answer_arrives(page):
    """The answer takes the focus (for keyboard and screen-reader users) unless the visitor has started typing the
    next question meanwhile: their keystrokes stay in the box (they went to the answer panel, and an Enter there
    sent nothing)."""
    send_question(page, FIRST)
    # the question has left (the result panel waits for it, or shows it): what is typed now is the next one
    page.wait_for_function("q => !!document.querySelector('#result .pending') || [...document.querySelectorAll("
                           "'#result .asked q')].some(e => e.textContent === q)", arg=FIRST, timeout=TIMEOUT)
    box = page.locator("#question textarea")
    box.fill("Quand a-t-elle")  # typing while the answer is on its way
    wait_asked(page, FIRST)
    page.wait_for_function("() => document.querySelector('#result-status').textContent.length > 0", timeout=TIMEOUT)
    page.wait_for_timeout(400)  # past the page's move of the focus to a new answer
    assert page.evaluate("() => !!document.activeElement.closest('#question')")
    box.press_sequentially(" été adoptée ?")
    box.press("Enter")
    wait_asked(page, READ)  # read as a follow-up of the first question


def test_a_follow_up_with_no_previous_question_is_asked_as_it_is(page):
    send_question(page, FOLLOW_UP)
    wait_asked(page, FOLLOW_UP)
    assert not page.locator("#understood-row").is_visible()


def test_clearing_my_documents_hides_the_understood_note(page):
    send_question(page, FIRST)
    wait_asked(page, FIRST)
    send_question(page, FOLLOW_UP)
    wait_asked(page, READ)
    note = page.locator("#understood-row")
    note.locator(".understood").wait_for(state="visible", timeout=TIMEOUT)
    page.get_by_text("Mes documents (privés à cette session)").click()
    page.locator("#clear-docs").click()
    note.wait_for(state="hidden", timeout=TIMEOUT)
    assert "Compris comme" not in page.locator("#result").inner_text()


def test_on_a_phone_the_note_and_the_open_explanation_fit_and_have_no_serious_accessibility_violation(browser,
                                                                                                      app_url):
    from test_app_browser import serious_violations

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR", is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        open_app(page, app_url)
        send_question(page, FIRST)
        wait_asked(page, FIRST)
        send_question(page, FOLLOW_UP)
        wait_asked(page, READ)
        page.locator("#understood-row .understood").wait_for(state="visible", timeout=TIMEOUT)
        for shown in ("#understood-row .understood", "#result .answer-list .quote"):  # the note and the answer
            page.wait_for_function("s => { const r = document.querySelector(s).getBoundingClientRect();"
                                   " return r.top >= 0 && r.bottom <= window.innerHeight; }", arg=shown,
                                   timeout=TIMEOUT)
        assert page.evaluate("!!document.activeElement.closest('#result')"), "the answer has the focus"
        page.locator("#result details.why summary").first.click()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "sideways scroll on a phone"
        assert serious_violations(page) == []
    finally:
        context.close()

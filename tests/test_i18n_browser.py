"""The English interface in a real browser (Playwright and Debian's Chromium, on the fixture corpus): an English
browser sees no French interface text after an answer, the switch flips the language, an unknown locale gets French
with the English switch, and axe finds no serious violation on the English page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")

from test_app_browser import serious_violations  # noqa: E402

from docs.screenshot import open_app, send_question  # noqa: E402
from ui.i18n import STRINGS  # noqa: E402

TIMEOUT = 30_000
# the feedback app's first answer in its own process, on a loaded 2-core machine (tests/test_feedback_browser.py
# waits as long): a fresh clone's suite once timed out at 30 s there
FEEDBACK_TIMEOUT = 120_000
QUESTION = "What does meaningful human control mean?"
# Every interface string that French and English write differently, French side (its fixed part before a field):
# the page's, the feedback panel's, « Annuler l'envoi » and « Pourquoi ce passage ? » included.
ALL = list(STRINGS.values())
FRENCH = sorted({v["fr"].split("{")[0].strip() for v in ALL if v["fr"] != v["en"]} - {""}, key=len)
FRENCH = [s for s in FRENCH if len(s) > 4]
# Gradio's own French strings that an English page must not show.
GRADIO_FRENCH = ["Utiliser via API", "Créé avec Gradio", "Paramètres", "Déposez", "Chargement"]
ACCENTED = re.compile(r"[éèêàçùûôîœ«»]")

# What a visitor reads or hears: visible text nodes, placeholders, aria-labels and titles, outside the corpus's own
# words (marked lang="fr"; the switch's « Français » is marked so too).
SHOWN = """() => {
  const out = [];
  const outside = (e) => !e.closest('[lang="fr"], script, style, noscript');
  const shown = (e) => e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const e = n.parentElement;
    if (e && n.textContent.trim() && outside(e) && shown(e)) out.push(n.textContent.trim());
  }
  document.querySelectorAll('[placeholder], [aria-label], [title]').forEach((e) => {
    if (!outside(e) || !shown(e) || e.matches('.copy-ref')) return;  // a copy button's title: the reference itself
    for (const a of ['placeholder', 'aria-label', 'title']) if (e.getAttribute(a)) out.push(e.getAttribute(a));
  });
  return out;
}"""


def french_shown(page) -> list[str]:
    texts = page.evaluate(SHOWN)
    joined = "\n".join(texts)
    found = [s for s in FRENCH + GRADIO_FRENCH if s in joined]
    found += [t for t in texts if ACCENTED.search(t)]
    return found


@pytest.fixture
def english(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    open_app(page, app_url)
    yield page
    context.close()


def answer(page, question: str = QUESTION, timeout: int = TIMEOUT) -> None:
    send_question(page, question)
    page.locator("#result .answer, #result .abstain").first.wait_for(state="attached", timeout=timeout)
    page.wait_for_timeout(300)


def test_an_english_browser_sees_no_french_interface_text_after_an_answer(english):
    page = english
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "Ask a question about" in page.locator("#result").inner_text()
    assert french_shown(page) == []
    page.get_by_text("Search options").click()  # the options: English labels, the documents' titles marked French
    page.get_by_text("Hybrid: meaning + keywords (recommended)").wait_for(timeout=TIMEOUT)
    assert page.get_by_role("radio", name="Hybrid: meaning + keywords (recommended)").is_checked()
    assert french_shown(page) == []
    answer(page)
    assert page.locator("#result .answer").count() == 1, "the fixture corpus answers this question"
    assert page.locator("#result .answer .quote[lang=fr]").count() >= 1  # the quotes stay French, marked so
    assert "Extracted answer" in page.locator("#result").inner_text()
    card = page.locator("#result article.card").first
    card.locator("details.ref-box summary").click()
    card.locator("details.why summary").click()  # « Why this passage? »: the signals, in English
    assert card.locator("details.why summary").inner_text().strip() == "Why this passage?"
    assert card.locator(".why-text").inner_text().strip()
    assert french_shown(page) == []
    page.wait_for_function("document.querySelector('#result-status').textContent.includes('Answer found')",
                           timeout=TIMEOUT)
    page.locator("#my-docs-panel button").first.click()  # the upload zone: Gradio's own strings, in English
    page.locator("#upload-files").get_by_text("Drop File Here").wait_for(timeout=TIMEOUT)
    assert french_shown(page) == []
    answer(page, "How do I bake a cake?")
    page.locator("#result .abstain").wait_for(timeout=TIMEOUT)
    assert "Documents searched" in page.locator("#result .abstain").inner_text()
    assert french_shown(page) == []
    page.get_by_role("tab", name="About").click()
    page.locator("h3.sec-title", has_text="Evaluation").wait_for(state="visible", timeout=TIMEOUT)
    assert french_shown(page) == []
    page.get_by_role("tab", name="Corpus").click()
    page.locator("#reader .reader").wait_for(state="visible", timeout=TIMEOUT)
    assert french_shown(page) == []
    page.locator("#reader-doc input").click()  # the list of documents: their titles, marked French
    page.locator("#reader-doc ul li").first.wait_for(state="visible", timeout=TIMEOUT)
    assert french_shown(page) == []


def test_an_upload_in_english(english, tmp_path):
    page = english
    note = tmp_path / "harbour-note.md"
    note.write_text("# Harbour drones\n\nThe harbour drone programme will be delivered to the navy in 2031.\n",
                    encoding="utf-8")
    page.get_by_text("My documents (private to this session)").click()
    page.locator("#upload-files input[type=file]").set_input_files(str(note))
    page.locator("#my-docs-list .my-docs li").first.wait_for(timeout=60_000)
    assert page.locator("#cancel-upload").inner_text().strip() == "Cancel the upload"
    panel = page.locator("#my-docs-list").inner_text()
    assert "characters" in panel and "passages" in panel and "visible in this session only" in panel
    assert french_shown(page) == []


def test_the_switch_flips_the_language_and_back(english):
    page = english
    assert page.locator("#ask-btn").inner_text().strip() == "Search"
    page.locator(".lang-switch a[hreflang=fr]").click()
    page.wait_for_function("document.documentElement.dataset.ragReady === 'fr'", timeout=TIMEOUT)
    assert "lang=fr" in page.url
    assert page.locator("#ask-btn").inner_text().strip() == "Rechercher"
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.get_by_text("Utiliser via API").count() >= 1  # Gradio's own strings follow the page, not the browser
    answer(page, "Que signifie un contrôle humain significatif ?")
    assert "Réponse extraite" in page.locator("#result").inner_text()
    page.locator(".lang-switch a[hreflang=en]").click()
    page.wait_for_function("document.documentElement.dataset.ragReady === 'en'", timeout=TIMEOUT)
    assert page.locator("#ask-btn").inner_text().strip() == "Search"
    assert page.get_by_text("Use via API").count() >= 1


def test_an_unknown_locale_gets_french_with_the_english_switch(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    open_app(page, app_url)
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.locator("#ask-btn").inner_text().strip() == "Rechercher"
    assert page.get_by_text("Über API").count() == 0  # not Gradio's German either
    switch = page.locator(".lang-switch a[hreflang=en]")
    assert switch.is_visible() and switch.inner_text() == "English"
    context.close()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_no_serious_accessibility_violation_on_the_english_page(browser, app_url, viewport):
    context = browser.new_context(viewport=viewport, locale="en-US", is_mobile=viewport["width"] < 600)
    page = context.new_page()
    open_app(page, app_url)
    answer(page)
    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    context.close()


def test_the_feedback_panel_in_english(browser, feedback_app):
    url, file = feedback_app["url"], feedback_app["file"]
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="en-US")
    page = context.new_page()
    open_app(page, url, FEEDBACK_TIMEOUT)
    answer(page, timeout=FEEDBACK_TIMEOUT)
    page.locator("#feedback-wrong").wait_for(state="visible", timeout=FEEDBACK_TIMEOUT)
    assert page.locator("#feedback-title").inner_text().strip() == "Is this answer right?"
    assert french_shown(page) == []
    page.locator("#feedback-wrong").click()
    page.locator("#feedback-status .notice").wait_for(timeout=FEEDBACK_TIMEOUT)
    assert "Thank you: your verdict “Wrong” is recorded" in page.locator("#feedback-status").inner_text()
    assert french_shown(page) == []
    assert '"verdict": "wrong"' in file.read_text(encoding="utf-8")
    context.close()


def test_a_follow_up_in_english(english):
    page = english
    answer(page, "Who adopted resolution 79/239?")
    send_question(page, "And when?")
    page.locator("#understood-row .understood").wait_for(state="visible", timeout=TIMEOUT)
    page.wait_for_function("document.querySelector('#result .asked q').textContent.includes('When was')",
                           timeout=TIMEOUT)
    assert "Understood as: When was resolution 79/239 adopted?" in page.locator("#understood-row").inner_text()
    assert page.locator("#ask-alone").inner_text().strip() == "Ask the question on its own"
    assert french_shown(page) == []

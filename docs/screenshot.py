"""Take the README screenshots: the app over the REAL corpus index, answering, and declining in its two ways.

    RAG_SCREENSHOT=1 python -m pytest tests/test_app_browser.py -k screenshot   # or:
    python -m docs.screenshot [--out docs/screenshot.png]   # and docs/{desktop,phone}-{fr,en}.png, outcome-*.png…

Uses the default settings (RAG_* variables), i.e. the live index in .index/, and
Debian's Chromium at /usr/bin/chromium through Playwright.
"""

from __future__ import annotations

import argparse
import socket
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUESTION = "Que signifie un contrôle humain significatif ?"
# The README's 2×2 table: the same question in each language, on a desktop and a phone, the browser in that language.
QUESTIONS = {"fr": QUESTION, "en": "What does meaningful human control mean?"}
LOCALES = {"fr": "fr-FR", "en": "en-US"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# One question per outcome, and what the page shows when it is there.
OUTCOMES = {
    "answered": ("Quand le sommet REAIM 2026 s'est-il tenu ?", "#result .answer"),
    "related": ("Qui a présidé le sommet REAIM 2026 ?", "#result .outcome-related"),
    "off-topic": ("Quelle est la recette de la blanquette de veau ?", "#result .outcome-off-topic"),
    # « related » because no passage found names the country asked about, which the message says
    "unnamed": ("Quelle est la position de l'Argentine sur les armes autonomes ?", "#result .outcome-related"),
}


def open_app(page, url: str, timeout: int = 60_000) -> None:
    """Load the app's page until its question box is there. Not "networkidle": with the « Mes documents » panel,
    the page keeps its heartbeat stream open (how Gradio learns that the tab closed)."""
    page.goto(url, wait_until="load", timeout=timeout)
    page.locator("#question textarea").wait_for(state="visible", timeout=timeout)
    # the labels in the page's language (the load event relabels an English page)
    page.wait_for_function("() => !!document.documentElement.dataset.ragReady", timeout=timeout)


def send_question(page, question: str) -> None:
    """Type ``question`` into the page's box and send it (Enter), as a visitor does."""
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


@contextmanager
def app_page(url: str, width: int = 1280, height: int = 900, locale: str = "fr-FR"):
    """A page of Debian's Chromium showing the app at ``url`` (a phone's when narrower than 600 px), the browser's
    language ``locale``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, locale=locale,
                                    is_mobile=width < 600)
            open_app(page, url)
            yield page
        finally:
            browser.close()


def shoot(url: str, out: Path, question: str = QUESTION, ready: str = "#result .answer",
          height: int = 1600, full_page: bool = True, width: int = 1280, locale: str = "fr-FR",
          top: bool = False) -> Path:
    """``question`` answered at ``url``, the whole page (``full_page``), or the screen where the answer was brought,
    or the top of the page (``top``)."""
    with app_page(url, width, height, locale) as page:
        send_question(page, question)
        page.locator(ready).wait_for(timeout=60_000)
        page.wait_for_timeout(500)
        if full_page or top:
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(200)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=full_page)
    return out


# The card a reference is copied from, its « Référence à copier » opened: (question, the card's document).
REFERENCES = {
    "official": ("Qui le Secrétaire général doit-il inviter à faire part de leurs points de vue ?",
                 "onu-ag-resolution-79-239"),
    "simulation": ("Que demande le projet de résolution des États-Unis sur les systèmes d'armement autonomes ?",
                   "csnu-projet-resolution-etats-unis"),
}


def shoot_reference(url: str, out: Path, question: str, doc_id: str) -> Path:
    """The first card of ``doc_id`` for ``question``, its reference box opened (an element screenshot)."""
    with app_page(url, 1100, 1400) as page:
        send_question(page, question)
        page.locator("#result .card").first.wait_for(timeout=60_000)
        card = page.locator(f'#result article.card[data-doc="{doc_id}"]').first
        card.locator("details.ref-box summary").click()
        page.wait_for_timeout(300)
        card.screenshot(path=str(out))
    return out


def shoot_all(url: str, out: Path) -> Path:
    """The main screenshot at ``out``, the answer on a phone (``phone.png``), the same on a desktop and a phone in
    each language (``desktop-fr.png``, ``desktop-en.png``, ``phone-fr.png``, ``phone-en.png``), one per outcome
    beside it (``outcome-answered.png``…), and the references of an official text and of a simulation text
    (``reference-official.png``, ``reference-simulation.png``)."""
    shoot(url, out)
    shoot(url, out.parent / "phone.png", height=844, full_page=False, width=390)  # as the answer is shown there
    for lang, question in QUESTIONS.items():
        shoot(url, out.parent / f"desktop-{lang}.png", question, height=1200, full_page=False, width=1280,
              locale=LOCALES[lang], top=True)
        shoot(url, out.parent / f"phone-{lang}.png", question, height=844, full_page=False, width=390,
              locale=LOCALES[lang])
    for name, (question, ready) in OUTCOMES.items():
        shoot(url, out.parent / f"outcome-{name}.png", question, ready, height=900, full_page=False)
    for name, (question, doc_id) in REFERENCES.items():
        shoot_reference(url, out.parent / f"reference-{name}.png", question, doc_id)
    return out


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--url", help="a running app instead of starting one over the default index")
    args = parser.parse_args(argv)
    if args.url:
        return shoot_all(args.url, Path(args.out))
    from rag import Retriever
    from ui import layout

    demo = layout.build_app(Retriever.from_settings())
    port = free_port()
    layout.launch(demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        return shoot_all(f"http://127.0.0.1:{port}/", Path(args.out))
    finally:
        demo.close()


if __name__ == "__main__":
    print(main())

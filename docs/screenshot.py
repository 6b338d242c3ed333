"""Take the README screenshot: the app over the REAL corpus index answering the meaningful-human-control question.

    RAG_SCREENSHOT=1 python -m pytest tests/test_app_browser.py -k screenshot   # or:
    python docs/screenshot.py [--out docs/screenshot.png]

Uses the default settings (RAG_* variables), i.e. the live index in .index/, and
Debian's Chromium at /usr/bin/chromium through Playwright.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUESTION = "Que signifie un contrôle humain significatif ?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shoot(url: str, out: Path, question: str = QUESTION) -> Path:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600}, locale="fr-FR")
            page.goto(url, wait_until="networkidle")
            box = page.locator("#question textarea")
            box.fill(question)
            box.press("Enter")
            page.locator("#result .answer").wait_for(timeout=60_000)
            page.wait_for_timeout(500)
            page.evaluate("window.scrollTo(0, 0)")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()
    return out


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--url", help="a running app instead of starting one over the default index")
    args = parser.parse_args(argv)
    if args.url:
        return shoot(args.url, Path(args.out))
    import app
    from rag import Retriever

    demo = app.build_app(Retriever.from_settings())
    port = free_port()
    app.launch(demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        return shoot(f"http://127.0.0.1:{port}/", Path(args.out))
    finally:
        demo.close()


if __name__ == "__main__":
    print(main())

"""Take the README screenshot of a PDF citation: the app over a temporary corpus holding one generated PDF.

    python -m docs.screenshot_pdf [--out docs/pdf-citation.png]     # also docs/pdf-reader.png

The PDF (made here with fpdf2: known text on known pages, an outline) is a demonstration document, not a
source; the app indexes it with the bundled embedder into a temporary folder and answers a question whose
answer is on page 3. Debian's Chromium at /usr/bin/chromium through Playwright.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

QUESTION = "Quel délai le rapport propose-t-il pour déclarer un essai au registre ?"
PAGES = [
    ["Ce document de démonstration a été généré pour montrer comment l'assistant cite une page d'un PDF. "
     "Il ne décrit aucune politique réelle.",
     "Il expose un cadre fictif de transparence pour les essais de systèmes d'armes dotés de fonctions "
     "autonomes, en trois parties : le registre, la revue juridique et le suivi."],
    ["Les États participants tiendraient un registre commun des essais. Chaque entrée décrirait le système, "
     "ses fonctions autonomes, le lieu de l'essai et les mesures de contrôle humain prévues.",
     "Le registre serait consultable par les autres États participants, sous réserve des informations "
     "classifiées."],
    ["Le rapport propose que chaque essai soit déclaré au registre dans un délai de trente jours après sa "
     "réalisation.",
     "Un essai qui révèle un comportement imprévu du système ferait l'objet d'une déclaration complémentaire "
     "sous sept jours, accompagnée des mesures correctives."],
    ["Chaque nouveau système ferait l'objet d'une revue juridique avant son emploi, au sens de l'article 36 "
     "du Protocole additionnel I, et la revue serait renouvelée après toute modification substantielle."],
    ["Un groupe de suivi se réunirait chaque année pour examiner le registre et proposer des ajustements du "
     "cadre."],
]
OUTLINE = {0: [(0, "Introduction")], 1: [(0, "Le registre des essais")], 2: [(1, "Délais de déclaration")],
           3: [(0, "La revue juridique")], 4: [(0, "Le suivi")]}


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "pdf-citation.png"))
    args = parser.parse_args(argv)
    out = Path(args.out)

    from playwright.sync_api import sync_playwright

    from docs.screenshot import CHROMIUM, CHROMIUM_ARGS, free_port, open_app, send_question
    from rag import Retriever, Settings
    from tests.documents import make_pdf
    from ui import layout

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        (corpus / "rapport-demonstration.pdf").write_bytes(make_pdf(
            PAGES, OUTLINE, title="Rapport de démonstration sur la transparence des essais",
            author="Document généré (démonstration)", header="Rapport de démonstration", numbers=True))
        settings = Settings(corpus_dir=str(corpus), index_dir=str(Path(tmp) / "index"), embedder="bundled")
        demo = layout.build_app(Retriever.from_settings(settings))
        port = free_port()
        layout.launch(demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
                    open_app(page, f"http://127.0.0.1:{port}/")
                    send_question(page, QUESTION)
                    page.locator("#result .card-page").first.wait_for(timeout=60_000)
                    page.wait_for_timeout(500)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    page.locator("#passage-1 details.ref-box summary").click()
                    page.wait_for_timeout(300)
                    page.locator("#passage-1").screenshot(path=str(out))
                    page.locator("#passage-1 button.read-link").click()
                    page.locator("#reader .page-mark").first.wait_for(timeout=30_000)
                    page.wait_for_timeout(800)
                    page.screenshot(path=str(out.with_name("pdf-reader.png")))
                finally:
                    browser.close()
        finally:
            demo.close()
    return out


if __name__ == "__main__":
    print(main())

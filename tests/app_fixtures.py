"""Fixtures for the app tests: a tiny French corpus, its index (bundled embedder, offline), the app in-process.

Test modules import these fixtures by name (``from app_fixtures import ...``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from docs.screenshot import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: F401 (free_port: for the tests)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>alert(2)</script>"

APP_DOCS = {
    "controle-humain": """# Le contrôle humain des systèmes d'armes

## Définition

Un contrôle humain significatif signifie qu'un opérateur humain comprend le système, peut anticiper ses effets et garde la décision finale sur l'emploi de la force.

Les États estiment que la responsabilité juridique ne peut jamais être transférée à une machine.

## Mise en œuvre

Les armées doivent former leurs opérateurs et documenter chaque décision de ciblage afin de rendre des comptes.
""",
    "resolution-onu": """# Résolution de l'Assemblée générale sur l'intelligence artificielle militaire

## Préambule

L'Assemblée générale des Nations Unies a adopté le 24 décembre 2024 une résolution sur l'intelligence artificielle dans le domaine militaire.

## Dispositif

Elle prie le Secrétaire général de recueillir les vues des États membres et de lui présenter un rapport lors de sa quatre-vingtième session.

Elle encourage les États à échanger leurs bonnes pratiques sur la gouvernance de ces technologies.
""",
    "note-technique": f"""# Note technique sur la sécurité des interfaces

## Balises dangereuses

Une page web ne doit jamais exécuter le texte {XSS_IMG} fourni par un document.

Le fragment {XSS_SCRIPT} doit lui aussi rester affiché comme du simple texte dans l'interface.

## Recommandations

Les développeurs échappent tout contenu venant du corpus avant de l'afficher.
""",
}

APP_METADATA = """
["controle-humain"]
title = "Le contrôle humain des systèmes d'armes"
body = "Institut fictif d'études stratégiques"
kind = "Note"
date = "janvier 2025"

["resolution-onu"]
title = "Résolution fictive de l'Assemblée générale"
body = "Assemblée générale (document de test)"
kind = "Résolution"
date = "24 décembre 2024"

["note-technique"]
title = "Note technique <b>sécurité</b> des interfaces"
body = "Équipe de test <script>alert(3)</script>"
kind = "Note technique"
date = "2025"
"""


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright for Python, for one test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def app_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("app-corpus")
    for doc_id, text in APP_DOCS.items():
        (folder / f"{doc_id}.md").write_text(text, encoding="utf-8")
    (folder / "metadata.toml").write_text(APP_METADATA, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def app_retriever(app_corpus, tmp_path_factory):
    from rag import Retriever, Settings

    settings = Settings(corpus_dir=str(app_corpus), index_dir=str(tmp_path_factory.mktemp("app-index")),
                        embedder="bundled")
    return Retriever.from_settings(settings)


@pytest.fixture(scope="session")
def app_url(app_retriever):
    """The app over the fixture corpus, served in-process on a free port."""
    import app

    demo = app.build_app(app_retriever)
    port = free_port()
    app.launch(demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()

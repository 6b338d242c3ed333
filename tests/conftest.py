"""Shared fixtures: a tiny corpus with the debris of the real one, and retrievers over it."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test downloads anything
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# A build whose settings name no index folder goes to the user's cache (Settings.index_dir): during the tests, to a
# temporary one, in this process and in the app processes it starts, removed at the end of the run.
_CACHE = tempfile.mkdtemp(prefix="rag-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE

ROOT = Path(__file__).resolve().parent.parent

# Modules marked slow (``python -m pytest -m "not slow"`` leaves them out; ``python -m pytest`` runs everything):
# they start the app or a browser, kill subprocesses mid-build, use the real corpus's index, or convert the model.
SLOW_MODULES = {"test_app_api", "test_app_browser", "test_bundled_runtime", "test_eval", "test_faults", "test_hostile",
                "test_public", "test_public_http", "test_real_corpus", "test_bench_corpus", "test_pdf_browser",
                "test_uploads_http", "test_uploads_browser", "test_milvus"}


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)

TINY = {
    "rapport-drones.md": """

# Rapport sur les drones autonomes

## Contexte

Les drones armés autonomes posent la question du contrôle humain<sup>1</sup>. Un contrôle humain significatif
suppose que l'opérateur comprenne le système et puisse interrompre une attaque à tout moment.

---

1. Voir la note du Comité international de la Croix-Rouge, 2021.

2. Ibid.

La Convention sur certaines armes classiques (CCAC) examine la question des SALA depuis
2014, sans être parvenue à un traité.

## Recommandations

Le rapport recommande un moratoire sur les <b>systèmes d'armes létaux autonomes</b> et la création d'un registre
international des essais. Les États devraient publier leurs doctrines d'emploi.

Scroll to Top
""",
    "resolution-test.md": """# Résolution 12/345

*L'Assemblée,*

1. *Prie* le Secrétaire général de présenter un rapport (A/12/678) sur l'intelligence artificielle militaire ;

2. *Décide* d'inscrire la question à l'ordre du jour de sa prochaine session.
""",
    "note-budget.txt": """Note sur le budget de la défense

Le budget consacré à l'intelligence artificielle de défense atteindra 1,5 milliard d'euros en 2030,
selon la loi de programmation militaire. La moitié financera la recherche sur le traitement des données.
""",
}

HOSTILE = """# Document piégé

Ce document contient <img src=x onerror=alert(1)> et <script>alert(2)</script> au milieu du texte, ainsi
qu'un lien [cliquez](javascript:alert(3)) pour vérifier que rien ne s'exécute.
"""


def write_corpus(folder: Path, files: dict[str, str] = TINY, metadata: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    if metadata is not None:
        (folder / "metadata.toml").write_text(metadata, encoding="utf-8")
    return folder


TINY_METADATA = """
["rapport-drones"]
title = "Rapport sur les drones autonomes"
body = "Commission d'essai"
date = "2024"
"""


@pytest.fixture(scope="session", autouse=True)
def embed_cache(tmp_path_factory) -> Path:
    """The bundled model is converted once per session, into a temporary folder (unless RAG_EMBED_CACHE is set)."""
    if not os.environ.get("RAG_EMBED_CACHE"):
        os.environ["RAG_EMBED_CACHE"] = str(tmp_path_factory.mktemp("embedders"))
    return Path(os.environ["RAG_EMBED_CACHE"])


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"), metadata=TINY_METADATA)


@pytest.fixture(scope="session")
def tiny_settings(tiny_corpus, tmp_path_factory):
    from rag import Settings

    return Settings(corpus_dir=str(tiny_corpus), index_dir=str(tmp_path_factory.mktemp("index")),
                    embedder="bundled", chunk_tokens=64, chunk_overlap=8)


@pytest.fixture(scope="session")
def tiny_retriever(tiny_settings):
    from rag import Retriever

    return Retriever.from_settings(tiny_settings)


@pytest.fixture(scope="session")
def real_retriever(tmp_path_factory):
    """The real corpus with default settings: the committed index (a build, if it did not match, in a temporary
    folder)."""
    from rag import Retriever, Settings

    logging.getLogger("rag").setLevel(logging.INFO)
    return Retriever.from_settings(Settings(embedder="bundled", index_dir=str(tmp_path_factory.mktemp("real-index"))))

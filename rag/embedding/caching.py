"""One cached-embedder wrapper, for the evaluation and the tests: each distinct text is embedded once.

    emb = CachedEmbedder(load_embedder("bundled", ""), cache_dir="eval/out/cache")   # queries kept on disk too

Same name and vectors as the embedder it wraps (an index built through it is the same index).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import numpy as np

from rag.core.files import atomic_file

log = logging.getLogger("rag")


class CachedEmbedder:
    """Wraps an embedder with a memo of its query and passage vectors (and, with ``cache_dir``, a file of its
    query vectors, so that later runs asking the same questions embed none of them again).

    Attributes:
        queries: query vectors by text; ``passages``: passage vectors by text.
    """

    def __init__(self, inner, cache_dir: str | Path | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.queries: dict[str, np.ndarray] = {}
        self.passages: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._file = None
        if cache_dir is not None:
            key = hashlib.sha256(inner.name.encode()).hexdigest()[:16]
            self._file = Path(cache_dir) / f"queries-{key}.npz"
            if self._file.exists():
                try:
                    with np.load(self._file, allow_pickle=False) as z:
                        self.queries = dict(zip(z["texts"].tolist(), z["vectors"]))
                except Exception as exc:  # a damaged cache is only a cache
                    log.warning("query cache %s unreadable (%s); ignoring it", self._file, exc)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def prime(self, texts) -> None:
        """Embed, in one batch, the questions not cached yet, and save the cache file."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self.queries))
            if not missing:
                return
            log.info("embedding %d questions", len(missing))
            vecs = np.asarray(self.inner.encode_queries(missing), dtype=np.float32)
            self.queries.update(zip(missing, vecs))
            if self._file is not None:
                self._file.parent.mkdir(parents=True, exist_ok=True)
                known = list(self.queries)
                with atomic_file(self._file) as fh:
                    np.savez(fh, texts=np.array(known), vectors=np.stack([self.queries[t] for t in known]))

    def encode_queries(self, texts) -> np.ndarray:
        texts = list(texts)
        self.prime(texts)
        return np.stack([self.queries[t] for t in texts])

    def encode_passages(self, texts, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self.passages]
            if missing:
                self.passages.update(zip(missing, self.inner.encode_passages(missing, progress=progress)))
            if not texts:
                return np.zeros((0, self.inner.dim), np.float32)
            return np.stack([self.passages[t] for t in texts])

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

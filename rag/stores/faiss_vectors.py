"""Dense vector index: FAISS, inner product over L2-normalised vectors (cosine).

The only module that imports ``faiss``. Flat (exact) search serves this corpus;
past ``flat_max_vectors`` vectors, ``auto`` picks HNSW, an approximate graph
index that answers in well under a millisecond at 100,000 vectors.
"""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

# One query at a time: FAISS's OpenMP threads only add overhead (and fight the
# embedder and the web server for the two cores of a small machine).
faiss.omp_set_num_threads(1)

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def choose_kind(kind: str, n_vectors: int, flat_max_vectors: int) -> str:
    """Resolve ``auto`` to ``flat`` or ``hnsw`` for a corpus of ``n_vectors``."""
    if kind != "auto":
        return kind
    return "flat" if n_vectors <= flat_max_vectors else "hnsw"


class VectorIndex:
    """Top-k inner-product search, optionally restricted to a set of rows."""

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self._index = index
        self.kind = kind
        if kind == "hnsw":
            self._index.hnsw.efSearch = HNSW_EF_SEARCH

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "flat") -> "VectorIndex":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        else:
            raise ValueError(f"vector index kind must be 'flat' or 'hnsw', got {kind!r}")
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building does use the threads
        try:
            index.add(vectors)
        finally:
            faiss.omp_set_num_threads(1)
        return cls(index, kind)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` rows for one query vector.

        Args:
            query: shape ``(dim,)``, normalised.
            k: how many rows to return at most.
            allowed: optional sorted int64 array of the rows that may be returned.

        Returns:
            ``(rows, scores)``, best first; rows is empty when nothing is allowed.
        """
        k = min(k, len(self) if allowed is None else len(allowed))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            params = (faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
                      if self.kind == "hnsw" else faiss.SearchParameters(sel=selector))
        scores, rows = self._index.search(q, k, params=params)
        keep = rows[0] >= 0
        return rows[0][keep].astype(np.int64), scores[0][keep]

    def reconstruct(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows``."""
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        return self._index.reconstruct_batch(rows) if len(rows) else np.zeros((0, self._index.d), np.float32)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> "VectorIndex":
        return cls(faiss.read_index(str(path)), kind)

"""Where the chunk vectors live: FAISS files in the build folder (the default) or a Milvus collection.

``Settings.store`` chooses: ``faiss`` (``rag.vectors``), or a Milvus URI (``rag.milvus``):
``milvus://PATH.db`` starts the embedded Milvus Lite server on that file, ``milvus://host:19530`` or
``http(s)://…`` reach a Milvus standalone or cluster, with the token of ``RAG_MILVUS_TOKEN``.

Both stores answer the same three calls the retriever makes (``search``, ``reconstruct``, ``len``); chunk ids,
texts, offsets, metadata and sentence vectors stay in the build folder in both cases, so citations are the same.
This module imports neither faiss nor pymilvus at import time: the one a store needs is imported on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Protocol

import numpy as np

TOKEN_ENV = "RAG_MILVUS_TOKEN"
MILVUS_PREFIXES = ("milvus://", "http://", "https://")


class StoreUnavailable(RuntimeError):
    """The vector store cannot be reached or refused the request; ``uri`` and ``reason`` say which and why.

    Never turned into a fallback: the caller sees it (a loaded retriever keeps answering from its own store).
    """

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(f"vector store {uri}: {reason}")
        self.uri = uri
        self.reason = reason


class VectorStore(Protocol):
    """What the retriever and the build need of a chunk-vector store."""

    kind: str  # recorded as the manifest's ``vector_index``
    file_name: str  # the file ``save`` writes into the build folder

    def __len__(self) -> int: ...

    def search(self, query: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...

    def reconstruct(self, rows: np.ndarray) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


def store_kind(store: str) -> str:
    """``faiss`` or ``milvus`` for a ``Settings.store`` value.

    Raises:
        ValueError: anything else, saying what is allowed.
    """
    if store == "faiss":
        return "faiss"
    if store.startswith(MILVUS_PREFIXES) and len(store) > len("milvus://"):
        return "milvus"
    raise ValueError(f"store must be 'faiss', 'milvus://PATH.db', 'milvus://host:port' or an http(s):// URI of a "
                     f"Milvus server, got {store!r}")


def build_vectors(settings, vectors: np.ndarray, kind: str, doc_ids: list[str], embedder_name: str) -> VectorStore:
    """The vector store of a new build (not live yet: ``store.write_build`` publishes it).

    Args:
        settings: ``settings.store`` chooses the backend.
        vectors: chunk vectors, one row per chunk (row = chunk index).
        kind: the FAISS index kind (``flat``/``hnsw``); Milvus Lite searches exactly.
        doc_ids: the document of each row (Milvus stores it beside the vector, for filters).
        embedder_name: recorded with a Milvus collection, checked when it is opened.
    """
    if store_kind(settings.store) == "faiss":
        from .vectors import VectorIndex

        return VectorIndex.build(vectors, kind)
    from .milvus import MilvusVectors

    return MilvusVectors.create(settings, vectors, doc_ids, embedder_name)


def open_vectors(settings, folder: Path, manifest: dict, doc_ids: list[str]) -> VectorStore:
    """The vector store of the build in ``folder`` (the backend its manifest records)."""
    if manifest.get("vector_store", "faiss") == "faiss":
        from .vectors import VectorIndex

        return VectorIndex.load(folder / "vectors.faiss", manifest["vector_index"])
    from .milvus import MilvusVectors

    return MilvusVectors.open(settings, folder, manifest, doc_ids)


def quote(value: str) -> str:
    """A Milvus string literal for ``value`` (double quotes, with backslash and quote escaped)."""
    if any(ord(c) < 32 for c in value):
        raise ValueError(f"document id {value!r} holds a control character")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def doc_filter(doc_ids: Iterable[str], known: Iterable[str]) -> str:
    """The Milvus filter expression that keeps the rows of ``doc_ids``.

    Every id is checked against ``known`` (the documents of the build) before anything is written: an id that is
    not a known document, such as ``x" or 1==1``, is refused, never quoted into the expression.

    Raises:
        ValueError: no ids, or an id that is not a known document.
    """
    ids = list(doc_ids)
    allowed = set(known)
    unknown = [d for d in ids if not isinstance(d, str) or d not in allowed]
    if unknown:
        raise ValueError(f"unknown document id(s) in a filter: {', '.join(repr(d) for d in unknown[:3])}")
    if not ids:
        raise ValueError("a document filter needs at least one document id")
    return "doc_id in [" + ", ".join(quote(d) for d in dict.fromkeys(ids)) + "]"

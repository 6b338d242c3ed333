"""Where the chunk vectors and keyword search live: FAISS and bm25s files in the build folder (the default), or
a Milvus collection.

``Settings.store`` chooses: ``faiss`` (``rag.vectors``, ``rag.keyword``), or a Milvus URI (``rag.milvus``,
``rag.milvus_keyword``): ``milvus://PATH.db`` starts the embedded Milvus Lite server on that file,
``milvus://host:19530`` or ``http(s)://…`` reach a Milvus standalone or cluster, with the token of
``RAG_MILVUS_TOKEN``.

Both stores answer the calls the retriever makes: vectors ``search``, ``reconstruct``, ``len``; keywords
``search``, ``known_terms``, ``analyze``. Chunk ids, texts, offsets, metadata and sentence vectors stay in the
build folder in both cases, so citations are the same. This module imports neither faiss, bm25s nor pymilvus
at import time: the one a store needs is imported on first use.
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


def build_indexes(settings, chunks, keyword_texts: list[str], origin: np.ndarray, new_vectors: np.ndarray,
                  previous, removed_texts: list[str], kind: str, embedder_name: str):
    """The vector and keyword indexes of a new build (not live yet: ``store.write_build`` publishes them).

    Args:
        settings: ``settings.store`` chooses the backend.
        chunks: every chunk of the build, in order (row = chunk index); ``keyword_texts`` their keyword texts.
        origin: per chunk, its row in the ``previous`` build when it is reused from it, else -1;
            ``new_vectors`` holds the vectors of the chunks at -1, in order.
        previous: the live build this one updates (``rag.store.IndexData``), or None for a full build;
            ``removed_texts`` the keyword texts of its chunks that this build does not reuse.
        kind: the FAISS index kind (``flat``/``hnsw``); Milvus Lite searches exactly.
        embedder_name: recorded with a Milvus collection, checked when it is opened.

    FAISS: both indexes are built again over all chunks (the reused vectors read from the previous index).
    Milvus: a full build fills a new collection; an update of a Milvus build inserts only the new chunks' rows
    into its collection as the next generation (``rag.milvus``), and updates the term counts.
    """
    origin = np.asarray(origin, dtype=np.int64)
    if store_kind(settings.store) == "faiss":
        from .keyword import KeywordIndex
        from .vectors import VectorIndex

        reused = origin >= 0
        vectors = np.zeros((len(origin), new_vectors.shape[1]), np.float32)
        vectors[~reused] = new_vectors
        if reused.any():
            vectors[reused] = previous.vectors.reconstruct(origin[reused])
        return VectorIndex.build(vectors, kind), KeywordIndex.build(keyword_texts)
    from .keyword import Analyzer
    from .milvus import MilvusVectors
    from .milvus_keyword import MilvusKeyword, term_counts, terms_text

    analyzer = Analyzer()
    doc_ids = [c.doc_id for c in chunks]
    new_terms = [terms_text(analyzer, keyword_texts[i]) for i in np.flatnonzero(origin < 0)]
    if previous is not None:  # the live build of this store and collection (load_index checked both)
        vectors = previous.vectors.update(origin, new_vectors, doc_ids, new_terms)
        counts = term_counts(new_terms)
        counts.update(previous.keyword.vocabulary)
        counts.subtract(term_counts(terms_text(analyzer, t) for t in removed_texts))
        return vectors, MilvusKeyword(vectors, dict(counts), analyzer)
    vectors = MilvusVectors.create(settings, new_vectors, doc_ids, new_terms, embedder_name)
    return vectors, MilvusKeyword(vectors, dict(term_counts(new_terms)), analyzer)


def open_vectors(settings, folder: Path, manifest: dict, doc_ids: list[str]) -> VectorStore:
    """The vector store of the build in ``folder`` (the backend its manifest records)."""
    if manifest.get("vector_store", "faiss") == "faiss":
        from .vectors import VectorIndex

        return VectorIndex.load(folder / "vectors.faiss", manifest["vector_index"])
    from .milvus import MilvusVectors

    return MilvusVectors.open(settings, folder, manifest, doc_ids)


def open_keyword(folder: Path, manifest: dict, vectors):
    """The keyword index of the build in ``folder``: bm25s's files, or the term counts of its Milvus rows."""
    if manifest.get("vector_store", "faiss") == "faiss":
        from .keyword import KeywordIndex

        return KeywordIndex.load(folder / "keyword")
    from .milvus_keyword import MilvusKeyword

    return MilvusKeyword.load(folder / "keyword", vectors)


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

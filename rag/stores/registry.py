"""Where the chunk vectors and keyword search live: FAISS and bm25s files in the build folder (the default), or
a Milvus collection.

``Settings.store`` chooses: ``faiss`` (``rag.stores.faiss_vectors``, ``rag.stores.bm25``), or a Milvus URI
(``rag.stores.milvus``, ``rag.stores.milvus_keyword``): ``milvus://PATH.db`` starts the embedded Milvus Lite server on
that file, ``milvus://host:19530`` or ``http(s)://…`` reach a Milvus standalone or cluster, with the token of
``RAG_MILVUS_TOKEN``.

Both stores answer the calls the retriever makes: vectors ``search``, ``reconstruct``, ``len``; keywords
``search``, ``known_terms``, ``analyze``. Chunk ids, texts, offsets, metadata and sentence vectors stay in the
build folder in both cases, so citations are the same. This module imports neither faiss, bm25s nor pymilvus
at import time: the one a store needs is imported on first use.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from rag.settings import store_kind
from rag.stores.base import VectorStore


def build_indexes(settings, chunks, keyword_texts: list[str], origin: np.ndarray, new_vectors: np.ndarray,
                  previous, removed_texts: list[str], kind: str, embedder_name: str):
    """The vector and keyword indexes of a new build (not live yet: ``store.write_build`` publishes them).

    Args:
        settings: ``settings.store`` chooses the backend.
        chunks: every chunk of the build, in order (row = chunk index); ``keyword_texts`` their keyword texts.
        origin: per chunk, its row in the ``previous`` build when it is reused from it, else -1;
            ``new_vectors`` holds the vectors of the chunks at -1, in order.
        previous: the live build this one updates (``rag.index.folder.IndexData``), or None for a full build;
            ``removed_texts`` the keyword texts of its chunks that this build does not reuse.
        kind: the FAISS index kind (``flat``/``hnsw``); Milvus Lite searches exactly.
        embedder_name: recorded with a Milvus collection, checked when it is opened.

    FAISS: both indexes are built again over all chunks (the reused vectors read from the previous index).
    Milvus: a full build fills a new collection; an update of a Milvus build inserts only the new chunks' rows
    into its collection as the next generation (``rag.stores.milvus``), and updates the term counts.
    """
    origin = np.asarray(origin, dtype=np.int64)
    if store_kind(settings.store) == "faiss":
        from rag.stores.bm25 import KeywordIndex
        from rag.stores.faiss_vectors import VectorIndex

        reused = origin >= 0
        vectors = np.zeros((len(origin), new_vectors.shape[1]), np.float32)
        vectors[~reused] = new_vectors
        if reused.any():
            vectors[reused] = previous.vectors.reconstruct(origin[reused])
        return VectorIndex.build(vectors, kind), KeywordIndex.build(keyword_texts)
    from rag.stores.milvus import MilvusVectors
    from rag.stores.milvus_keyword import MilvusKeyword, term_counts, terms_text
    from rag.text.analysis import Analyzer

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
        from rag.stores.faiss_vectors import VectorIndex

        return VectorIndex.load(folder / "vectors.faiss", manifest["vector_index"])
    from rag.stores.milvus import MilvusVectors

    return MilvusVectors.open(settings, folder, manifest, doc_ids)


def open_keyword(folder: Path, manifest: dict, vectors):
    """The keyword index of the build in ``folder``: bm25s's files, or the term counts of its Milvus rows."""
    if manifest.get("vector_store", "faiss") == "faiss":
        from rag.stores.bm25 import KeywordIndex

        return KeywordIndex.load(folder / "keyword")
    from rag.stores.milvus_keyword import MilvusKeyword

    return MilvusKeyword.load(folder / "keyword", vectors)


def store_info(store: str, vectors) -> dict:
    """Where the vectors are: ``{"kind": "faiss"}``, or the Milvus server, collection and generation."""
    if getattr(vectors, "kind", "") != "milvus":
        return {"kind": "faiss"}
    uri = re.sub(r"//[^/@]*@", "//", store)  # never a user:password written into the URI
    return {"kind": "milvus", "uri": uri, "collection": vectors.collection, "generation": vectors.generation}

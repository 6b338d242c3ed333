"""Build the index: corpus → read and clean → chunk → embed → store, under a lock, then switch atomically.

    build_index(settings)            # a new build, made live when complete
    open_index(settings)             # the live build, or a new one when it is missing or does not match

What a build holds on disk, and how it is verified and read, is ``store.py``'s.
"""

from __future__ import annotations

import fcntl
import logging
import time
from pathlib import Path

from .chunking import Chunk, chunk_document
from .cleaning import CleanDoc, clean_document
from .corpus import Document, corpus_fingerprint, scan_corpus
from .embedding import Embedder, embedder_for, embedder_options, load_embedder
from .keyword import KeywordIndex
from .settings import Settings
from .store import IndexData, IndexProblem, code_fingerprint, document_record, load_index, write_build
from .vectors import choose_kind
from .vectorstore import build_vectors, store_kind

log = logging.getLogger("rag")


def dense_text(doc: Document, section: tuple[str, ...], text: str) -> str:
    """What is embedded for a chunk: where it comes from, then its text."""
    source = f"{doc.title} ({doc.body})" if doc.body else doc.title
    return "\n".join([source, " > ".join(section[-2:]), text]) if section else f"{source}\n{text}"


def keyword_text(doc: Document, section: tuple[str, ...], text: str) -> str:
    """What is keyword-indexed for a chunk: the document's names, its section path, its text."""
    return "\n".join([doc.title, doc.body, doc.keywords, " > ".join(section), text])


def chunk_corpus(docs: list[Document], embedder: Embedder, settings: Settings,
                 progress: bool = False) -> tuple[list[Chunk], dict[str, dict], dict[str, CleanDoc]]:
    """Clean and chunk every document: the chunks, per document its record and its clean text."""
    chunks: list[Chunk] = []
    records: dict[str, dict] = {}
    cleans: dict[str, CleanDoc] = {}
    for doc in docs:
        clean = cleans[doc.doc_id] = clean_document(doc.text)
        doc_chunks = chunk_document(doc.doc_id, clean, embedder.count_tokens,
                                    settings.chunk_tokens, settings.chunk_overlap)
        chunks.extend(doc_chunks)
        records[doc.doc_id] = document_record(doc, len(doc_chunks))
        if progress:
            log.info("chunked %s: %d chunks", doc.doc_id, len(doc_chunks))
    return chunks, records, cleans


def sentence_texts(chunks: list[Chunk], by_id: dict[str, Document]) -> tuple[list[str], list[list[int]]]:
    """The texts to embed for the chunks' sentences, and per chunk its rows among them.

    Sentences shared by overlapping chunks are embedded once; each is embedded under its section's leaf title.
    """
    key_row: dict[tuple[str, int, int], int] = {}
    texts: list[str] = []
    rows_of: list[list[int]] = []
    for ch in chunks:
        rows = []
        for a, b in ch.sentences:
            key = (ch.doc_id, a, b)
            if key not in key_row:
                key_row[key] = len(texts)
                local = ch.text[a - ch.clean_start:b - ch.clean_start]
                leaf = ch.section[-1] if ch.section else by_id[ch.doc_id].title
                texts.append(f"{leaf}\n{local}")
            rows.append(key_row[key])
        rows_of.append(rows)
    return texts, rows_of


def build_index(settings: Settings, embedder: Embedder | None = None, progress: bool = False,
                only_if_needed: bool = False) -> Path:
    """Build the index of ``settings.corpus_dir`` and make it the live one.

    Args:
        settings: what to index and how.
        embedder: the embedder to use (default: resolved from the settings).
        progress: show progress bars and log each step.
        only_if_needed: skip the build when, once the build lock is held, a
            valid index is found (another process may just have built it).

    Returns:
        The folder of the live build.
    """
    root = Path(settings.index_dir)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time per index folder
        if only_if_needed:
            try:
                data = load_index(settings)
                if embedder is None or data.manifest.get("embedder") == embedder.name:
                    return data.folder
            except IndexProblem:
                pass
        return _build(settings, root, embedder, progress)


def _build(settings: Settings, root: Path, embedder: Embedder | None, progress: bool) -> Path:
    started = time.perf_counter()
    docs, skipped = scan_corpus(settings.corpus_dir)
    for name, why in skipped:
        log.warning("corpus: skipped %s: %s", name, why)
    fingerprint = corpus_fingerprint(settings.corpus_dir)
    embedder = embedder or load_embedder(settings.embedder, settings.model, **embedder_options(settings))
    chunks, records, cleans = chunk_corpus(docs, embedder, settings, progress)
    if not chunks:
        raise ValueError(f"the corpus in {settings.corpus_dir} has no text to index")
    by_id = {d.doc_id: d for d in docs}
    texts, sentence_rows = sentence_texts(chunks, by_id)

    vectors = embedder.encode_passages([dense_text(by_id[c.doc_id], c.section, c.text) for c in chunks],
                                       progress=progress)
    sentence_vectors = embedder.encode_passages(texts, progress=progress)
    kind = choose_kind(settings.faiss_index, len(chunks), settings.flat_max_vectors)
    vindex = build_vectors(settings, vectors, kind, [c.doc_id for c in chunks], embedder.name)
    kindex = KeywordIndex.build([keyword_text(by_id[c.doc_id], c.section, c.text) for c in chunks])
    fields = {
        "settings": settings.index_settings(),
        "embedder": embedder.name,
        "code": code_fingerprint(),
        "dim": int(vectors.shape[1]),
        "vector_index": vindex.kind,
        "vector_store": store_kind(settings.store),
        "counts": {"documents": len(docs), "chunks": len(chunks), "sentences": len(texts)},
        "corpus": fingerprint,
        "skipped": [{"file": name, "reason": why} for name, why in skipped],
    }
    folder = write_build(root, records, chunks, sentence_rows, cleans, vindex, sentence_vectors, kindex, fields,
                         started)
    log.info("index: built %d chunks of %d documents with %s in %.1fs -> %s",
             len(chunks), len(docs), embedder.name, time.perf_counter() - started, folder)
    return folder


def open_index(settings: Settings, rebuild: bool = False, progress: bool = False) -> tuple[IndexData, Embedder]:
    """Load the live index, or build it when it is missing or does not match.

    Never serves a stale or damaged index: any mismatch is logged in one line
    and the index is rebuilt from the corpus.
    """
    if not rebuild:
        try:
            data = load_index(settings)
            embedder = embedder_for(data.manifest["embedder"], settings)
            if embedder is not None:
                log.info("index: loaded %s (%d chunks, %s)", data.folder.name, len(data.chunks), embedder.name)
                return data, embedder
            log.warning("index: embedder %s of the index is not available here (vectors of two embedders are "
                        "never mixed); rebuilding", data.manifest["embedder"])
        except IndexProblem as problem:
            log.warning("index: %s: %s; rebuilding", problem.file, problem.reason)
    embedder = load_embedder(settings.embedder, settings.model, **embedder_options(settings))
    build_index(settings, embedder, progress=progress, only_if_needed=not rebuild)
    return load_index(settings), embedder

"""Build the index: corpus → read and clean → chunk → embed → store, under a lock, then switch atomically.

    build_index(settings)                    # a new build, made live when complete
    build_index(settings, incremental=True)  # the same, re-embedding only the documents that changed
    open_index(settings)                     # the live build, or an updated one when it does not match

What a build holds on disk, and how it is verified and read, is ``store.py``'s.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.corpus.documents import Document, corpus_fingerprint, scan_corpus
from rag.corpus.readers.cache import ReadCache
from rag.embedding.loading import Embedder, embedder_for, embedder_options, load_embedder
from rag.index.folder import NOT_BUILT, IndexData, document_record, load_index, write_build
from rag.index.resume import EmbeddedDocuments, cache_key, embed_documents
from rag.index.texts import dense_text, keyword_text, sentence_texts
from rag.index.versions import index_versions
from rag.settings import Settings, store_kind
from rag.stores.base import IndexProblem
from rag.stores.faiss_vectors import choose_kind
from rag.stores.registry import build_indexes
from rag.text.chunking import Chunk, chunk_document
from rag.text.cleaning import CleanDoc, clean_document

log = logging.getLogger("rag")


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


CITING = ("symbol", "status", "cite_as")  # how a document is cited: no part of its chunks or vectors


def document_fingerprint(doc: Document, file_sha256: str) -> str:
    """What decides a document's chunks and vectors: its file's bytes, its text and metadata as read.

    Two builds with the same settings, code and embedder give a document of the same fingerprint the same
    chunks, chunk ids and vectors; an incremental update reuses them.
    """
    fields = {k: v for k, v in dataclasses.asdict(doc).items() if k not in ("path", "text", *CITING)}
    payload = {"file": Path(doc.path).name, "sha256": file_sha256, "text": doc.fingerprint, "fields": fields}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=repr).encode()).hexdigest()


@dataclass(frozen=True)
class _Part:
    """Chunks and their sentence vectors, taken from one source (the previous build, or what was just embedded)."""

    chunks: list[Chunk]
    rows: list[tuple[int, ...]]  # per chunk, its rows in ``sentence_vectors``
    sentence_vectors: np.ndarray


def _take(part: _Part, picked: list[int], first_row: int) -> tuple[list[Chunk], list[list[int]], np.ndarray]:
    """Chunks ``picked`` of ``part`` (one document's), their sentence rows renumbered from ``first_row`` in order
    of first use (the numbering a full build gives them), and their sentence vectors."""
    renumber: dict[int, int] = {}
    for i in picked:
        for r in part.rows[i]:
            renumber.setdefault(r, first_row + len(renumber))
    rows = [[renumber[r] for r in part.rows[i]] for i in picked]
    return ([part.chunks[i] for i in picked], rows,
            part.sentence_vectors[np.fromiter(renumber, np.int64, len(renumber))])


def _rows_by_document(chunks: list[Chunk]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        out.setdefault(c.doc_id, []).append(i)
    return out


def index_folders(settings: Settings) -> list[str]:
    """The index folders to serve from, in order: ``index_dir`` (where builds are written), then the shipped
    index (read only: the repository's committed ``.index``) when there is one for this corpus and store."""
    folders = [settings.index_dir]
    shipped = settings.shipped_index
    if (shipped != "off" and store_kind(settings.store) == "faiss" and Path(shipped).is_dir()
            and Path(shipped).resolve() != Path(settings.index_dir).resolve()):
        folders.append(shipped)
    return folders


def _previous(settings: Settings, embedder: Embedder | None) -> IndexData | None:
    """The build an update may reuse: the live one of ``index_dir``, else the shipped one; same settings, stage
    versions and embedder (``embedder``'s, when given), verified files."""
    for folder in index_folders(settings):
        try:
            data = load_index(settings.replace(index_dir=folder), check_corpus=False)
        except IndexProblem as problem:
            log.info("index: nothing to update in %s (%s: %s)", folder, problem.file, problem.reason)
            continue
        if embedder is not None and data.manifest.get("embedder") != embedder.name:
            log.info("index: the build in %s is of embedder %s", folder, data.manifest.get("embedder"))
            continue
        if not isinstance(data.manifest.get("fingerprints"), dict):
            log.info("index: the build in %s records no document fingerprints", folder)
            continue
        return data
    log.info("index: full build")
    return None


def build_index(settings: Settings, embedder: Embedder | None = None, progress: bool = False,
                only_if_needed: bool = False, incremental: bool = False) -> Path:
    """Build the index of ``settings.corpus_dir`` and make it the live one.

    Args:
        settings: what to index and how.
        embedder: the embedder to use (default: resolved from the settings).
        progress: show progress bars and log each step.
        only_if_needed: skip the build when, once the build lock is held, a
            valid index is found (another process may just have built it).
        incremental: reuse, from the live build, the chunks and vectors of the documents whose fingerprint
            is unchanged; only added and changed documents are read into chunks and embedded. The live build
            must have the same settings, stage versions and embedder, else this is a full build. With FAISS,
            the vector and keyword indexes are rebuilt over all chunks (a flat FAISS index from the vectors at
            hand and bm25s take well under a second at this corpus's size; at 100,000 chunks, bm25s and HNSW
            take seconds); with Milvus, only the rows of added and changed documents are inserted and those of
            changed and removed ones deleted (``rag.stores.milvus``). The new build is written and switched to
            exactly as a full build is: a crash leaves the previous one live.

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
        return _build(settings, root, embedder, progress, incremental)


def _plan(settings: Settings, fingerprints: dict[str, str], embedder: Embedder | None, incremental: bool):
    """What a build can take from the live one: ``(previous build or None, its fingerprints, the ids of the
    documents it reuses, the embedder)``. The embedder is loaded only when something must be embedded."""
    previous = _previous(settings, embedder) if incremental else None
    old = previous.manifest["fingerprints"] if previous else {}
    known = {d.doc_id for d in previous.documents} if previous else set()
    reused = {doc_id for doc_id, fp in fingerprints.items()
              if old.get(doc_id) == fp and doc_id in known and doc_id in previous.clean}
    if embedder is None and previous is not None and set(fingerprints) - reused:
        # The update embeds with the live build's own embedder (load_index checked it suits the settings).
        embedder = embedder_for(previous.manifest["embedder"], settings)
        if embedder is None:
            log.info("index: full build (the live build's embedder %s is not available here)",
                     previous.manifest["embedder"])
            previous, old, reused = None, {}, set()
    if embedder is None and previous is None:
        embedder = load_embedder(settings.embedder, settings.model, **embedder_options(settings))
    return previous, old, reused, embedder


def _assemble(docs: list[Document], reused: set[str], new: _Part, old_part: _Part | None, records: dict,
              cleans: dict, previous: IndexData | None):
    """Every document in corpus order, from whichever part holds it (the live build's for a reused one, the
    newly embedded one otherwise): the chunks, sentence rows, sentence vectors, records and clean texts that a
    full rebuild would write, and per chunk its ``origin``: its row in the live build when reused, else -1 (the
    new chunks come in the order of ``new.chunks``)."""
    new_rows_of, old_rows_of = _rows_by_document(new.chunks), _rows_by_document(old_part.chunks if old_part else [])
    old_infos = {d.doc_id: d for d in previous.documents} if previous else {}
    chunks: list[Chunk] = []
    sentence_rows: list[list[int]] = []
    origin: list[int] = []
    sentence_parts, n_sentences = [], 0
    all_records: dict[str, dict] = {}
    all_cleans: dict[str, CleanDoc] = {}
    for doc in docs:
        if doc.doc_id in reused:
            part, picked = old_part, old_rows_of.get(doc.doc_id, [])
            origin += picked
            all_records[doc.doc_id] = {**dataclasses.asdict(old_infos[doc.doc_id]),
                                       **{k: getattr(doc, k) for k in CITING}}  # as metadata.toml says now
            all_cleans[doc.doc_id] = previous.clean[doc.doc_id]
        else:
            part, picked = new, new_rows_of.get(doc.doc_id, [])
            origin += [-1] * len(picked)
            all_records[doc.doc_id] = records[doc.doc_id]
            all_cleans[doc.doc_id] = cleans[doc.doc_id]
        got_chunks, got_rows, got_sentences = _take(part, picked, n_sentences)
        chunks += got_chunks
        sentence_rows += got_rows
        sentence_parts.append(got_sentences)
        n_sentences += len(got_sentences)
    sentence_vectors = np.concatenate(sentence_parts).astype(np.float32, copy=False)
    return chunks, sentence_rows, np.array(origin, dtype=np.int64), sentence_vectors, all_records, all_cleans


def _embed(embedder: Embedder | None, fresh: list[Document], fingerprints: dict[str, str], chunks: list[Chunk],
           texts: list[str], rows: list[list[int]], dim: int, saved: EmbeddedDocuments,
           progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of the new chunks and of their sentences (``texts``; ``rows`` per chunk), document by document:
    from ``saved`` for the documents an interrupted build embedded, the others embedded now and saved there."""
    if not chunks:
        return np.zeros((0, dim), np.float32), np.zeros((0, dim), np.float32)
    chunk_rows = _rows_by_document(chunks)
    groups = []
    for doc in fresh:
        mine = chunk_rows.get(doc.doc_id, [])
        used = sorted({r for i in mine for r in rows[i]})
        lo, hi = (used[0], used[-1] + 1) if used else (0, 0)  # a document's sentence rows follow each other
        groups.append((fingerprints[doc.doc_id], [dense_text(doc, chunks[i].section, chunks[i].text) for i in mine],
                       texts[lo:hi]))
    got = embed_documents(embedder, groups, saved, progress=progress)
    return (np.concatenate([g[0] for g in got]).astype(np.float32, copy=False),
            np.concatenate([g[1] for g in got]).astype(np.float32, copy=False))


def embed_shard(settings: Settings, shard: int, of: int, embedder: Embedder | None = None,
                progress: bool = False) -> tuple[int, int]:
    """Embed shard ``shard`` of ``of`` of the corpus (documents picked by a hash of their id) into
    ``index_dir/embedded``, without building; a build of an index folder holding every shard's files embeds
    nothing more. Returns (documents of the shard, documents embedded now)."""
    if not 1 <= shard <= of:
        raise ValueError(f"shard {shard} of {of}: shards are numbered 1 to {of}")
    docs, _ = scan_corpus(settings.corpus_dir, cache=ReadCache(Path(settings.index_dir) / "reads"))
    fingerprint = corpus_fingerprint(settings.corpus_dir)
    mine = [d for d in docs if int(hashlib.sha256(d.doc_id.encode()).hexdigest()[:12], 16) % of == shard - 1]
    fingerprints = {d.doc_id: document_fingerprint(d, fingerprint.get(Path(d.path).name, "")) for d in mine}
    embedder = embedder or load_embedder(settings.embedder, settings.model, **embedder_options(settings))
    saved = EmbeddedDocuments(settings.index_dir, cache_key(embedder.name, index_versions(),
                                                            settings.index_settings()))
    already = sum(saved.has(fp) for fp in fingerprints.values())  # this shard's, whatever else shares the folder
    chunks, _, _ = chunk_corpus(mine, embedder, settings, progress)
    texts, rows = sentence_texts(chunks, {d.doc_id: d for d in mine})
    _embed(embedder, mine, fingerprints, chunks, texts, rows, embedder.dim, saved, progress)
    return len(mine), len(mine) - already


def _removed_keyword_texts(previous: IndexData | None, origin: np.ndarray) -> list[str]:
    """The keyword texts of the live build's chunks that a build does not reuse."""
    if previous is None:
        return []
    infos = {d.doc_id: d for d in previous.documents}
    gone = np.setdiff1d(np.arange(len(previous.chunks)), origin[origin >= 0])
    return [keyword_text(infos[previous.chunks[r].doc_id], previous.chunks[r].section, previous.chunks[r].text)
            for r in gone.tolist()]


def _build(settings: Settings, root: Path, embedder: Embedder | None, progress: bool, incremental: bool) -> Path:
    started = time.perf_counter()
    reads = ReadCache(Path(settings.index_dir) / "reads")  # a PDF is read again only when its bytes change
    docs, skipped = scan_corpus(settings.corpus_dir, cache=reads)
    reads.prune()
    for name, why in skipped:
        log.warning("corpus: skipped %s: %s", name, why)
    fingerprint = corpus_fingerprint(settings.corpus_dir)
    fingerprints = {d.doc_id: document_fingerprint(d, fingerprint.get(Path(d.path).name, "")) for d in docs}
    previous, old, reused, embedder = _plan(settings, fingerprints, embedder, incremental)
    fresh = [d for d in docs if d.doc_id not in reused]
    by_id = {d.doc_id: d for d in docs}
    # An update that embeds nothing (a removal) loads no embedder: it keeps the live build's.
    embedder_name = embedder.name if embedder is not None else previous.manifest["embedder"]

    new_chunks, records, cleans = chunk_corpus(fresh, embedder, settings, progress)
    texts, new_rows = sentence_texts(new_chunks, by_id)
    dim = int(previous.manifest["dim"]) if previous else embedder.dim
    saved = EmbeddedDocuments(root, cache_key(embedder_name, index_versions(), settings.index_settings()))
    new_vectors, new_sentences = _embed(embedder, fresh, fingerprints, new_chunks, texts, new_rows, dim, saved,
                                        progress)
    new = _Part(new_chunks, [tuple(r) for r in new_rows], new_sentences)
    old_part = _Part(previous.chunks, previous.sentence_rows, previous.sentence_vectors) if previous else None

    chunks, sentence_rows, origin, sentence_vectors, all_records, all_cleans = _assemble(
        docs, reused, new, old_part, records, cleans, previous)
    if not chunks:
        raise ValueError(f"the corpus in {settings.corpus_dir} has no text to index")
    n_sentences = len(sentence_vectors)

    kind = choose_kind(settings.faiss_index, len(chunks), settings.flat_max_vectors)
    keyword_texts = [keyword_text(by_id[c.doc_id], c.section, c.text) for c in chunks]
    vindex, kindex = build_indexes(settings, chunks, keyword_texts, origin, new_vectors, previous,
                                   _removed_keyword_texts(previous, origin), kind, embedder_name)
    removed = sorted(set(old) - set(fingerprints))
    fields = {
        "settings": settings.index_settings(),
        "embedder": embedder_name,
        "versions": index_versions(),
        "dim": dim,
        "vector_index": vindex.kind,
        "vector_store": store_kind(settings.store),
        "counts": {"documents": len(docs), "chunks": len(chunks), "sentences": n_sentences},
        "corpus": fingerprint,
        "fingerprints": fingerprints,
        "update": {"from": previous.folder.name if previous else None, "reused": sorted(reused),
                   "embedded": [d.doc_id for d in fresh], "removed": removed,
                   "embedded_chunks": len(new_chunks), "embedded_sentences": len(texts)},
        "skipped": [{"file": name, "reason": why} for name, why in skipped],
    }
    folder = write_build(root, all_records, chunks, sentence_rows, all_cleans, vindex, sentence_vectors, kindex,
                         fields, started)
    saved.clear()  # the live build holds them now
    if previous is not None:
        log.info("index: updated %s: %d documents embedded (%d chunks), %d reused, %d removed, in %.1fs -> %s",
                 previous.folder.name, len(fresh), len(new_chunks), len(reused), len(removed),
                 time.perf_counter() - started, folder)
    else:
        log.info("index: built %d chunks of %d documents with %s in %.1fs -> %s",
                 len(chunks), len(docs), embedder_name, time.perf_counter() - started, folder)
    return folder


def open_index(settings: Settings, rebuild: bool = False, progress: bool = False) -> tuple[IndexData, Embedder]:
    """The index to serve and its embedder: what the app, the command line and the evaluation all load.

    Tried in order (:func:`index_folders`): the live build of ``settings.index_dir``, then the shipped one (the
    repository's committed ``.index``), served as it is. Never serves a stale or damaged index, nor one of
    another embedder: when no build matches the corpus, the settings, the stage versions and this environment's
    embedder, one log line says why and an index is built in ``index_dir``, and only there (the shipped
    folder is never written). When only the corpus changed, the build is an update: only added and changed
    documents are embedded.
    """
    problems: list[str] = []
    if not rebuild:
        folders = index_folders(settings)
        for folder in folders:
            try:
                data = load_index(settings.replace(index_dir=folder))
            except IndexProblem as problem:
                if problem.reason == NOT_BUILT and folder != folders[-1]:
                    continue  # nothing built here yet: the shipped index is the one to speak of
                problems.append(f"{_label(settings, folder)}{problem.file}: {problem.reason}")
                continue
            embedder = embedder_for(data.manifest["embedder"], settings)
            if embedder is not None:
                log.info("index: loaded %s (%d chunks, %s)", data.folder, len(data.chunks), embedder.name)
                return data, embedder
            here = load_embedder(settings.embedder, settings.model, **embedder_options(settings)).name
            problems.append(f"{_label(settings, folder)}{data.folder}: built by embedder {data.manifest['embedder']}, "
                            f"this environment's is {here} (vectors of two embedders are never mixed)")
    embedder = load_embedder(settings.embedder, settings.model, **embedder_options(settings))
    previous = None if rebuild else _previous(settings, None)
    if previous is not None:  # an update embeds with the live build's embedder when it is here (exact or 8-bit)
        embedder = embedder_for(previous.manifest["embedder"], settings) or embedder
    if problems:
        log.warning("index: %s (a build takes a minute or more, in %s; `python -m rag build` does it beforehand); "
                    "rebuilding", "; ".join(problems), settings.index_dir)
    build_index(settings, embedder, progress=progress, only_if_needed=not rebuild, incremental=not rebuild)
    return load_index(settings), embedder


def _label(settings: Settings, folder: str) -> str:
    return "the committed index: " if folder == settings.shipped_index else ""

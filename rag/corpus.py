"""The corpus: documents on disk and the metadata kept beside them.

A document is any ``*.md`` or ``*.txt`` file in the corpus folder; its id is
the file stem. Metadata lives in ``metadata.toml`` in the same folder, one
table per document id, and is optional: a document without metadata takes its
title from its first heading, or from its file name.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("rag")

METADATA_FILE = "metadata.toml"
SUFFIXES = (".md", ".txt")
# Larger files are skipped with their reason: indexing cost grows with the characters (about a minute
# per 100,000 with the default embedder on two cores), so one huge file would hold the build for hours.
MAX_DOCUMENT_CHARS = 2_000_000


class CorpusError(ValueError):
    """The corpus folder or its metadata cannot be used."""


@dataclass(frozen=True)
class Document:
    """One source file, read exactly as it is on disk (offsets point into ``text``)."""

    doc_id: str
    path: str
    text: str
    title: str
    body: str = ""  # issuing body or author
    kind: str = ""
    date: str = ""
    notes: str = ""
    keywords: str = ""  # other names users give the document (acronyms, English names)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def _title_from_text(text: str, fallback: str) -> str:
    """The first markdown heading; in plain text, the heading above all text (a title line the
    cleaning recognises, see ``rag.cleaning``); else ``fallback``."""
    for line in text.splitlines():
        m = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if m:
            return re.sub(r"[*_`]|</?\w+>", "", m.group(1)).strip() or fallback
    from .cleaning import clean_document

    doc = clean_document(text)
    first = doc.blocks[0] if doc.blocks else None
    if first is not None and first.kind == "heading" and first.level == 1:
        return doc.text[first.start:first.end]
    return fallback


def read_metadata(corpus_dir: Path) -> dict[str, dict]:
    path = corpus_dir / METADATA_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: not valid TOML ({exc})") from None
    for doc_id, meta in data.items():
        if not isinstance(meta, dict):
            raise CorpusError(f"{path}: entry {doc_id!r} must be a table like [{doc_id}]")
    return data


def document_paths(corpus_dir: str | Path) -> list[Path]:
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus_dir}")
    paths = sorted(p for p in corpus_dir.iterdir()
                   if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."))
    stems = [p.stem for p in paths]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise CorpusError(f"two files share the document id {dupes[0]!r} in {corpus_dir}; rename one")
    return paths


def _read_text(path: Path) -> str:
    """The file's text, exactly as stored (no newline translation: offsets are file offsets).

    Raises:
        ValueError: the file is empty, binary or not UTF-8 (the message says which).
        OSError: it cannot be read.
    """
    data = path.read_bytes()
    if b"\x00" in data:
        raise ValueError("binary file (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise ValueError("empty file")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise ValueError(f"too large to index: {len(text):,} characters, the limit is {MAX_DOCUMENT_CHARS:,} "
                         "(split the file)")
    return text


def scan_corpus(corpus_dir: str | Path) -> tuple[list[Document], list[tuple[str, str]]]:
    """The readable documents of the corpus folder, sorted by id, and the files skipped with why.

    Raises:
        CorpusError: the folder is missing, or holds no readable document.
    """
    corpus_dir = Path(corpus_dir)
    paths = document_paths(corpus_dir)
    metadata = read_metadata(corpus_dir)
    docs, skipped = [], []
    for path in paths:
        try:
            text = _read_text(path)
        except (OSError, ValueError) as exc:
            skipped.append((path.name, str(exc) if isinstance(exc, ValueError) else f"unreadable ({exc.strerror})"))
            continue
        meta = metadata.get(path.stem, {})
        docs.append(Document(
            doc_id=path.stem,
            path=str(path),
            text=text,
            title=str(meta.get("title") or _title_from_text(text, path.stem)),
            body=str(meta.get("body", "")),
            kind=str(meta.get("kind", "")),
            date=str(meta.get("date", "")),
            notes=str(meta.get("notes", "")),
            keywords=str(meta.get("keywords", "")),
        ))
    if not docs:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped)
        raise CorpusError(f"no readable .md or .txt document in {corpus_dir}" + (f" ({reasons})" if reasons else ""))
    return docs, skipped


def load_corpus(corpus_dir: str | Path) -> list[Document]:
    """Read every readable document of the corpus folder, sorted by id.

    Files that are empty, binary, not UTF-8 or unreadable are skipped with a
    warning that names them.

    Raises:
        CorpusError: the folder is missing, or holds no readable document.
    """
    docs, skipped = scan_corpus(corpus_dir)
    for name, why in skipped:
        log.warning("corpus: skipped %s: %s", name, why)
    return docs


def corpus_fingerprint(corpus_dir: str | Path) -> dict[str, str]:
    """SHA-256 of every document file and of the metadata file, by file name."""
    corpus_dir = Path(corpus_dir)
    files = document_paths(corpus_dir)
    meta = corpus_dir / METADATA_FILE
    if meta.exists():
        files.append(meta)
    out = {}
    for p in files:
        try:
            out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError as exc:  # an unreadable file is skipped by the build; record that it is there
            out[p.name] = f"unreadable: {exc.strerror}"
    return out

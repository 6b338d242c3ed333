"""Readers: one small module per file format, behind one function.

    result = read("rapport.pdf", data)      # a ReadResult, or ReadError with a one-line reason

A reader turns a file's bytes into the text that is cleaned, chunked and cited (``ReadResult.text``: for
``.md``/``.txt`` the file itself; for PDF, DOCX and HTML the extracted text), plus what the file says of
itself (title, author, date) and, for a PDF, where each page starts in that text. Headings found in a PDF's
outline, in DOCX heading styles or in HTML ``<h1>``–``<h6>`` are written into the text as markdown heading
lines (``## Titre``), so that the cleaning gives them the section path it gives markdown headings; offsets
are offsets into the extracted text, exactly.

Formats: ``text`` (``.md``, ``.txt``), ``pdf`` (pypdfium2; pages without a text layer are OCR'd when
``tesseract`` with French data is installed, see ``rag.corpus.readers.ocr``), ``docx`` (python-docx), ``html``
(trafilatura). Limits: ``MAX_PAGES`` pages a PDF (environment variable ``RAG_MAX_PAGES``), byte sizes per
format in ``MAX_BYTES``.
"""

from __future__ import annotations

import bisect
import importlib
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# What the readers extract from a file; raise it whenever a reader's text, pages or metadata change (an index
# records it, rag.index.versions, and cached reads are keyed by it).
READERS_VERSION = 2

# Suffix -> format (the module of this package that reads it).
FORMATS = {".md": "text", ".txt": "text", ".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html"}
SUFFIXES = tuple(FORMATS)
# The largest file read, per format. Text: five times the corpus's largest document (indexing cost grows with
# the characters). A PDF or a Word file holds far fewer characters than bytes (fonts, images, compression).
MAX_BYTES = {"text": 1_000_000, "pdf": 50_000_000, "docx": 20_000_000, "html": 5_000_000}
# A PDF with more pages than this is not read (a reason names it); RAG_MAX_PAGES changes it.
MAX_PAGES = 500


class ReadError(ValueError):
    """A file that cannot be read; the message is the one-line reason (without the file name)."""


class TooLong(ReadError):
    """The file holds more characters of text than the caller allows (the reader stopped there)."""


@dataclass(frozen=True)
class ReadResult:
    """What a reader found in a file.

    Attributes:
        text: the text that is indexed; every offset of the index points into it.
        pages: for a PDF, the offset in ``text`` where each page starts (``pages[0] == 0``); empty otherwise.
        ocr_pages: the (1-based) pages whose text was read by OCR.
        title, author, date: the file's own metadata (``metadata.toml`` overrides them).
        notes: what was left out while the rest was read, one line each (« p. 3–7 : pas de couche texte »).
    """

    text: str
    pages: tuple[int, ...] = ()
    ocr_pages: tuple[int, ...] = ()
    title: str = ""
    author: str = ""
    date: str = ""
    notes: tuple[str, ...] = ()


def format_of(name: str) -> str | None:
    """The format that reads a file name (``pdf``, ``docx``, ``html``, ``text``), or None."""
    return FORMATS.get(Path(name).suffix.lower())


def max_bytes(name: str) -> int:
    """The largest size read for a file of this name."""
    return MAX_BYTES.get(format_of(name) or "text", MAX_BYTES["text"])


def max_pages() -> int:
    """``RAG_MAX_PAGES`` when set to a positive whole number, else ``MAX_PAGES``.

    Raises:
        ValueError: the variable is set to something else.
    """
    raw = os.environ.get("RAG_MAX_PAGES")
    if raw is None or not raw.strip():
        return MAX_PAGES
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ValueError(f"RAG_MAX_PAGES must be a positive whole number, got {raw!r}")
    return int(raw)


def name_problem(name: str) -> str | None:
    """Why a file name cannot be a document's name (control characters, path separators), or None."""
    if any(unicodedata.category(c) == "Cc" for c in name):
        return "file name holds control characters; rename the file"
    if "/" in name or "\\" in name:
        return "file name holds a path separator; rename the file"
    return None


def shown_name(name: str) -> str:
    """A file name safe to print on one line: control characters and separators escaped."""
    return "".join(c if unicodedata.category(c) != "Cc" and c not in "/\\" else ascii(c)[1:-1] for c in name)


def page_range(pages: list[int] | tuple[int, ...]) -> str:
    """« p. 3 », « p. 3–7 » or « p. 2, 5–6 » for sorted 1-based page numbers."""
    runs: list[list[int]] = []
    for p in pages:
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return "p. " + ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs)


def page_span(pages: tuple[int, ...] | list[int], start: int, end: int) -> tuple[int, int]:
    """The (1-based) pages holding text offsets ``start:end``: ``(page, page_end)``, ``page_end`` 0 when the
    span is on one page; ``(0, 0)`` when the document has no pages."""
    if not pages:
        return 0, 0
    first = max(1, bisect.bisect_right(pages, start))
    last = max(first, bisect.bisect_right(pages, max(start, end - 1)))
    return first, (last if last != first else 0)


def read(name: str, data: bytes, *, pages_limit: int | None = None, max_chars: int | None = None) -> ReadResult:
    """Read one file's bytes with the reader of its format.

    Args:
        name: the file name (its suffix picks the reader; it appears in no message).
        data: the file's bytes.
        pages_limit: the most pages a PDF may have (default :func:`max_pages`).
        max_chars: the most characters of text wanted (default: no limit); PDF and Word readers stop as soon as
            they pass it, instead of reading a padded file to its end.

    Raises:
        ReadError: the file cannot be read; the message says why in one line. :class:`TooLong` past ``max_chars``.
    """
    kind = format_of(name)
    if kind is None:
        raise ReadError(f"unknown format {Path(name).suffix!r} (known: {', '.join(SUFFIXES)})")
    if len(data) > MAX_BYTES[kind]:
        raise ReadError(f"too large to index ({len(data):,} bytes; the limit is {MAX_BYTES[kind]:,})")
    try:
        reader = importlib.import_module(f"{__name__}.{kind}")
        if kind == "pdf":
            result = reader.read(data, pages_limit=pages_limit or max_pages(), max_chars=max_chars)
        elif kind == "docx":
            result = reader.read(data, max_chars=max_chars)
        else:
            result = reader.read(data)
    except ImportError as exc:  # a library of this format's reader is missing: this file is skipped, not the corpus
        missing = exc.name or getattr(exc.__context__, "name", None) or str(exc).splitlines()[0]
        raise ReadError(f"{kind.upper()}: the reader's library {missing} is missing here; install it "
                        f"(pip install -r requirements.txt, or pip install {missing})") from None
    if not result.text.strip():
        raise ReadError("no text found")
    if max_chars is not None and len(result.text) > max_chars:
        raise TooLong(f"more than {max_chars:,} characters of text")
    return result


def read_file(path: str | Path, *, pages_limit: int | None = None) -> ReadResult:
    """:func:`read` on a file of the disk (no link followed; at most its format's byte limit read)."""
    path = Path(path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(max_bytes(path.name) + 1)
    return read(path.name, data, pages_limit=pages_limit)

"""Word (``.docx``): paragraphs and tables in document order (python-docx), heading styles as headings.

A paragraph whose style is a heading (« Heading 2 », « Titre 2 », or an outline level) becomes a markdown
heading line of that level; « Title » is level 1. Table rows become lines of tab-separated cells (the
cleaning renders them as table rows). Before anything is parsed, the archive's declared sizes are checked, as a
whole and part by part: a zip bomb is refused, not expanded (zipfile holds each part to its declared size).
"""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from rag.corpus.readers import ReadError, ReadResult, TooLong

MAX_UNZIPPED = 100_000_000  # bytes the archive may expand to
MAX_RATIO = 100  # expanded / compressed size above which a large archive is a bomb
MAX_ENTRIES = 10_000
BIG_PART = 10_000_000  # a part expanding beyond this must not be more packed than MAX_RATIO, whatever the others
HEADING_STYLE = re.compile(r"^(?:heading|titre|überschrift|título)\s*(\d)$", re.IGNORECASE)


def check_archive(data: bytes) -> None:
    """Refuse what is not a Word file, or expands beyond the limits, before it is read.

    Raises:
        ReadError: with the reason.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ReadError("corrupted or truncated Word file (not a zip archive)") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ReadError(f"Word file of {len(infos):,} parts (the limit is {MAX_ENTRIES:,}): refused")
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        if total > MAX_UNZIPPED or (total > 10_000_000 and total > MAX_RATIO * max(1, packed)):
            raise ReadError(f"zip bomb: the Word file expands to {total:,} bytes from {len(data):,} "
                            f"(the limit is {MAX_UNZIPPED:,}, at most {MAX_RATIO}× its size)")
        for i in infos:  # part by part: a stored random part cannot hide a bomb beside it
            if i.file_size > BIG_PART and i.file_size > MAX_RATIO * max(1, i.compress_size):
                raise ReadError(f"zip bomb: the part {i.filename[:60]!r} of the Word file expands to "
                                f"{i.file_size:,} bytes from {i.compress_size:,} (at most {MAX_RATIO}× beyond "
                                f"{BIG_PART:,})")
        if "word/document.xml" not in zf.namelist():
            raise ReadError("not a Word document (no word/document.xml in the archive)")


def _level(p: Paragraph) -> int:
    """The heading level of a paragraph (0: body text)."""
    name = ((p.style.name if p.style is not None else "") or "").strip()
    if name.lower() in ("title", "titre"):
        return 1
    m = HEADING_STYLE.match(name)
    if m:  # « Heading 1 » sits under the document's « Title »
        return min(int(m.group(1)) + 1, 6)
    ppr = p._p.pPr
    lvl = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
    if lvl is not None and (v := lvl.get(qn("w:val"), "")).isdigit() and int(v) < 9:
        return min(int(v) + 2, 6)
    return 0


def _blocks(document, max_chars: int | None = None) -> list[str]:
    """The document's paragraphs and tables as text blocks; past ``max_chars`` characters, :class:`TooLong`
    (raised there: a Word file padded to a hundred megabytes of text is not walked to its end)."""
    out: list[str] = []
    size = 0
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = " ".join(item.text.split("\n")).strip()
            if not text:
                continue
            level = _level(item)
            if level:
                out.append("#" * level + " " + " ".join(text.split()))
            else:
                out.append("\\" + text if text.startswith("#") else text)
        elif isinstance(item, Table):
            rows = []
            for row in item.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                if any(cells):
                    rows.append("\t".join(cells))
            if not rows:
                continue
            out.append("\n".join(rows))
        else:
            continue
        size += len(out[-1]) + 2
        if max_chars is not None and size > max_chars:
            raise TooLong(f"more than {max_chars:,} characters of text")
    return out


def read(data: bytes, max_chars: int | None = None) -> ReadResult:
    """Read a ``.docx`` file (see the module docstring).

    Raises:
        ReadError: not a Word file, corrupted, or a zip bomb; :class:`TooLong` past ``max_chars`` characters.
    """
    check_archive(data)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = _blocks(document, max_chars)
        props = document.core_properties
        title, author = props.title or "", props.author or ""
        when = props.created or props.modified
    except TooLong:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ReadError(f"corrupted Word file ({exc.__class__.__name__})") from None
    except Exception as exc:  # noqa: BLE001 (lxml's XMLSyntaxError and python-docx's own errors)
        raise ReadError(f"corrupted Word file ({exc.__class__.__name__})") from None
    return ReadResult(text="\n\n".join(blocks) + "\n", title=title.strip(), author=author.strip(),
                      date=when.date().isoformat() if when else "")

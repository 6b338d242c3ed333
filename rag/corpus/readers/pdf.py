"""PDF: the text layer of each page (pypdfium2), pages joined by ``---`` page breaks, outline entries as headings.

The extracted text is laid out as the cleaning expects converted documents to be: one line per printed
line, a blank line where a paragraph ends (a line that ends a sentence and stops short of the page's line
width), ``---`` between pages (so that a paragraph cut by a page break is joined again), the PDF outline's
entries as markdown headings (the printed heading line when it is found on its page, else a line at the top
of that page). Running headers and footers (a first or last line repeated on many pages, page numbers)
are left out. ``ReadResult.pages`` gives the offset where each page starts.

A page without a text layer but with images is OCR'd when ``rag.corpus.readers.ocr`` can (tesseract with French
data), and reported either way.
"""

from __future__ import annotations

import re
import threading

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from rag.corpus.readers import ReadError, ReadResult, TooLong, ocr, page_range

PAGE_BREAK = "\n\n---\n\n"
MAX_OUTLINE = 10_000  # outline entries read (a hostile file may hold millions)
SENTENCE_END = tuple(".!?:;…»\"”)")
PAGE_NUMBER = re.compile(r"^\s*(?:page\s+|p\.\s*)?[-–]?\s*\d{1,4}\s*"
                         r"(?:/\s*\d{1,4}|sur\s+\d{1,4}|of\s+\d{1,4})?\s*[-–]?\s*$",
                         re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# PDFium is not thread-safe: one document is read at a time in a process (a build and an upload may overlap).
PDFIUM = threading.Lock()


def _open(data: bytes) -> pdfium.PdfDocument:
    head = data[:1024]
    if b"%PDF-" not in head:
        low = head.lstrip().lower()
        if low.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")) or b"<html" in low:
            raise ReadError("not a PDF: the file is an HTML page (rename it .html to index it)")
        raise ReadError("not a PDF (no %PDF- header): corrupted, or another format under a .pdf name")
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ReadError("encrypted PDF (password protected): remove the password to index it") from None
        raise ReadError(f"corrupted or truncated PDF ({exc})") from None


def _date(raw: str) -> str:
    """``D:20240305...`` as ``2024-03-05`` (or the year, or "")."""
    m = re.match(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?", raw or "")
    if not m:
        return ""
    return "-".join(x for x in m.groups() if x)


def _has_images(page) -> bool:
    return any(obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE for obj in page.get_objects(max_depth=2))


def _page_lines(page) -> list[str]:
    textpage = page.get_textpage()
    try:
        raw = textpage.get_text_bounded()
    finally:
        textpage.close()
    raw = CONTROL.sub("", raw.replace("\r\n", "\n").replace("\r", "\n").replace("\x02", "-"))
    return [line.rstrip() for line in raw.split("\n")]


def _fold(s: str) -> str:
    return " ".join(re.sub(r"\d+", "#", s).split()).casefold()


def _edge(p: list[str], last: bool) -> int | None:
    """The index of a page's first (or last) non-blank line."""
    idx = [i for i, s in enumerate(p) if s.strip()]
    return (idx[-1] if last else idx[0]) if idx else None


def _running(pages: list[list[str]], last: bool, need: int, moving: bool = True) -> set[str]:
    """The folded first (last) lines that are running headers (footers): found on ``need`` pages or more,
    each number in them either the same on every page or (``moving``) moving with the page, as a page
    number does; so « Article 12 », « Article 15 »… opening successive pages stay."""
    seen: dict[str, list[tuple[int, list[int]]]] = {}
    for n, p in enumerate(pages):
        i = _edge(p, last)
        if i is not None:
            seen.setdefault(_fold(p[i]), []).append((n, [int(x) for x in re.findall(r"\d+", p[i])]))
    keys = set()
    for key, occ in seen.items():
        if len(occ) < need:
            continue
        if all(len({nums[j] for _, nums in occ}) == 1 or (moving and len({nums[j] - n for n, nums in occ}) == 1)
               for j in range(len(occ[0][1]))):
            keys.add(key)
    return keys


def _drop_running(pages: list[list[str]]) -> list[list[str]]:
    """Pages without their running header and footer lines (see :func:`_running`: on at least three pages and
    half of them), nor lone page numbers there."""
    with_text = sum(1 for p in pages if any(s.strip() for s in p))
    need = max(3, (with_text + 1) // 2)
    out = [list(p) for p in pages]
    for last in (False, True):
        for second in (False, True):  # a header of two lines: under the first, only a fixed line or a number
            keys = _running(out, last, need, moving=not second) if with_text >= 3 else set()
            for p in out:
                i = _edge(p, last)
                alone = i is not None and _edge(p, not last) == i  # the page's last line of text stays
                if i is not None and not alone and (_fold(p[i]) in keys or PAGE_NUMBER.match(p[i])):
                    p[i] = ""
    return out


def _paragraphs(lines: list[str]) -> list[str]:
    """Lines with a blank line after each one that ends a paragraph: it ends a sentence and stops short, or it is
    a title line (short, no end punctuation, the next line starting a new sentence), which is never glued to the
    sentence below it."""
    lengths = sorted(len(s) for s in lines if s.strip())
    if not lengths:
        return []
    width = lengths[int(0.9 * (len(lengths) - 1))]
    following = [next((t.strip() for t in lines[i + 1:] if t.strip()), "") for i in range(len(lines))]
    out: list[str] = []
    for s, after in zip(lines, following):
        out.append("\\" + s if s.lstrip().startswith("#") else s)  # never a markdown heading by accident
        line = s.strip()
        if not line or len(s) >= 0.85 * width:
            continue
        ends = line.endswith(SENTENCE_END)
        title = (not ends and not line.endswith((",", ";", ":", "-")) and line[:1].isupper() and len(line) < 0.6 * width
                 and after[:1].isupper())
        if ends or title:
            out.append("")
    return out


def _outline(doc: pdfium.PdfDocument, n_pages: int) -> dict[int, list[tuple[int, str]]]:
    """Per page index, its outline entries (level from 1, title) in order."""
    out: dict[int, list[tuple[int, str]]] = {}
    try:
        for count, item in enumerate(doc.get_toc()):
            if count >= MAX_OUTLINE:
                break
            dest = item.get_dest()
            index = dest.get_index() if dest is not None else None
            title = " ".join(CONTROL.sub("", item.get_title() or "").split())
            if index is None or not 0 <= index < n_pages or not title:
                continue
            out.setdefault(index, []).append((min(item.level + 1, 6), title))
    except pdfium.PdfiumError:
        return out
    return out


def _place_headings(lines: list[str], entries: list[tuple[int, str]]) -> list[str]:
    """The page's lines with its outline entries as markdown headings: the printed line that says the title
    becomes the heading; a title not printed on the page goes on top of it."""
    lines = list(lines)
    on_top: list[str] = []
    cursor = 0
    for level, title in entries:
        want = " ".join(title.split()).casefold()
        hit = next((i for i in range(cursor, len(lines))
                    if " ".join(lines[i].lstrip("\\").split()).casefold() == want), None)
        mark = "#" * level + " "
        if hit is None:
            on_top += [mark + title, ""]
            continue
        lines[hit:hit + 1] = ["", mark + lines[hit].lstrip("\\").strip(), ""]
        cursor = hit + 3
    return on_top + lines


def read(data: bytes, pages_limit: int, max_chars: int | None = None) -> ReadResult:
    """Read a PDF's text layer (see the module docstring).

    Raises:
        ReadError: not a PDF, encrypted, corrupted, more than ``pages_limit`` pages, or no text at all;
            :class:`TooLong` as soon as the pages read hold twice ``max_chars`` characters (beyond what dropping
            running headers could bring back under the cap; :func:`rag.corpus.readers.read` checks the cap itself).
    """
    with PDFIUM:
        return _read(data, pages_limit, max_chars)


def _read(data: bytes, pages_limit: int, max_chars: int | None) -> ReadResult:
    doc = _open(data)
    try:
        n = len(doc)
        if n > pages_limit:
            raise ReadError(f"{n:,} pages; the limit is {pages_limit:,} (RAG_MAX_PAGES)")
        if n == 0:
            raise ReadError("PDF without pages")
        meta = doc.get_metadata_dict(skip_empty=True)
        pages: list[list[str]] = []
        textless: list[int] = []
        size = 0
        for i in range(n):
            page = doc[i]
            try:
                lines = _page_lines(page)
                if not any(s.strip() for s in lines) and _has_images(page):
                    textless.append(i)
                pages.append(lines)
            finally:
                page.close()
            size += sum(len(s) + 1 for s in lines)
            if max_chars is not None and size > 2 * max_chars:  # past any doubt (running headers go later)
                raise TooLong(f"more than {max_chars:,} characters of text")
        read_by_ocr: list[int] = []
        failed: list[int] = []
        if textless and ocr.available():
            for i in textless:
                text = ocr.ocr_page(doc, i)
                if text.strip():
                    pages[i] = [s.rstrip() for s in text.split("\n")]
                    read_by_ocr.append(i + 1)
                else:
                    failed.append(i + 1)
        outline = _outline(doc, n)
    finally:
        doc.close()
    notes = []
    if textless:
        nums = [i + 1 for i in textless]
        if read_by_ocr:
            notes.append(f"{page_range(read_by_ocr)} : pas de couche texte, lues par OCR")
        if failed:
            notes.append(f"{page_range(failed)} : pas de couche texte, OCR sans résultat (ignorées)")
        if not ocr.available():
            notes.append(f"{page_range(nums)} : pas de couche texte (ignorées ; OCR : {ocr.why_unavailable()})")
    pages = _drop_running(pages)
    parts, starts, at = [], [], 0
    for i, lines in enumerate(pages):
        body = "\n".join(_place_headings(_paragraphs(lines), outline.get(i, []))).strip("\n")
        if i:
            parts.append(PAGE_BREAK)
            at += len(PAGE_BREAK)
        starts.append(at)
        parts.append(body)
        at += len(body)
    text = "".join(parts)
    if not any(s.strip() and s.strip() != "---" for s in text.split("\n")):
        if textless:
            raise ReadError(f"{page_range([i + 1 for i in textless])} : pas de couche texte (PDF scanné ; "
                            f"OCR : {ocr.why_unavailable() or 'sans résultat'})")
        raise ReadError("PDF without text")
    return ReadResult(text=text, pages=tuple(starts), ocr_pages=tuple(read_by_ocr), title=meta.get("Title", ""),
                      author=meta.get("Author", ""), date=_date(meta.get("CreationDate", "")), notes=tuple(notes))

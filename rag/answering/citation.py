"""One citation formatter: the plain-text reference of a passage, used by the page's « Copier la référence »,
the command line (``python -m rag ask``) and the API (``references`` in the answer's JSON).

An excerpt is the sentence a reference quotes: the passage's first quoted answer sentence, else its best
highlight, else the whole passage, always with exact offsets into the source file (for a PDF, into its
extracted text) and, for a PDF, the page(s) it is printed on: « p. 12 », « p. 12–13 », « p. 3 (OCR) ».
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.core.types import Answer, Passage
from rag.corpus.readers import page_span


@dataclass(frozen=True)
class Excerpt:
    """The quoted excerpt of a passage: its text, exact file offsets and (PDF) pages, as in ``Passage``."""

    text: str
    start: int
    end: int
    page: int = 0
    page_end: int = 0
    ocr: bool = False


def page_label(page: int, page_end: int = 0, ocr: bool = False) -> str:
    """« p. 12 », « p. 12–13 », « p. 3 (OCR) »; "" without a page."""
    if not page:
        return ""
    label = f"p. {page}–{page_end}" if page_end and page_end != page else f"p. {page}"
    return label + (" (OCR)" if ocr else "")


def _paged(retriever, p: Passage, excerpt: Excerpt) -> Excerpt:
    """``excerpt`` with the pages its own offsets are on (those of the passage when unknown)."""
    if not p.page:
        return excerpt
    doc = next((d for d in getattr(retriever, "documents", ()) if d.doc_id == p.doc_id), None)
    if doc is None or not doc.pages:
        return Excerpt(excerpt.text, excerpt.start, excerpt.end, p.page, p.page_end, p.ocr)
    page, page_end = page_span(doc.pages, excerpt.start, excerpt.end)
    ocr = any(page <= n <= (page_end or page) for n in doc.ocr_pages)
    return Excerpt(excerpt.text, excerpt.start, excerpt.end, page, page_end, ocr)


def passage_excerpts(retriever, answer: Answer) -> list[Excerpt]:
    """For each passage, the sentence to quote in its reference (the best highlight), with file offsets.

    Falls back to the whole passage when it has no highlight.

    Args:
        retriever: the ``Retriever`` that made ``answer`` (for ``file_offsets``).
        answer: its answer.
    """
    out = []
    for p in answer.passages:
        if not p.highlights:
            out.append(Excerpt(p.text, p.start, p.end, p.page, p.page_end, p.ocr))
            continue
        own = [s for s in answer.sentences if answer.passages[s.passage] is p]
        if own:
            s = own[0]
            out.append(_paged(retriever, p, Excerpt(s.text, s.start, s.end)))
            continue
        a, b = p.highlights[0]
        out.append(_paged(retriever, p, Excerpt(p.text[a:b], *retriever.file_offsets(p, a, b))))
    return out


def section_path(p: Passage) -> str:
    """The passage's section path without the document title when it only repeats it."""
    parts = [x.strip() for x in p.section.split(" > ")] if p.section else []
    if len(parts) > 1 and parts[0].casefold() == p.title.strip().casefold():
        parts = parts[1:]
    return " › ".join(parts)


def reference_text(p: Passage, excerpt: Excerpt) -> str:
    """A ready-to-paste citation (plain text, French labels): the quote, then title, body, date, section, page
    (PDF), source."""
    parts = [f"« {excerpt.text.strip()} »", f"{p.title}."]
    meta = ", ".join(x for x in (p.body, p.date) if x)
    if meta:
        parts.append(meta + ".")
    if section_path(p):
        parts.append(f"Section : {section_path(p)}.")
    page = page_label(excerpt.page, excerpt.page_end, excerpt.ocr) or page_label(p.page, p.page_end, p.ocr)
    if page:
        parts.append(f"{page}.")
    parts.append(f"Source : {p.doc_id}, caractères {excerpt.start}–{excerpt.end}.")
    return "\n".join([parts[0], " ".join(parts[1:])])


def references(retriever, answer: Answer) -> list[str]:
    """The reference of each of ``answer``'s passages, in order."""
    return [reference_text(p, e) for p, e in zip(answer.passages, passage_excerpts(retriever, answer))]

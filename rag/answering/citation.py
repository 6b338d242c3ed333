"""One citation formatter: how a quote is cited on the page (« Copier la référence »), by the command line
(``python -m rag ask``) and by the API (``references`` and ``citations`` in the answer's JSON).

An excerpt is the sentence a reference quotes: the passage's first quoted answer sentence, else its best
highlight, else the whole passage, always with exact offsets into the source file (for a PDF, into its
extracted text) and, for a PDF, the page(s) it is printed on: « p. 12 », « p. 12–13 », « p. 3 (OCR) ».

A :class:`Citation` of an excerpt gives it two forms, the way the people who paste them write: a short, in-text
one (« A/RES/79/239, par. 8 », « Ifri, 2025, section « … » », « Projet de résolution … (simulation de l'ONU,
texte non officiel), par. 2 b) ») and a full one (the quote, title, body, date, kind and status, symbol,
section, paragraph, page, then the characters), with the same facts as fields. A text that is not official says
so in words in both forms.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from rag.core.types import Answer, DocumentInfo, Passage
from rag.corpus.documents import STATUSES, UNOFFICIAL
from rag.corpus.readers import page_span
from rag.text.paragraphs import paragraph_label


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
    """The passage's section path without the headings that only repeat the document's title."""
    parts = [x.strip() for x in p.section.split(" > ")] if p.section else []
    kept = [x for x in parts if x.casefold() != p.title.strip().casefold()]
    return " › ".join(kept or parts)


@dataclass(frozen=True)
class Citation:
    """How one excerpt is cited: the facts (``page`` None for a document without pages; ``paragraph`` "" when
    the document has no numbered paragraphs, see ``rag.text.paragraphs``), the in-text form ``short`` and the full
    reference ``full``. ``quote`` is the cleaned rendering of exactly the file's characters ``start:end`` of
    ``doc_id`` (for a PDF, of its extracted text): the passage's own text, never more or fewer words."""

    quote: str
    doc_id: str
    start: int
    end: int
    title: str
    body: str
    date: str
    kind: str
    symbol: str
    status: str  # a key of rag.corpus.documents.STATUSES, or ""
    status_label: str  # the same in words
    official: bool
    section: str
    paragraph: str
    page: int | None
    page_end: int | None
    ocr: bool
    short: str
    full: str

    def to_dict(self) -> dict:
        """As JSON: without ``page``/``page_end`` when the document has none."""
        out = dataclasses.asdict(self)
        for key in ("page", "page_end"):
            if out[key] is None:
                del out[key]
        return out


def cite(p: Passage, excerpt: Excerpt, doc: DocumentInfo | None = None, paragraph: str = "") -> Citation:
    """The citation of ``excerpt`` of passage ``p`` (``doc``: its document, for symbol, status, kind and the
    short name; ``paragraph``: its paragraph label)."""
    status = doc.status if doc is not None else p.status
    symbol = doc.symbol if doc is not None else ""
    paged = bool(doc.pages) if doc is not None else bool(excerpt.page or p.page)
    page, page_end, ocr = ((excerpt.page, excerpt.page_end, excerpt.ocr) if excerpt.page else
                           (p.page, p.page_end, p.ocr))
    status_label = STATUSES.get(status, "")
    section = section_path(p)
    place = paragraph or page_label(page, page_end, ocr) or (f"section « {section} »" if section else "")
    short = ", ".join(x for x in (short_name(p, doc), place) if x)
    return Citation(
        quote=excerpt.text, doc_id=p.doc_id, start=excerpt.start, end=excerpt.end, title=p.title, body=p.body,
        date=p.date, kind=doc.kind if doc is not None else "", symbol=symbol, status=status,
        status_label=status_label, official=status == "official", section=section, paragraph=paragraph,
        page=(page or None) if paged else None, page_end=(page_end or None) if paged else None, ocr=ocr,
        short=short, full=_full(p, excerpt, doc, status_label, paragraph, page_label(page, page_end, ocr), section))


def short_name(p: Passage, doc: DocumentInfo | None) -> str:
    """The name a short reference starts with: ``cite_as``, else the symbol, else « body, year », else the title;
    a text that is not official says so (« (simulation de l'ONU, texte non officiel) »)."""
    year = _year(p.date)
    name = ((doc.cite_as or doc.symbol) if doc is not None else "") or (
        f"{p.body}, {year}" if p.body and year else p.title)
    status = doc.status if doc is not None else p.status
    if status in UNOFFICIAL:
        name += f" ({STATUSES[status]})"
    return name


def _year(date: str) -> str:
    """The year a date names (« 24 décembre 2024 » → « 2024 »), or ""."""
    found = re.search(r"\b(?:1[89]|20)\d\d\b", date)
    return found.group(0) if found else ""


def _full(p: Passage, excerpt: Excerpt, doc: DocumentInfo | None, status_label: str, paragraph: str, page: str,
          section: str) -> str:
    """The full reference (plain text, French labels): the quote, then title, body, date, kind and status,
    symbol, section, paragraph, page (PDF), source characters."""
    parts = [f"{p.title}."]
    meta = ", ".join(x for x in (p.body, p.date) if x)
    if meta:
        parts.append(meta + ".")
    kind = doc.kind if doc is not None and doc.status != "upload" else ""
    if kind or status_label:
        status = status_label.upper() if doc is not None and doc.status in UNOFFICIAL else status_label
        parts.append(" ; ".join(x for x in (kind, status) if x) + ".")
    if doc is not None and doc.symbol:
        parts.append(f"Cote : {doc.symbol}.")
    if section:
        parts.append(f"Section : {section}.")
    if paragraph:
        parts.append(f"{paragraph[0].upper()}{paragraph[1:]}.")  # « Par. 8. », « Préambule, al. 3. »
    if page:
        parts.append(f"{page}.")
    parts.append(f"Source : {p.doc_id}, caractères {excerpt.start}–{excerpt.end}.")
    return "\n".join([f"« {excerpt.text.strip()} »", " ".join(parts)])


def reference_text(p: Passage, excerpt: Excerpt, doc: DocumentInfo | None = None, paragraph: str = "") -> str:
    """The full reference of ``excerpt`` (see :func:`cite`)."""
    return cite(p, excerpt, doc, paragraph).full


def _citation(retriever, p: Passage, excerpt: Excerpt) -> Citation:
    doc = _document(retriever, p.doc_id)
    paragraph = ""
    clean_of = getattr(retriever, "clean_document", None)
    if clean_of is not None:
        try:
            clean = clean_of(p.doc_id)
        except (KeyError, ValueError):
            clean = None
        if clean is not None:
            paragraph = paragraph_label(clean, clean.to_clean(excerpt.start, excerpt.end)[0])
    return cite(p, excerpt, doc, paragraph)


def _document(retriever, doc_id: str) -> DocumentInfo | None:
    return next((d for d in getattr(retriever, "documents", ()) if d.doc_id == doc_id), None)


def citations(retriever, answer: Answer) -> list[Citation]:
    """The citation of each of ``answer``'s passages, in order (of its excerpt: see :func:`passage_excerpts`)."""
    return [_citation(retriever, p, e) for p, e in zip(answer.passages, passage_excerpts(retriever, answer))]


def sentence_citations(retriever, answer: Answer) -> list[Citation]:
    """The citation of each sentence ``answer`` quotes, in order (its own page and paragraph)."""
    out = []
    for s in answer.sentences:
        p = answer.passages[s.passage]
        out.append(_citation(retriever, p, _paged(retriever, p, Excerpt(s.text, s.start, s.end))))
    return out


def references(retriever, answer: Answer) -> list[str]:
    """The full reference of each of ``answer``'s passages, in order."""
    return [c.full for c in citations(retriever, answer)]


CSL_TYPES = {"press": "article-newspaper", "study": "report"}  # others: a legislation if official with a symbol,
# else a document


def csl_items(cited: list[Citation]) -> list[dict]:
    """The references as CSL-JSON items (Zotero, Mendeley, pandoc's citeproc import them), one per document:
    its title, body as author, date, symbol as number, kind as genre, status in words as note; the quoted
    sections, paragraphs and pages go in ``section`` and ``page``."""
    items: dict[str, dict] = {}
    for c in cited:
        item = items.get(c.doc_id)
        if item is None:
            year = _year(c.date)
            kind = CSL_TYPES.get(c.status) or ("legislation" if c.official and c.symbol else "document")
            item = items[c.doc_id] = {
                "id": c.doc_id, "type": kind, "title": c.title,
                **({"author": [{"literal": c.body}]} if c.body else {}),
                "issued": {"date-parts": [[int(year)]]} if year else {"literal": c.date},
                **({"number": c.symbol} if c.symbol else {}), **({"genre": c.kind} if c.kind else {}),
                **({"note": c.status_label} if c.status_label else {}),
                "section": [], "page": []}
        where = c.paragraph or c.section
        if where and where not in item["section"]:
            item["section"].append(where)
        if c.page:
            label = f"{c.page}-{c.page_end}" if c.page_end and c.page_end != c.page else str(c.page)
            if label not in item["page"]:
                item["page"].append(label)
    out = []
    for item in items.values():
        item["section"] = "; ".join(item["section"])
        item["page"] = ", ".join(item["page"])
        out.append({k: v for k, v in item.items() if v not in ("", [])})
    return out


def answer_json(retriever, answer: Answer) -> dict:
    """The answer as JSON, as the API and ``python -m rag ask --json`` give it: ``Answer.to_dict()``, then
    ``references`` (the full reference of each passage), ``citations`` (each passage's :class:`Citation`) and
    ``sentence_citations`` (each quoted sentence's, with its own page and paragraph) and ``csl`` (the documents
    cited, as CSL-JSON items for a reference manager)."""
    out = answer.to_dict()
    cited = citations(retriever, answer)
    out["references"] = [c.full for c in cited]
    out["citations"] = [c.to_dict() for c in cited]
    out["sentence_citations"] = [c.to_dict() for c in sentence_citations(retriever, answer)]
    out["csl"] = csl_items(cited)
    return out

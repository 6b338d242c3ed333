"""The relevance rule: does a passage contain a gold quote?

Gold answers are quotes of the source files, not chunk ids. A passage is
relevant to a case when it belongs to the quote's document and contains the
quote, compared after :func:`normalize` on both sides (whitespace, apostrophes,
markdown and HTML markup, footnote markers). A long quote cut by a chunk
boundary still counts when the passage holds its first or its second half.

The markup rules echo ``rag.text.cleaning`` on purpose but do not import it: the
judge of retrieval must not share the code it judges (a cleaning bug that drops
text would otherwise go unnoticed).
"""

from __future__ import annotations

import html
import re
import unicodedata

LONG_QUOTE = 60  # normalised characters from which the half-quote rule applies

_NOTE = re.compile(r"<sup>\s*\d+\s*</sup>")
_SUP = re.compile(r"<su[pb]>([^<]*)</su[pb]>")
_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]*)\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*\b[^>]*>")
_ESC = re.compile(r"\\([\\`*_{}\[\]()#+\-.!$|<>])")
_EMPH = re.compile(r"\*{1,3}|(?<!\w)_{1,3}|_{1,3}(?!\w)")
_HEADING = re.compile(r"(?m)^\s*#{1,6}\s+")
_BULLETS = re.compile(r"[▀■●•▪◦]")
_CHARS = str.maketrans({
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "\u2032": "'", "`": "'",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u200b": "", "\u00ad": "",
    "|": " ",
})


def normalize(text: str) -> str:
    """Text reduced to what the relevance rule compares.

    Footnote markers (``<sup>3</sup>``) and HTML tags are dropped, links keep
    their text, markdown emphasis, escapes and heading marks are removed,
    entities are decoded, typographic apostrophes become ``'``, no-break and
    thin spaces become spaces, and runs of whitespace fold to one space.
    """
    text = unicodedata.normalize("NFC", text)
    text = _NOTE.sub("", text)
    text = _SUP.sub(r"\1", text)
    text = _LINK.sub(lambda m: m.group(1) or m.group(2), text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    text = _ESC.sub(r"\1", text)
    text = _EMPH.sub("", text)
    text = _HEADING.sub("", text)
    text = _BULLETS.sub(" ", text)
    text = text.translate(_CHARS)
    text = " ".join(text.split())
    # A removed footnote marker or tag can leave "mot ." where the clean text has "mot."
    return re.sub(r" ([.,;:)])", r"\1", text)


def quote_halves(quote_norm: str) -> tuple[str, ...]:
    """The pieces of a normalised quote a passage may hold: the whole quote, then
    (for a long quote) its first and second halves cut at the space nearest the middle."""
    if len(quote_norm) < LONG_QUOTE:
        return (quote_norm,)
    mid = len(quote_norm) // 2
    left, right = quote_norm.rfind(" ", 0, mid + 1), quote_norm.find(" ", mid)
    cands = [c for c in (left, right) if c > 0]
    if not cands:
        return (quote_norm,)
    cut = min(cands, key=lambda c: abs(c - mid))
    return quote_norm, quote_norm[:cut].strip(), quote_norm[cut:].strip()


def contains_quote(passage_norm: str, quote_norm: str) -> bool:
    """Whether a normalised passage holds a normalised quote (or half of a long one)."""
    return any(piece and piece in passage_norm for piece in quote_halves(quote_norm))


def is_relevant(doc_id: str, passage_norm: str, answers) -> bool:
    """Whether a passage of ``doc_id`` (normalised text) answers one of ``answers``
    (objects with ``doc`` and ``quote_norm``)."""
    return any(a.doc == doc_id and contains_quote(passage_norm, a.quote_norm) for a in answers)


MIN_INSIDE = 30  # normalised characters a sentence needs to count when it lies inside a long gold span


def sentence_answers(doc_id: str, sentence_norm: str, spans) -> bool:
    """Whether a quoted sentence of ``doc_id`` (normalised) holds one of the gold answer
    ``spans`` (objects with ``doc`` and ``quote_norm``): it contains the span (or half
    of a long one), or it lies inside a long span (a multi-sentence answer)."""
    return any(a.doc == doc_id and (contains_quote(sentence_norm, a.quote_norm)
                                    or (len(sentence_norm) >= MIN_INSIDE and sentence_norm in a.quote_norm))
               for a in spans)

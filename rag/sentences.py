"""Split clean text into sentences, as character spans.

A plain rule-based splitter for French and English prose: it cuts after
``. ! ? …`` followed by a capital, a digit or an opening quote, never after a
known abbreviation or an initial, and at every line break. Overlong sentences
(enumerations of a UN resolution, sub-clauses) are cut again at ``;``.
"""

from __future__ import annotations

import re

ABBREVIATIONS = {
    "m", "mm", "mme", "mmes", "mlle", "dr", "pr", "me", "st", "ste", "p", "pp", "vol", "al", "cf",
    "n", "no", "nº", "n°", "art", "chap", "éd", "ed", "eds", "dir", "coll", "op", "cit", "ibid",
    "etc", "env", "fig", "tél", "par", "mr", "mrs", "ms", "vs", "e.g", "i.e", "j.-c", "distr",
}
END = re.compile(r"[.!?…]+[»\"”’)\]]*\s+(?=[«\"“(\[A-ZÀ-ÖØ-Þ0-9])|\n+")
SOFT = re.compile(r"\s;\s|;\s+(?=\S)")
LONG = 320
MIN = 12


def _is_abbreviation(text: str, dot: int) -> bool:
    m = re.search(r"([\w.°º-]+)$", text[:dot])
    if not m:
        return False
    word = m.group(1).lower().rstrip(".")
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]``, stripped, as offsets into ``text``."""
    end = len(text) if end is None else end
    spans, cur = [], start
    for m in END.finditer(text, start, end):
        if m.group().startswith((".",)) and _is_abbreviation(text, m.start()):
            continue
        cut = m.start() + len(m.group().rstrip())
        spans.append((cur, cut))
        cur = m.end()
    spans.append((cur, end))
    out = []
    for a, b in spans:
        for a2, b2 in _split_long(text, a, b):
            a2, b2 = strip_span(text, a2, b2)
            if b2 > a2:
                out.append((a2, b2))
    return _merge_short(text, out)


def strip_span(text: str, a: int, b: int) -> tuple[int, int]:
    """``(a, b)`` without the white space at either end of ``text[a:b]``."""
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _split_long(text: str, a: int, b: int) -> list[tuple[int, int]]:
    if b - a <= LONG:
        return [(a, b)]
    pieces, cur = [], a
    for m in SOFT.finditer(text, a, b):
        if m.start() - cur >= 80 and b - m.end() >= 40:
            pieces.append((cur, m.start() + 1 if text[m.start()] == ";" else m.start() + 2))
            cur = m.end()
    pieces.append((cur, b))
    return pieces


def _merge_short(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Fold fragments too short to stand alone ("1.", "a)") into the sentence next to them on their line."""
    out: list[tuple[int, int]] = []
    carry, carry_end = None, 0
    for a, b in spans:
        if carry is not None and "\n" not in text[carry:a]:
            a = carry
        elif carry is not None:
            out.append((carry, carry_end))
        carry = None
        if b - a < MIN:
            carry, carry_end = a, b
            continue
        out.append((a, b))
    if carry is not None:
        if out and "\n" not in text[out[-1][1]:carry]:
            out[-1] = (out[-1][0], carry_end)
        else:
            out.append((carry, carry_end))
    return out

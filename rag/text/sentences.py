"""Split clean text into sentences, as character spans, in time linear in the text.

A rule-based splitter for French and English prose: it cuts after ``. ! ? …``
(and any closing quote or bracket) followed by white space and a capital, a
digit or an opening quote, never after a known abbreviation (« art. », « p. »,
« M. », « cf. », « n° »…) or an initial (« J. Dupont »), and at every line
break left in the clean text (the cleaning module has already joined
hard-wrapped lines, so a line break there ends a list item, a table row or a
heading). « etc. » ends a sentence only before a capital. Overlong sentences
(enumerations of a UN resolution, sub-clauses) are cut again at ``;``.

Each candidate cut looks back at most ``LOOKBACK`` characters for the word
before it, so the cost grows with the text, not with the square of its lines.
"""

from __future__ import annotations

import re

# Where sentences are cut; raise it whenever the spans change (an index records it: rag.index.versions).
SENTENCES_VERSION = 1

ABBREVIATIONS = {
    "m", "mm", "mme", "mmes", "mlle", "dr", "pr", "me", "st", "ste", "p", "pp", "vol", "al", "cf",
    "n", "no", "nº", "n°", "art", "chap", "éd", "ed", "eds", "dir", "coll", "op", "cit", "ibid",
    "env", "fig", "tél", "par", "mr", "mrs", "ms", "vs", "e.g", "i.e", "j.-c", "distr", "sq", "sqq",
    "éds", "trad", "t", "ch", "paragr", "sect", "réf", "ann", "av", "apr",
}
END_BEFORE_CAPITAL = {"etc"}  # « etc. » ends the sentence when a capital follows, not a number
END = re.compile(r"[.!?…]+[»\"”’)\]]*\s+(?=[«\"“(\[0-9]|[^\W\d_])|\n+")
SOFT = re.compile(r"\s;\s|;\s+(?=\S)")
LONG = 320
MIN = 12
LOOKBACK = 24  # characters read back from a full stop to find the word it ends
_WORD_CHARS = frozenset(".°º-_")


def _word_before(text: str, dot: int) -> str:
    """The word (letters, digits, inner dots and hyphens) right before ``text[dot]``."""
    i, stop = dot, max(0, dot - LOOKBACK)
    while i > stop and (text[i - 1].isalnum() or text[i - 1] in _WORD_CHARS):
        i -= 1
    return text[i:dot]


def _is_abbreviation(text: str, dot: int, following: str) -> bool:
    """Whether the full stop at ``dot`` ends an abbreviation or an initial rather than a sentence."""
    word = _word_before(text, dot).lower().rstrip(".")
    if word in END_BEFORE_CAPITAL:
        return not following.isupper()
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]``, stripped, as offsets into ``text``."""
    end = len(text) if end is None else end
    spans, cur = [], start
    for m in END.finditer(text, start, end):
        following = text[m.end()] if m.end() < len(text) else ""
        if m.group()[0] != "\n" and not (following in "«\"“([" or following.isdigit() or following.isupper()):
            continue  # a lower-case word goes on the sentence (« … ? demanda-t-il »)
        if m.group().startswith(".") and _is_abbreviation(text, m.start(), following):
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

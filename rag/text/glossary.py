"""English to French vocabulary of AI and arms-control governance, for keyword search.

The corpus is French; many users ask in English. Dense search is multilingual,
but BM25 only matches words, so an English question is given the French terms
of the domain vocabulary it contains before keyword search. Longest phrases
are matched first. The vocabulary is domain data: ``corpus/glossary.toml`` (its
``[terms]`` table), named by ``Settings.glossary_file``; an empty or missing file
means no glossary (English questions then reach French text through names,
numbers and the dense side only).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from rag.settings import ROOT
from rag.text import countries
from rag.text.folding import strip_accents

DEFAULT_FILE = ROOT / "corpus" / "glossary.toml"


@dataclass(frozen=True)
class Glossary:
    """English phrases (lower case) and their French equivalents, matched longest first."""

    terms: dict = field(default_factory=dict)
    pattern: re.Pattern | None = None

    @classmethod
    def of(cls, terms: dict[str, str]) -> "Glossary":
        terms = {str(k).lower(): str(v) for k, v in terms.items()}
        pattern = (re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(terms, key=len, reverse=True)) + r")\b",
                              re.IGNORECASE) if terms else None)
        return cls(terms, pattern)

    def get(self, word: str) -> str | None:
        return self.terms.get(word)

    def __iter__(self):
        return iter(self.terms)

    def spans(self, question: str) -> list[tuple[int, int]]:
        return [span for span, _ in _found(self.pattern, question)] if self.pattern else []

    def groups(self, question: str) -> list[str]:
        """The French equivalents of each glossary phrase an English question contains, one string a phrase
        (« chaired » gives « présidé présidence »)."""
        return [self.terms[phrase.lower()] for _, phrase in _found(self.pattern, question)] if self.pattern else []


@functools.lru_cache(maxsize=1024)  # a question's analysis and its keyword evidence ask the same text
def _found(pattern: re.Pattern, question: str) -> tuple[tuple[tuple[int, int], str], ...]:
    """The span and the phrase of each match of a glossary's ``pattern`` in ``question``."""
    return tuple((m.span(), m.group(1)) for m in pattern.finditer(question))


@functools.lru_cache(maxsize=8)
def load_glossary(path: str | Path = DEFAULT_FILE) -> Glossary:
    """The glossary in the TOML file at ``path`` (its ``[terms]`` table); an empty one if the file is missing.

    Raises:
        ValueError: the file is not valid TOML, or its terms are not strings.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return Glossary()
    try:
        terms = tomllib.loads(text).get("terms", {})
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    if not isinstance(terms, dict) or not all(isinstance(v, str) for v in terms.values()):
        raise ValueError(f"{path}: [terms] must map English phrases to French strings")
    return Glossary.of(terms)


def french_groups(question: str, glossary: Glossary | None = None) -> list[str]:
    """The French equivalents of each glossary phrase an English question contains (``Glossary.groups``)."""
    return (glossary or load_glossary()).groups(question)


def french_terms(question: str, glossary: Glossary | None = None) -> str:
    """French terms for the domain vocabulary an English question contains (may be empty)."""
    return " ".join(french_groups(question, glossary))


_WORD = re.compile(r"[^\W_]+(?:[/.\-'’][^\W_]+)*")
# REAIM, NATO, 2026, A/79/408
_NAME = re.compile(r"^(?:[A-Z][A-Za-z\-]*[A-Z][A-Za-z\-]*|\d[\d/.,\-]*|[A-Z]/[\w/.\-]+)$")
_ASKING = frozenset("what which who whom whose when where why how does do did is are was were mean means meant "
                    "define according text texts document documents say says said tell the a an of and or to in on "
                    "at for by from with about as into than then this that these those it its their there they "
                    "them he she his her be been being has have had can could would will should shall may might "
                    "must not no any some all each other such many much".split())


def coverage(question: str, glossary: Glossary | None = None) -> float:
    """Share of an English question's content words that keyword search can match in French text:
    words inside a glossary phrase or a country's name (« Singapore », searched as « Singapour »), and acronyms,
    numbers and symbols (0 when it has none).

    It tells how far the keyword side of hybrid search can be trusted for that question: the
    other English words only meet French text by accident.
    """
    spans = (glossary or load_glossary()).spans(question) + [(a, b) for a, b, _ in countries.spans(question)]
    n = covered = 0
    for m in _WORD.finditer(question):
        word = m.group(0)
        folded = strip_accents(word.lower())
        if folded in _ASKING:
            continue
        n += 1
        inside = any(a <= m.start() < b for a, b in spans)
        if inside or _NAME.match(word):
            covered += 1
    return covered / n if n else 0.0

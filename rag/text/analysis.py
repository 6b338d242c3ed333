"""French text to keyword terms: the analyser that keyword search indexes and queries with, and a test of
whether a question is English.

The analyser lowercases, splits elisions (l', d', qu', jusqu'…), drops French and English stopwords, stems
with Snowball French and then removes accents, so that "contrôles", "controle" and "Contrôle" meet.
Acronyms, numbers and document symbols are kept whole as well as in parts: "A/79/408" gives "a/79/408",
"79" and "408"; "79/239" gives "79/239", "79" and "239". The only module that imports ``Stemmer``.

``ANALYSIS_VERSION`` is part of what an index records (``rag.index.versions``): raise it whenever the terms
of a text change.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH

from rag.text.folding import strip_accents

ANALYSIS_VERSION = 1

ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu|presqu)['’]", re.IGNORECASE)
TOKEN = re.compile(r"\w+(?:[/.\-]\w+|,\d+)*")
EXTRA_STOPWORDS = {"a", "à", "les", "des", "du", "au", "aux", "ou", "où", "ce", "cet", "cette", "ces", "est",
                   "sont", "été", "être", "quel", "quelle", "quels", "quelles", "what", "which", "does", "did",
                   "do", "how", "who", "whom", "why", "when", "where", "is", "are", "was", "were", "il", "elle",
                   "selon", "according", "document", "texte", "text", "corpus"}


STOPWORDS = frozenset({strip_accents(w.lower()) for w in (*STOPWORDS_FRENCH, *STOPWORDS_EN, *EXTRA_STOPWORDS)})


class Analyzer:
    """French text to BM25 terms (acronyms in capitals are not stemmed).

    The terms of the last short texts analysed are kept (a bounded cache): the answer step analyses the sentences
    of the top passages at every question, and the same passages come back question after question."""

    CACHED_CHARS = 1000  # texts up to this length are cached (sentences and questions; a build's chunks pass once)

    def __init__(self, cached_texts: int = 8192) -> None:
        self._stemmer = Stemmer.Stemmer("french")
        self._terms = lru_cache(maxsize=cached_texts)(self._analyse)

    @lru_cache(maxsize=65536)  # noqa: B019 (one analyser lives as long as its index; the cache is bounded)
    def _stem(self, word: str) -> str:
        return strip_accents(self._stemmer.stemWord(word))

    def __call__(self, text: str) -> list[str]:
        return list(self._terms(text) if len(text) <= self.CACHED_CHARS else self._analyse(text))

    def _analyse(self, text: str) -> tuple[str, ...]:
        text = ELISION.sub(" ", unicodedata.normalize("NFC", text))
        terms: list[str] = []
        for tok in TOKEN.findall(text):
            parts = [p for p in re.split(r"[/.,\-]", tok) if p]
            if len(parts) > 1 and any(ch.isdigit() for ch in tok):
                terms.append(strip_accents(tok.lower()))  # a document symbol or a number: keep it whole too
            for part in parts:
                plain = strip_accents(part.lower())
                acronym = part.isupper() and len(part) > 1
                if not acronym and (plain in STOPWORDS or (len(plain) < 2 and not plain.isdigit())):
                    continue
                terms.append(self._stem(part.lower()) if part.isalpha() and not acronym else plain)
        return tuple(terms)


_EN = frozenset("the of and to in is are was were what which who whom how why when where does did do has have "
                "had its their this that these those with for by from about according should can could would will "
                "be been being any there than they them it an".split())
_FR = frozenset("le la les des du de un une et est sont que qui quoi quel quelle quels quelles dans pour par sur "
                "avec selon comment pourquoi quand ou ce cette ces il elle ils elles au aux ne pas se son sa ses "
                "leur leurs nous vous y l d qu c s n j m t lui".split())


def function_words(text: str) -> tuple[int, int]:
    """How many French and how many English function words the text has."""
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", text)]  # l'IA -> l, ia
    return sum(strip_accents(w) in _FR for w in words), sum(w in _EN for w in words)


def looks_english(text: str) -> bool:
    """True when the text has more English than French function words (used to weight keyword search)."""
    french, english = function_words(text)
    return english > french

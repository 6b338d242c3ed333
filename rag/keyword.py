"""Keyword search: BM25 (bm25s) over a French analyser.

The only module that imports ``bm25s`` and ``Stemmer``. The analyser lowercases,
splits elisions (l', d', qu', jusqu'…), drops French and English stopwords,
stems with Snowball French and then removes accents, so that "contrôles",
"controle" and "Contrôle" meet. Acronyms, numbers and document symbols are
kept whole as well as in parts: "A/79/408" gives "a/79/408", "79" and "408";
"79/239" gives "79/239", "79" and "239".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH

ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu|presqu)['’]", re.IGNORECASE)
TOKEN = re.compile(r"\w+(?:[/.\-]\w+|,\d+)*")
EXTRA_STOPWORDS = {"a", "à", "les", "des", "du", "au", "aux", "ou", "où", "ce", "cet", "cette", "ces", "est",
                   "sont", "été", "être", "quel", "quelle", "quels", "quelles", "what", "which", "does", "did",
                   "do", "how", "who", "whom", "why", "when", "where", "is", "are", "was", "were", "il", "elle",
                   "selon", "according", "document", "texte", "text", "corpus"}


def _strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


STOPWORDS = frozenset({_strip_accents(w.lower()) for w in (*STOPWORDS_FRENCH, *STOPWORDS_EN, *EXTRA_STOPWORDS)})


class Analyzer:
    """French text to BM25 terms (acronyms in capitals are not stemmed)."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("french")

    @lru_cache(maxsize=65536)
    def _stem(self, word: str) -> str:
        return _strip_accents(self._stemmer.stemWord(word))

    def __call__(self, text: str) -> list[str]:
        text = ELISION.sub(" ", unicodedata.normalize("NFC", text))
        terms: list[str] = []
        for tok in TOKEN.findall(text):
            parts = [p for p in re.split(r"[/.,\-]", tok) if p]
            if len(parts) > 1 and any(ch.isdigit() for ch in tok):
                terms.append(_strip_accents(tok.lower()))  # a document symbol or a number: keep it whole too
            for part in parts:
                plain = _strip_accents(part.lower())
                acronym = part.isupper() and len(part) > 1
                if not acronym and (plain in STOPWORDS or (len(plain) < 2 and not plain.isdigit())):
                    continue
                terms.append(self._stem(part.lower()) if part.isalpha() and not acronym else plain)
        return terms


_EN = frozenset("the of and to in is are was were what which who whom how why when where does did do has have "
                "had its their this that these those with for by from about according should can could would will "
                "be been being any there than they them it an".split())
_FR = frozenset("le la les des du de un une et est sont que qui quoi quel quelle quels quelles dans pour par sur "
                "avec selon comment pourquoi quand ou ce cette ces il elle ils elles au aux ne pas se son sa ses "
                "leur leurs nous vous y l d qu c s n j m t lui".split())


def looks_english(text: str) -> bool:
    """True when the text has more English than French function words (used to weight keyword search)."""
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", text)]  # l'IA -> l, ia
    en = sum(w in _EN for w in words)
    fr = sum(_strip_accents(w) in _FR for w in words)
    return en > fr


class KeywordHits:
    """The best chunks for one query (``rows`` with their BM25 ``scores``, all positive, best first), and
    :meth:`of`, the scores of any rows (0 where no query term occurs): what hybrid fusion reads of a keyword index."""

    def __init__(self, rows: np.ndarray, scores: np.ndarray, score_rows: Callable[[np.ndarray], np.ndarray]) -> None:
        self.rows = rows
        self.scores = scores
        self._score_rows = score_rows

    def of(self, rows: np.ndarray) -> np.ndarray:
        return self._score_rows(np.asarray(rows, dtype=np.int64))

    @classmethod
    def from_scores(cls, scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> "KeywordHits":
        """The hits of a score for every chunk: the ``k`` best positive ones, within ``allowed`` if given."""
        if allowed is not None:
            masked = np.zeros_like(scores)
            masked[allowed] = scores[allowed]
            scores = masked
        top = np.argsort(-scores, kind="stable")[:k]
        top = top[scores[top] > 0]
        return cls(top.astype(np.int64), scores[top], lambda rows: scores[rows])


class KeywordIndex:
    """BM25 (bm25s) over analysed chunk texts, in the build folder; scores for all chunks, filtered by a mask."""

    def __init__(self, retriever: bm25s.BM25, analyzer: Analyzer | None = None) -> None:
        self._bm25 = retriever
        self._analyze = analyzer or Analyzer()

    @classmethod
    def build(cls, texts: Sequence[str]) -> "KeywordIndex":
        analyzer = Analyzer()
        tokens = [analyzer(t) or ["<empty>"] for t in texts]
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index(tokens, show_progress=False)
        return cls(retriever, analyzer)

    def analyze(self, text: str) -> list[str]:
        return self._analyze(text)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros when no term is known)."""
        vocab = self._bm25.vocab_dict
        terms = [t for t in self._analyze(query) if t in vocab]
        n = int(self._bm25.scores["num_docs"])
        if not terms:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> KeywordHits:
        """The ``k`` best chunks for ``query`` (within the rows ``allowed``, when given)."""
        return KeywordHits.from_scores(self.scores(query), k, allowed)

    def known_terms(self, query: str) -> tuple[list[str], list[str]]:
        """The query's terms, and those of them that occur in the corpus."""
        terms = self._analyze(query)
        vocab = self._bm25.vocab_dict
        return terms, [t for t in terms if t in vocab]

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder))

    @classmethod
    def load(cls, folder: Path) -> "KeywordIndex":
        return cls(bm25s.BM25.load(str(folder), mmap=False))

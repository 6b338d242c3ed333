"""Keyword search: BM25 (bm25s) over the French analyser of ``rag.text.analysis``.

The only module that imports ``bm25s``'s index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import bm25s
import numpy as np

from rag.text.analysis import Analyzer


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

    @property
    def vocabulary(self) -> Mapping[str, int]:
        """The corpus's terms (as the analyser gives them), each with its column in the index."""
        return self._bm25.vocab_dict

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder))

    @classmethod
    def load(cls, folder: Path) -> "KeywordIndex":
        return cls(bm25s.BM25.load(str(folder), mmap=False))

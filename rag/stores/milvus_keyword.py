"""Keyword search in Milvus: BM25 full-text search over the build's collection, with the engine's French analyser.

Each row of the collection (``rag.stores.milvus``) holds ``terms``: its keyword text as ``rag.text.analysis.Analyzer``
gives it (elisions split, French and English stop words dropped, Snowball French stems, accents folded, document symbols
kept whole), joined by spaces. Milvus splits them again on whitespace and computes the BM25 sparse vector itself, so
questions and passages are analysed exactly as with bm25s and both stores score keywords alike (same k1 and b, scores
brought to bm25s's scale; Milvus's own analysers have no elision filter and no symbol handling, see
``french_analyzer``).

Which of a question's terms the corpus knows (the keyword side's weight in fusion, the abstention's coverage)
comes from the build folder's ``keyword/vocabulary.tsv``: each term and the number of chunks holding it, updated
with the rows an incremental build inserts and deletes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable

import numpy as np

from rag.stores.bm25 import KeywordHits
from rag.stores.milvus import BM25, MilvusVectors
from rag.text.analysis import Analyzer

VOCABULARY = "vocabulary.tsv"
MAX_LIMIT = 16384  # the most hits one Milvus search returns
SCALE = 1.0 / (1.0 + BM25["bm25_k1"])  # Milvus's BM25 carries the factor (k1 + 1) that bm25s's leaves out


def terms_text(analyzer: Analyzer, text: str) -> str:
    """What a row's ``terms`` field holds for a keyword text."""
    return " ".join(analyzer(text))


def term_counts(term_texts: Iterable[str]) -> Counter:
    """Per term, how many of the texts hold it."""
    counts: Counter = Counter()
    for t in term_texts:
        counts.update(set(t.split()))
    return counts


class MilvusKeyword:
    """The ``rag.stores.bm25.KeywordIndex`` calls, answered by the collection of ``vectors``."""

    def __init__(self, vectors: MilvusVectors, vocabulary: dict[str, int], analyzer: Analyzer | None = None) -> None:
        self._vectors = vectors
        self.vocabulary = {t: n for t, n in vocabulary.items() if n > 0}
        self._analyze = analyzer or Analyzer()

    def analyze(self, text: str) -> list[str]:
        return self._analyze(text)

    def known_terms(self, query: str) -> tuple[list[str], list[str]]:
        """The query's terms, and those of them that occur in the corpus."""
        terms = self._analyze(query)
        return terms, [t for t in terms if t in self.vocabulary]

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> KeywordHits:
        """The ``k`` best chunks for ``query`` by Milvus's BM25 (within the rows ``allowed``, when given)."""
        terms = " ".join(self.known_terms(query)[1])
        store = self._vectors
        if not terms or k <= 0 or (allowed is not None and not len(allowed)):
            return KeywordHits(np.zeros(0, np.int64), np.zeros(0, np.float32),
                               lambda rows: np.zeros(len(rows), np.float32))
        # Twice as many as asked, so that equal scores at the k-th place are cut by row, as bm25s's stable sort
        # cuts them, not by the server's order.
        rows, scores = store.hits(terms, "sparse", "BM25", min(MAX_LIMIT, 2 * k + 10), store.where(allowed))
        order = np.lexsort((rows, -scores))[:k]
        rows, scores = rows[order], scores[order] * SCALE
        known = dict(zip(rows.tolist(), scores.tolist()))

        def score_rows(wanted: np.ndarray) -> np.ndarray:
            missing = np.array(sorted({int(r) for r in wanted} - set(known)), dtype=np.int64)
            if len(missing):  # the candidates dense search found: their BM25 scores, in one filtered search
                got_rows, got_scores = store.hits(terms, "sparse", "BM25", len(missing), store.where(missing))
                known.update(dict.fromkeys(missing.tolist(), 0.0))
                known.update(zip(got_rows.tolist(), (got_scores * SCALE).tolist()))
            return np.array([known[int(r)] for r in wanted], dtype=np.float32)

        return KeywordHits(rows, scores, score_rows)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / VOCABULARY).write_text("".join(f"{t}\t{n}\n" for t, n in sorted(self.vocabulary.items())),
                                         encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, vectors: MilvusVectors) -> "MilvusKeyword":
        vocabulary = {}
        for line in (folder / VOCABULARY).read_text(encoding="utf-8").splitlines():
            term, n = line.rsplit("\t", 1)
            vocabulary[term] = int(n)
        return cls(vectors, vocabulary)


def french_analyzer(stopwords) -> dict:
    """Milvus's own analyser configured for French, measured against the engine's by ``python -m eval.bench
    --scale``: words, lowercase, accents folded, ``stopwords`` (accent-free) and elided articles dropped, Snowball
    French stems (Milvus has no elision filter; its standard tokenizer splits ``l'intelligence`` at the
    apostrophe, and the stop list drops the ``l``)."""
    elided = ["l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu"]
    return {"tokenizer": "standard",
            "filter": ["lowercase", "asciifolding", {"type": "stop", "stop_words": sorted({*stopwords, *elided})},
                       {"type": "stemmer", "language": "french"}]}

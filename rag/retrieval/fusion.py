"""Rank fusion as pure functions: ranks, the weighted reciprocal rank fusion of the hybrid ranking, the
per-document cap, and the names a question may use for a document."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from rag.text.folding import fold

PER_DOCUMENT = 3  # at most this many passages of one document in the first HEAD, unless the question names it
HEAD = 5


def diversify(doc_of: list[str], caps: dict[str, int], head: int = HEAD) -> np.ndarray:
    """A reordering of a ranking (``doc_of``: the document of each entry, best first) in which no
    document holds more of the first ``head`` places than ``caps`` allows it (default
    ``PER_DOCUMENT``); the entries that made way follow, and everything after keeps its order."""
    first, rest, count = [], [], {}
    for i, doc in enumerate(doc_of):
        if len(first) < head and count.get(doc, 0) < caps.get(doc, PER_DOCUMENT):
            first.append(i)
            count[doc] = count.get(doc, 0) + 1
        else:
            rest.append(i)
    return np.array(first + rest, dtype=np.int64)


def fold_words(text: str) -> str:
    """Lower case, no accents, words separated by single spaces (for matching names in a question)."""
    return " ".join(re.findall(r"[\w/.\-]+", fold(text))).replace(". ", " ").strip(".")


@lru_cache(maxsize=4096)
def document_names(doc_id: str, title: str, keywords: str) -> tuple[str, ...]:
    """The folded names a question may use for a document: its id, title, and keywords that look like names."""
    names = [doc_id, title] + [k for k in keywords.split(",")
                               if len(k.strip()) >= 3 and any(c.isupper() or c.isdigit() for c in k)]
    return tuple(n for n in (fold_words(x) for x in names) if n)


def ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, best (largest) first; ties share the better rank order by position."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


def fuse(dense: np.ndarray, sentence: np.ndarray, keyword: np.ndarray, *, dense_weight: float,
         sentence_weight: float, rrf_k: int) -> np.ndarray:
    """Weighted reciprocal rank fusion of three rankings of the same candidates: the chunk's dense similarity,
    its best sentence's, and its BM25 score (a candidate without any query term, score 0, gets nothing from
    that side). ``dense_weight`` goes to the two dense sides, split by ``sentence_weight``; the rest to BM25."""
    return fuse_ranks(ranks(dense), ranks(sentence), keyword_ranks(keyword), dense_weight=dense_weight,
                      sentence_weight=sentence_weight, rrf_k=rrf_k)


def keyword_ranks(keyword: np.ndarray) -> np.ndarray:
    """The BM25 ranks of candidates (:func:`ranks`), 0 for a candidate with no query term (score 0: unranked)."""
    return np.where(keyword > 0, ranks(keyword), 0.0)


def fuse_ranks(dense_rank: np.ndarray, sentence_rank: np.ndarray, keyword_rank: np.ndarray, *, dense_weight: float,
               sentence_weight: float, rrf_k: int) -> np.ndarray:
    """:func:`fuse` of ranks already computed (a keyword rank of 0: no query term, nothing from that side);
    the ranker keeps them to explain a passage (``rag.answering.explain``)."""
    w, sw, k = dense_weight, sentence_weight, rrf_k
    keyword_part = np.divide(1.0, k + keyword_rank, out=np.zeros(len(keyword_rank)), where=keyword_rank > 0)
    return w * (1 - sw) / (k + dense_rank) + w * sw / (k + sentence_rank) + (1 - w) * keyword_part

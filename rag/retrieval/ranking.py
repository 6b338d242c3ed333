"""Ranking the index's passages for one question: the candidates of dense and keyword search, fused.

Hybrid ranking fuses three rankings of the candidates with weighted reciprocal rank fusion: dense similarity
of the chunk, BM25 of the chunk, and dense similarity of the chunk's best sentence; the keyword side's weight
follows its evidence for the question (:meth:`Ranker.keyword_evidence`). Outside a search restricted to
chosen documents, no document holds more than its share of the first places (``rag.retrieval.fusion``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rag.index.folder import IndexData
from rag.retrieval.fusion import (
    HEAD,
    PER_DOCUMENT,
    diversify,
    document_names,
    fold_words,
    fuse_ranks,
    keyword_ranks,
    ranks,
)
from rag.settings import Settings
from rag.text import countries, glossary
from rag.text.glossary import Glossary
from rag.text.question import Query

# A passage that does not name the country a question names has its fused score multiplied by this: on the tune
# half, R@5 0.880 → 0.891 and MRR@10 0.781 → 0.786 at 0.5 (0.4 to 0.6 give the same; R@1 0.710 at each).
COUNTRY_WEIGHT = 0.5


@dataclass(frozen=True)
class Ranked:
    """A chunk in a ranking: its row, fused score and the scores it was fused from, with the ranks (1-based, among
    the ``pool`` candidates ranked) each score gave it, and ``fused_rank``, its rank by the fused score before the
    per-document cap (0: that side did not rank it; keyword: no query term in the chunk); ``note_weight``, for a
    footnote ranked by hybrid search, what its fused score was multiplied by (0: not weighed); ``unnamed``, the
    countries the question names that the passage does not (:meth:`Ranker.place`; in hybrid search its fused score
    is then multiplied by ``COUNTRY_WEIGHT``)."""

    row: int
    score: float
    dense: float
    keyword: float
    sentence: float
    dense_rank: int = 0
    keyword_rank: int = 0
    sentence_rank: int = 0
    fused_rank: int = 0
    pool: int = 0
    note_weight: float = 0.0
    unnamed: tuple[str, ...] = ()


class Ranker:
    """Ranks the passages of one index for a question (:meth:`rank`): what the retriever asks of retrieval.

    Reads the loaded index, the settings and the glossary it is given, and nothing of its caller.
    """

    def __init__(self, index: IndexData, settings: Settings, glossary: Glossary) -> None:
        self.index = index
        self.settings = settings
        self.glossary = glossary
        self._doc_of = [c.doc_id for c in index.chunks]
        doc_of_chunk = np.array(self._doc_of)
        self.documents = {d.doc_id: d for d in index.documents}
        self.doc_rows = {d.doc_id: np.flatnonzero(doc_of_chunk == d.doc_id).astype(np.int64) for d in index.documents}
        # the passages that are footnotes (after their document's body: rag.text.cleaning)
        self.note_rows = np.array([_in_notes(index, c) for c in index.chunks], dtype=bool)
        # each chunk's sentence rows, flat: chunk r's are _flat[_first[r]:_first[r] + _count[r]]
        self._count = np.array([len(s) for s in index.sentence_rows], dtype=np.int64)
        self._first = np.concatenate([[0], np.cumsum(self._count)[:-1]]).astype(np.int64)
        self._flat = np.fromiter((r for s in index.sentence_rows for r in s), dtype=np.int64,
                                 count=int(self._count.sum()))
        # what does not depend on the question, once: each document's body passages, its names
        body = ~self.note_rows
        self._body_total = max(1, int(body.sum()))
        self._body_count = {d: int(body[rows].sum()) for d, rows in self.doc_rows.items()}
        self._names = {d.doc_id: document_names(d.doc_id, d.title, d.keywords) for d in index.documents}
        self._named: dict[tuple[int, str], bool] = {}  # (row, country): whether the passage names the country

    def rank(self, query: Query, qv: np.ndarray | None, mode: str, allowed: np.ndarray | None,
              n: int) -> list[Ranked]:
        data, s = self.index, self.settings
        n_cand = max(s.candidates, n)
        cand: dict[int, None] = {}
        if mode in ("dense", "hybrid"):
            rows, _ = data.vectors.search(qv, n_cand, allowed)
            cand.update(dict.fromkeys(rows.tolist()))
        hits = None
        english = query.english
        if mode in ("keyword", "hybrid"):
            hits = data.keyword.search(query.keyword_text, n_cand, allowed)
            cand.update(dict.fromkeys(hits.rows.tolist()))
        rows = np.fromiter(cand, dtype=np.int64, count=len(cand))
        if not len(rows):
            return []
        kws = hits.of(rows) if hits is not None else np.zeros(len(rows), np.float32)
        if qv is not None:
            dense = data.vectors.reconstruct(rows) @ qv
            sent = self.best_sentences(rows, qv)[1]
        else:
            dense = sent = np.zeros(len(rows), np.float32)
        zeros = np.zeros(len(rows))
        unnamed = [self.unnamed(query.countries, r) for r in rows.tolist()] if query.countries else [()] * len(rows)
        dense_rank = ranks(dense) if qv is not None else zeros
        sent_rank = ranks(sent) if qv is not None else zeros
        kw_rank = keyword_ranks(kws)
        if mode == "dense":
            score = dense
        elif mode == "keyword":
            score = kws
        else:
            w = 1.0 - (1.0 - (s.dense_weight_en if english else s.dense_weight)) * self.keyword_evidence(query)
            sw, k = s.sentence_weight, s.rrf_k
            score = fuse_ranks(dense_rank, sent_rank, kw_rank, dense_weight=w, sentence_weight=sw, rrf_k=k)
            score = np.where(self.note_rows[rows], score * s.note_weight, score)  # a footnote counts less
            score = np.where([bool(u) for u in unnamed], score * COUNTRY_WEIGHT, score)  # and one not naming a
            # country the question names
        order = np.lexsort((rows, -score))
        fused_rank = np.empty(len(rows), dtype=np.int64)
        fused_rank[order] = np.arange(1, len(rows) + 1)
        if allowed is None:  # a search restricted to chosen documents is theirs to fill
            doc_of = [self._doc_of[r] for r in rows[order].tolist()]
            order = order[diversify(doc_of, self.document_caps(query, set(doc_of)))]
        order = order[:n]
        weighed = s.note_weight if mode == "hybrid" else 0.0
        return [Ranked(int(rows[i]), float(score[i]), float(dense[i]), float(kws[i]), float(sent[i]),
                       int(dense_rank[i]), int(kw_rank[i]), int(sent_rank[i]), int(fused_rank[i]), len(rows),
                       weighed if self.note_rows[rows[i]] else 0.0, unnamed[i])
                for i in order]

    def unnamed(self, countries_: tuple[str, ...], row: int) -> tuple[str, ...]:
        """The ``countries_`` that a passage's :meth:`place` does not name (``countries.unnamed``; each answer
        kept for the index's life)."""
        out = []
        for country in countries_:
            named = self._named.get((row, country))
            if named is None:
                named = self._named[row, country] = countries.names(self.place(row), country)
            if not named:
                out.append(country)
        return tuple(out)

    def place(self, row: int) -> str:
        """Where a passage names things: its document's title and body (« Soumis au nom des États-Unis »), its section
        path and its text; not its document's keywords, other names users give it, among them its publisher's
        (« Institut français des relations internationales » names no country the study speaks of)."""
        chunk = self.index.chunks[row]
        doc = self.documents[chunk.doc_id]
        return "\n".join([doc.title, doc.body, " > ".join(chunk.section), chunk.text])

    def document_caps(self, query: Query, docs: set[str]) -> dict[str, int]:
        """How many of the first ``HEAD`` places each of ``docs`` may hold: ``PER_DOCUMENT``, or
        its share of the index's passages if larger (a document that is most of the corpus is most
        of the answers), and no limit for a document the question names."""
        named = self.named_documents(query)
        # a document's share: of the body passages (its footnotes do not widen it)
        share = {d: math.ceil(HEAD * self._body_count[d] / self._body_total) for d in docs}
        return {d: HEAD if d in named else max(PER_DOCUMENT, share[d]) for d in docs}

    def named_documents(self, query: Query) -> set[str]:
        """The documents a question names: by id, by a name of its metadata ``keywords`` that is a
        proper name or an acronym (« Ifri », « REAIM 2026 », « A/RES/79/239 »), or by its whole title."""
        folded = f" {fold_words(query.text)} "
        return {d.doc_id for d in self.index.documents if any(f" {name} " in folded for name in self._names[d.doc_id])}

    def keyword_evidence(self, query: Query) -> float:
        """How far the keyword side of hybrid fusion can be trusted for this question, 0 to 1.

        French: the share of the question's terms that the keyword index knows, full from
        ``settings.keyword_full_share``. English: the share of its content words that reach
        French text (glossary phrases, acronyms, numbers; ``glossary.coverage``): without them
        BM25 only matches leftover English words, and would pull the fusion down.
        """
        if query.english:
            return glossary.coverage(query.text, self.glossary)
        terms, known = self.index.keyword.known_terms(query.keyword_text)
        if not terms:
            return 0.0
        return min(1.0, len(known) / len(terms) / self.settings.keyword_full_share)

    def best_sentences(self, rows: np.ndarray, qv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Of each chunk of ``rows``, the place of its most similar sentence to ``qv`` (-1: none) and its similarity
        (float32; -1 for none). The chunks with as many sentences are taken together, a product per chunk within one
        ``matmul`` (one matrix-vector product each, as the chunk alone would get: the same floats)."""
        rows = np.asarray(rows, dtype=np.int64)
        place = np.full(len(rows), -1, dtype=np.int64)
        best = np.full(len(rows), -1.0, dtype=np.float32)
        counts = self._count[rows]
        for k in np.unique(counts).tolist():
            if not k:
                continue
            sel = np.flatnonzero(counts == k)
            sims = self.index.sentence_vectors[self._flat[self._first[rows[sel]][:, None] + np.arange(k)]] @ qv
            place[sel] = sims.argmax(axis=1)
            best[sel] = sims.max(axis=1)
        return place, best


def _in_notes(index: IndexData, chunk) -> bool:
    """Whether a passage is one of its document's footnotes."""
    clean = index.clean.get(chunk.doc_id)
    return clean is not None and clean.notes_start is not None and chunk.clean_start >= clean.notes_start

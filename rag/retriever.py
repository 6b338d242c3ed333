"""The retriever: hybrid search over the index and extractive answers.

Hybrid ranking fuses three rankings of the candidates with weighted reciprocal
rank fusion: dense similarity of the chunk, BM25 of the chunk, and dense
similarity of the chunk's best sentence. An answer quotes 1 to 3 of the
best-scoring sentences of the top passages verbatim, or abstains when the
confidence of ``rag.abstention`` is under the calibrated threshold.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from . import abstention
from .cleaning import CleanDoc, clean_document
from .glossary import french_terms
from .keyword import looks_english
from .corpus import load_corpus, scan_corpus
from .settings import MODES, Settings
from .store import IndexData, open_index
from .types import Answer, DocumentInfo, Passage, Sentence

log = logging.getLogger("rag")

MAX_QUESTION_CHARS = 2000
MAX_K = 50
SENTENCE_MARGIN = 0.02  # answer sentences score within this of the best one
ANSWER_FROM = 3  # answer sentences come from the top passages only
MIN_ANSWER_WORDS = 8
STATEMENT_END = ".!?;:,…"  # after closing quotes and brackets
KEYWORD_BONUS = 0.05  # added to a sentence's similarity, times the share of the question's keywords it holds
RANK_BONUS = 0.01  # added to the sentences of the best passage


class QueryError(ValueError):
    """A question or an option the engine cannot take; the message says what is allowed."""


def normalize_question(question) -> str:
    """The question with control characters removed and spaces folded.

    Raises:
        QueryError: not a string, empty, or longer than ``MAX_QUESTION_CHARS``.
    """
    if not isinstance(question, str):
        raise QueryError(f"the question must be text, not {type(question).__name__}")
    kept = "".join(ch if unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn") else " " for ch in question)
    text = " ".join(kept.split())
    if not any(unicodedata.category(ch)[0] in "LNPS" for ch in text):  # only spaces or invisible marks
        raise QueryError("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise QueryError(f"the question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}")
    return text


@dataclass(frozen=True)
class _Candidate:
    row: int
    score: float
    dense: float
    keyword: float
    sentence: float


class Retriever:
    """Search and answer over one index. Safe to share between threads."""

    def __init__(self, data: IndexData, embedder, settings: Settings) -> None:
        self.settings = settings
        self.embedder = embedder
        self._data = data
        self.documents: list[DocumentInfo] = list(data.documents)
        self._docs = {d.doc_id: d for d in data.documents}
        doc_of_chunk = np.array([c.doc_id for c in data.chunks])
        self._doc_rows = {d: np.flatnonzero(doc_of_chunk == d).astype(np.int64) for d in self._docs}
        self._clean_lock = threading.Lock()
        self._clean: dict[str, CleanDoc] = {}

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, rebuild: bool = False, progress: bool = False,
                      **overrides) -> "Retriever":
        """Load the index for the configured corpus, building it first if needed.

        Args:
            settings: defaults to ``Settings.from_env()`` (``RAG_*`` variables).
            rebuild: build even if a valid index exists.
            progress: show progress bars while building.
            **overrides: settings fields to change.
        """
        settings = (settings or Settings.from_env()).replace(**overrides)
        data, embedder = open_index(settings, rebuild=rebuild, progress=progress)
        return cls(data, embedder, settings)

    # ----------------------------------------------------------------- info
    @property
    def manifest(self) -> dict:
        return dict(self._data.manifest)

    @property
    def index_folder(self) -> Path:
        return self._data.folder

    def info(self) -> dict:
        """Documents, chunks, embedder and index size, for ``python -m rag info`` and the app."""
        size = sum(p.stat().st_size for p in self._data.folder.rglob("*") if p.is_file())
        m = self._data.manifest
        return {
            "index": str(self._data.folder),
            "created": m.get("created"),
            "embedder": m.get("embedder"),
            "vector_index": m.get("vector_index"),
            "documents": len(self.documents),
            "chunks": len(self._data.chunks),
            "sentences": m.get("counts", {}).get("sentences"),
            "bytes": size,
            "settings": m.get("settings"),
            "skipped": [{"file": name, "reason": why} for name, why in scan_corpus(self.settings.corpus_dir)[1]],
        }

    def clean_document(self, doc_id: str) -> CleanDoc:
        """The clean text of a document with its map to file offsets (cached)."""
        self._check_docs([doc_id])
        with self._clean_lock:
            if doc_id not in self._clean:
                doc = next(d for d in load_corpus(self.settings.corpus_dir) if d.doc_id == doc_id)
                self._clean[doc_id] = clean_document(doc.text)
            return self._clean[doc_id]

    # ---------------------------------------------------------------- checks
    def _check_docs(self, docs: Iterable[str]) -> list[str]:
        if isinstance(docs, str):
            docs = [docs]
        try:
            docs = list(docs)
        except TypeError:
            raise QueryError(f"docs must be a list of document ids, not {type(docs).__name__}") from None
        unknown = [d for d in docs if not isinstance(d, str) or d not in self._docs]
        if unknown:
            raise QueryError(f"unknown document id(s): {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(sorted(self._docs))}")
        return docs

    def _check(self, k, mode, docs) -> np.ndarray | None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
            raise QueryError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
        if mode not in MODES:
            raise QueryError(f"mode must be one of {', '.join(repr(m) for m in MODES)}, got {mode!r}")
        if docs is None:
            return None
        docs = self._check_docs(docs)
        if not docs:
            raise QueryError("docs, when given, must name at least one document")
        return np.sort(np.concatenate([self._doc_rows[d] for d in docs]))

    # --------------------------------------------------------------- ranking
    def _rank(self, question: str, qv: np.ndarray | None, mode: str, allowed: np.ndarray | None,
              n: int) -> list[_Candidate]:
        data, s = self._data, self.settings
        n_cand = max(s.candidates, n)
        cand: dict[int, None] = {}
        if mode in ("dense", "hybrid"):
            rows, _ = data.vectors.search(qv, n_cand, allowed)
            cand.update(dict.fromkeys(rows.tolist()))
        kw = None
        english = looks_english(question)
        if mode in ("keyword", "hybrid"):
            kw = data.keyword.scores(_keyword_query(question))
            if allowed is not None:
                masked = np.zeros_like(kw)
                masked[allowed] = kw[allowed]
                kw = masked
            top = np.argsort(-kw, kind="stable")[:n_cand]
            cand.update(dict.fromkeys(int(r) for r in top if kw[r] > 0))
        rows = np.fromiter(cand, dtype=np.int64, count=len(cand))
        if not len(rows):
            return []
        kws = kw[rows] if kw is not None else np.zeros(len(rows), np.float32)
        if qv is not None:
            dense = data.vectors.reconstruct(rows) @ qv
            sent = np.array([self._best_sentence(int(r), qv)[1] for r in rows], dtype=np.float32)
        else:
            dense = sent = np.zeros(len(rows), np.float32)
        if mode == "dense":
            score = dense
        elif mode == "keyword":
            score = kws
        else:
            w = s.dense_weight_en if english else s.dense_weight
            sw, k = s.sentence_weight, s.rrf_k
            score = (w * (1 - sw) / (k + _ranks(dense)) + w * sw / (k + _ranks(sent))
                     + (1 - w) * np.where(kws > 0, 1.0 / (k + _ranks(kws)), 0.0))
        order = np.lexsort((rows, -score))[:n]
        return [_Candidate(int(rows[i]), float(score[i]), float(dense[i]), float(kws[i]), float(sent[i]))
                for i in order]

    def _best_sentence(self, row: int, qv: np.ndarray) -> tuple[int, float]:
        srows = self._data.sentence_rows[row]
        if not srows:
            return -1, -1.0
        sims = self._data.sentence_vectors[list(srows)] @ qv
        i = int(np.argmax(sims))
        return i, float(sims[i])

    def _passage(self, cand: _Candidate, highlights=()) -> Passage:
        ch = self._data.chunks[cand.row]
        doc = self._docs[ch.doc_id]
        return Passage(doc_id=ch.doc_id, title=doc.title, section=" > ".join(ch.section), start=ch.start,
                       end=ch.end, text=ch.text, score=round(cand.score, 6), chunk_id=ch.chunk_id, body=doc.body,
                       date=doc.date, highlights=tuple(highlights))

    # ---------------------------------------------------------------- public
    def search(self, question: str, k: int = 5, mode: str = "hybrid", docs: Iterable[str] | None = None) -> list[Passage]:
        """The ``k`` passages that best match ``question``, best first.

        Args:
            question: in French or English, up to ``MAX_QUESTION_CHARS`` characters.
            k: number of passages, 1 to ``MAX_K``.
            mode: ``hybrid`` (default), ``dense`` or ``keyword``.
            docs: restrict the search to these document ids.

        Raises:
            QueryError: bad question or option; the message says what is allowed.
        """
        question = normalize_question(question)
        allowed = self._check(k, mode, docs)
        qv = self.embedder.encode_queries([question])[0] if mode != "keyword" else None
        return [self._passage(c) for c in self._rank(question, qv, mode, allowed, k)]

    def answer(self, question: str, k: int = 5, mode: str = "hybrid", docs: Iterable[str] | None = None) -> Answer:
        """Passages for ``question`` and an extractive answer quoted from them, or an abstention.

        The answer is 1 to ``settings.answer_sentences`` sentences quoted verbatim
        from the top passages, each with the index of its passage. ``abstained``
        is true when the confidence is under ``settings.abstain_threshold``; the
        passages are still returned (the nearest ones), the sentences are not.
        """
        question = normalize_question(question)
        allowed = self._check(k, mode, docs)
        qv = self.embedder.encode_queries([question])[0]
        cands = self._rank(question, qv, mode, allowed, k)
        if not cands:
            return Answer(question, True, 0.0, (), (), mode)

        # Score every sentence of the returned passages: its similarity to the question, plus a bonus
        # for the question's keywords it holds and for standing in the best passage.
        keyword = self._data.keyword
        terms = set(keyword.analyze(_keyword_query(question)))
        scored: list[tuple[float, int, int, int]] = []  # (score, passage index, clean a, clean b)
        for i, c in enumerate(cands):
            ch = self._data.chunks[c.row]
            srows = list(self._data.sentence_rows[c.row])
            if not srows:
                continue
            sims = self._data.sentence_vectors[srows] @ qv
            for (a, b), sim in zip(ch.sentences, sims):
                words = set(keyword.analyze(ch.text[a - ch.clean_start:b - ch.clean_start]))
                overlap = len(terms & words) / len(terms) if terms else 0.0
                scored.append((float(sim) + KEYWORD_BONUS * overlap + (RANK_BONUS if i == 0 else 0.0), i, a, b))
        confidence = self.confidence(question, qv, cands)
        best_in_passage: dict[int, tuple[float, int, int]] = {}
        for sim, i, a, b in scored:
            if i not in best_in_passage or sim > best_in_passage[i][0]:
                best_in_passage[i] = (sim, a, b)

        chosen: list[tuple[float, int, int, int]] = []
        pool = [x for x in scored if x[1] < ANSWER_FROM]
        # A quoted answer is a statement: fragments (a date line, a heading-like line) only if nothing else.
        full = [x for x in pool if self._is_statement(cands[x[1]].row, x[2], x[3])]
        pool = sorted(full or pool, key=lambda x: (-x[0], x[1], x[2]))
        seen: set[tuple[str, int]] = set()
        for sim, i, a, b in pool:
            if len(chosen) >= self.settings.answer_sentences:
                break
            if chosen and sim < chosen[0][0] - SENTENCE_MARGIN:
                break
            key = (self._data.chunks[cands[i].row].doc_id, a)
            if key in seen:
                continue
            seen.add(key)
            chosen.append((sim, i, a, b))

        highlights: dict[int, set[tuple[int, int]]] = {i: {(a, b)} for i, (_, a, b) in best_in_passage.items()}
        for _, i, a, b in chosen:
            highlights.setdefault(i, set()).add((a, b))
        passages = []
        for i, c in enumerate(cands):
            ch = self._data.chunks[c.row]
            spans = sorted((a - ch.clean_start, b - ch.clean_start) for a, b in highlights.get(i, ()))
            passages.append(self._passage(c, spans))

        abstained = confidence < self.settings.abstain_threshold
        sentences = () if abstained else tuple(self._sentence(passages, cands, sim, i, a, b) for sim, i, a, b in chosen)
        return Answer(question, abstained, round(confidence, 4), sentences, tuple(passages), mode)

    def _is_statement(self, row: int, a: int, b: int) -> bool:
        """A whole sentence of some length (not a fragment cut by the passage's edge, nor a date line)."""
        ch = self._data.chunks[row]
        text = ch.text[a - ch.clean_start:b - ch.clean_start].strip()
        closed = text.rstrip("»)]\"”’ \u00a0")
        return (len(text.split()) >= MIN_ANSWER_WORDS and closed[-1:] in tuple(STATEMENT_END)
                and not text[0].islower())

    def _sentence(self, passages: list[Passage], cands: list[_Candidate], sim: float, i: int, a: int, b: int) -> Sentence:
        clean_start = self._data.chunks[cands[i].row].clean_start
        pa, pb = a - clean_start, b - clean_start
        start, end = self.file_offsets(passages[i], pa, pb)
        return Sentence(text=passages[i].text[pa:pb], passage=i, start=start, end=end, score=round(sim, 6),
                        passage_start=pa, passage_end=pb)

    def file_offsets(self, passage: Passage, start: int, end: int) -> tuple[int, int]:
        """File offsets of ``passage.text[start:end]`` (for citing a highlight, say); ``end > start``."""
        doc = self.clean_document(passage.doc_id)
        base = doc.to_clean(passage.start, passage.end)[0]
        return doc.to_file(base + start, base + end)

    def features(self, question: str, k: int = 10, mode: str = "hybrid") -> dict[str, float]:
        """The abstention signals for ``question`` (what ``python -m eval --calibrate`` fits)."""
        question = normalize_question(question)
        self._check(k, mode, None)
        qv = self.embedder.encode_queries([question])[0]
        return self.abstention_features(question, qv, self._rank(question, qv, mode, None, k))

    def confidence(self, question: str, qv: np.ndarray, cands: list[_Candidate]) -> float:
        """Confidence in [0, 1] that the corpus answers ``question`` (see ``rag.abstention``)."""
        features = self.abstention_features(question, qv, cands)
        return abstention.confidence(features, self.settings.abstain_model, self.settings.abstain_bias)

    def abstention_features(self, question: str, qv: np.ndarray, cands: list[_Candidate]) -> dict[str, float]:
        """The signals ``rag.abstention`` weighs, for a question and its ranked candidates."""
        keyword = self._data.keyword
        terms, known = keyword.known_terms(question)
        near: set[str] = set()
        for c in cands[:3]:
            near.update(keyword.analyze(self._data.chunks[c.row].text))
        return {
            "top_dense": max((c.dense for c in cands), default=0.0),
            "best_sentence": max((c.sentence for c in cands), default=0.0),
            "coverage": len(known) / len(terms) if terms else 0.0,
            "passage_coverage": sum(t in near for t in terms) / len(terms) if terms else 0.0,
            "english": float(looks_english(question)),
        }


def _keyword_query(question: str) -> str:
    """What keyword search looks for: the question, plus French terms for an English one."""
    return f"{question} {french_terms(question)}" if looks_english(question) else question


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, best (largest) first; ties share the better rank order by position."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks

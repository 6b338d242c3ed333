"""The retriever: hybrid search over the index and extractive answers.

Passages are ranked by ``rag.retrieval.ranking`` (dense, keyword and best-sentence rankings fused). An answer quotes
verbatim 1 to 3 sentences of the returned passages that ``rag.answering.extraction`` judges to answer the question,
or says that the corpus is about the question but does not answer it (``related``, as when the question names what
no document or passage does: ``rag.answering.constraints``), or that it is not about it (``off_topic``).
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

import numpy as np

from rag.answering import abstention, candidates, constraints, explain, messages, phrases
from rag.answering import extraction as answering
from rag.answering.shown import ANSWER_FROM, shown_passages
from rag.core.types import Answer, DocumentInfo, Passage, Sentence
from rag.corpus.freshness import CorpusWatch
from rag.corpus.readers import page_span
from rag.index.build import open_index
from rag.index.folder import IndexData
from rag.index.texts import keyword_text
from rag.index.uploads import merge_index
from rag.retrieval.ranking import Ranked, Ranker
from rag.retrieval.request import MAX_K, QueryError, fit_question, normalize_question, shown
from rag.settings import MODES, Settings
from rag.stores.registry import store_info
from rag.text import glossary
from rag.text.cleaning import CleanDoc
from rag.text.question import Query, analyze

log = logging.getLogger("rag")

# The topic signals are read on this many ranked passages, however many are shown (the number they are calibrated
# on: eval.calibrate.features): whether the corpus deals with a question does not depend on the passages asked for.
TOPIC_POOL = 10
ANSWER_MARGIN = 0.25  # further quoted sentences have a probability within this of the first one
# Questions are embedded here while analysed; a thread per caller, so concurrent ones meet in one forward pass.
_EMBEDDING = ThreadPoolExecutor(max_workers=32, thread_name_prefix="rag-query")


class Retriever:
    """Search and answer over one index. Safe to share between threads."""

    def __init__(self, data: IndexData, embedder, settings: Settings) -> None:
        self.settings = settings
        self.embedder = embedder
        self.glossary = glossary.load_glossary(settings.glossary_file)
        self._data = data
        self.documents: list[DocumentInfo] = list(data.documents)
        self._docs = {d.doc_id: d for d in data.documents}
        self.ranker = Ranker(data, settings, self.glossary)
        self._watch = CorpusWatch(settings.corpus_dir, data.manifest.get("corpus", {}))
        self._context_terms = functools.lru_cache(maxsize=4096)(self._context)
        self._indexed = functools.lru_cache(maxsize=4096)(self._indexed_row)
        # a question asked again is not analysed again, as its vector is not embedded again (Settings.query_cache)
        self._analyze = functools.lru_cache(maxsize=settings.query_cache)(
            functools.partial(analyze, glossary=self.glossary))
        # what the answer step reads of a chunk's sentences whatever the question (rag.answering.candidates)
        self._sentence_facts = functools.lru_cache(maxsize=4096)(functools.partial(candidates.sentence_facts, data))

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

    def replace(self, *, settings: Settings | None = None, embedder=None) -> "Retriever":
        """A retriever over the same loaded index with other query-time settings or another embedder (for
        instance one that caches vectors). The index is shared, not copied.

        Raises:
            ValueError: ``settings`` differ in a field the index depends on (build another index instead).
        """
        settings = settings or self.settings
        changed = sorted(k for k, v in settings.index_settings().items() if self.settings.index_settings()[k] != v)
        if changed:
            raise ValueError(f"the index was built with other values of {', '.join(changed)}")
        return type(self)(self._data, embedder or self.embedder, settings)

    def with_documents(self, private: IndexData) -> "Retriever":
        """A retriever over this index and ``private``'s documents together (a session's uploads, see
        ``rag.index.uploads``), with this one's embedder and settings. This retriever and its index are unchanged.

        Raises:
            ValueError: ``private`` uses a document id this index has.
        """
        return type(self)(merge_index(self._data, private), self.embedder, self.settings)

    # ----------------------------------------------------------------- info
    @property
    def index(self) -> IndexData:
        """The loaded index (chunks, vectors, keyword index, clean texts), read only: for eval, benches and tests."""
        return self._data

    @property
    def manifest(self) -> dict:
        return dict(self._data.manifest)

    @property
    def index_folder(self) -> Path:
        return self._data.folder

    @property
    def chunks(self) -> tuple:
        """Every indexed chunk (``rag.text.chunking.Chunk``), in index order."""
        return tuple(self._data.chunks)

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
            "skipped": list(m.get("skipped", [])),
            "store": store_info(self.settings.store, self._data.vectors),
        }

    def clean_document(self, doc_id: str) -> CleanDoc:
        """The clean text of a document with its map to file offsets, as the index was built from it.

        Read from the index, never from the corpus folder: passages, highlights and the reader always agree,
        whatever happened to the files since (see ``corpus_changed``).
        """
        self._check_docs([doc_id])
        return self._data.clean[doc_id]

    def corpus_changed(self) -> list[str]:
        """The corpus files that differ from those the index was built from (empty: the index is current);
        see :class:`rag.corpus.freshness.CorpusWatch`. What is served stays the index's own text; the app says
        « index plus ancien que le corpus » until it is restarted (and rebuilds)."""
        return self._watch.changed()

    def fit_question(self, text: str) -> str:
        """``text`` cut to ``QUESTION_TOKENS`` of this index's embedder (see :func:`fit_question`).

        Everything after (question analysis, keyword search, embedding) reads only the cut question, which is
        also the ``question`` of the returned ``Answer``: a caller sees that it was cut by comparing it with
        what it sent.
        """
        return fit_question(text, self.embedder.count_tokens)

    # ---------------------------------------------------------------- checks
    def _check_docs(self, docs: Iterable[str]) -> list[str]:
        if isinstance(docs, str):
            docs = [docs]
        if isinstance(docs, (dict, bytes)) or not hasattr(docs, "__iter__"):
            raise QueryError(f"docs must be a list of document ids, not {type(docs).__name__}", "bad_docs")
        ids: list = []
        for d in docs:  # never more than one past the number of documents is read
            ids.append(d)
            if len(ids) > len(self._docs):
                raise QueryError(f"docs names more than the {len(self._docs)} documents of the index",
                                 "too_many_docs", str(len(self._docs)))
        if not all(isinstance(d, str) for d in ids):
            raise QueryError("docs must be a list of document ids (strings)", "bad_docs")
        unknown = [d for d in ids if d not in self._docs]
        if unknown:
            quoted = ", ".join(shown(d) for d in unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3
                                                                 else "")
            raise QueryError(f"unknown document id(s): {quoted}; known: {', '.join(sorted(self._docs))}",
                             "unknown_docs", quoted)
        return ids

    def _check(self, k, mode, docs) -> np.ndarray | None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
            raise QueryError(f"k must be a whole number from 1 to {MAX_K}, got {shown(k)}", "bad_k", shown(k))
        if not isinstance(mode, str) or mode not in MODES:
            raise QueryError(f"mode must be one of {', '.join(repr(m) for m in MODES)}, got {shown(mode)}",
                             "bad_mode", shown(mode))
        if docs is None:
            return None
        docs = self._check_docs(docs)
        if not docs:
            raise QueryError("docs, when given, must name at least one document (None means all)", "no_docs")
        return np.sort(np.concatenate([self.ranker.doc_rows[d] for d in dict.fromkeys(docs)]))

    def check(self, question, k: int = 5, mode: str = "hybrid", docs: Iterable[str] | None = None) -> str:
        """Validate a request without running it (the app refuses bad input before it is queued).

        Returns:
            The normalised question (before the token budget).

        Raises:
            QueryError: with its ``code``, as ``search`` and ``answer`` would.
        """
        text = normalize_question(question)
        self._check(k, mode, docs)
        return text

    def _passage(self, cand: Ranked, highlights=()) -> Passage:
        ch = self._data.chunks[cand.row]
        doc = self._docs[ch.doc_id]
        page, page_end = page_span(doc.pages, ch.start, ch.end)
        ocr = bool(page) and any(page <= n <= (page_end or page) for n in doc.ocr_pages)
        return Passage(doc_id=ch.doc_id, title=doc.title, section=" > ".join(ch.section), start=ch.start,
                       end=ch.end, text=ch.text, score=round(cand.score, 6), chunk_id=ch.chunk_id, body=doc.body,
                       date=doc.date, highlights=tuple(highlights), page=page, page_end=page_end, ocr=ocr,
                       status=doc.status)

    # ---------------------------------------------------------------- public
    def search(self, question: str, k: int = 5, mode: str = "hybrid",
               docs: Iterable[str] | None = None) -> list[Passage]:
        """The ``k`` passages that best match ``question``, best first.

        Args:
            question: in French or English, up to ``MAX_QUESTION_CHARS`` characters.
            k: number of passages, 1 to ``MAX_K``.
            mode: ``hybrid`` (default), ``dense`` or ``keyword``.
            docs: restrict the search to these document ids.

        Raises:
            QueryError: bad question or option; the message says what is allowed.
        """
        query = self._analyze(self.fit_question(normalize_question(question)))
        allowed = self._check(k, mode, docs)
        qv = self.embedder.encode_queries([query.text])[0] if mode != "keyword" else None
        return [self._passage(c) for c in self.ranker.rank(query, qv, mode, allowed, k)]

    def answer(self, question: str, k: int = 5, mode: str = "hybrid", docs: Iterable[str] | None = None) -> Answer:
        """Passages for ``question`` and the sentences of them that answer it, or an honest decline.

        The answer quotes 1 to ``settings.answer_sentences`` sentences verbatim
        from the top passages, each with the index of its passage, when one of
        them answers (see ``rag.answering.extraction``): ``status="answered"``. Otherwise the
        passages are still returned and ``status`` is ``related`` or
        ``off_topic``, with ``message`` saying so in French.
        """
        if docs is not None and not isinstance(docs, (str, list, tuple)):
            docs = self._check_docs(docs)  # an iterator is read once, here: the explanations name its documents
        query, qv, ranked = self._prepare(question, k, mode, docs)
        cands = ranked[:max(k, ANSWER_FROM)]  # the passages weighed, k of which are shown (rag.answering.shown)
        if not cands:
            return Answer(query.text, True, 0.0, (), (), mode, status=answering.OFF_TOPIC,
                          message=messages.OFF_TOPIC_MESSAGE, answer_type=query.answer_type, lang=query.lang)
        _, topic, scored = self._weigh(query, qv, ranked)
        s = self.settings
        best = scored[0] if scored else None
        refusal = messages.INSTRUCTION_MESSAGE if messages.is_instruction(query.text) else \
            messages.OTHER_LANGUAGE_MESSAGE if query.lang == "other" else ""
        absent = constraints.absent_names(query, self._data.keyword)  # what no document names: no sentence says it
        if refusal or topic < s.topic_threshold:
            status = answering.OFF_TOPIC
        elif best is not None and best.probability >= s.answer_threshold and not absent:
            status = answering.ANSWERED
        else:
            status = answering.RELATED
        chosen: list[answering.Candidate] = []
        if status == answering.ANSWERED:
            for c in scored:
                if len(chosen) >= s.answer_sentences or c.probability < max(s.answer_threshold,
                                                                             best.probability - ANSWER_MARGIN):
                    break
                chosen.append(c)
        raw = chosen[0].probability if chosen else (best.probability if best else 0.0)
        probability = answering.calibrate_probability(raw, s.answer_calibration)  # how often such answers were right
        level = answering.level(probability, s.confidence_high, s.confidence_medium)
        cands, scored, chosen, moved = shown_passages(cands, scored, chosen, k, answer_first=level != "low")

        # Highlight in each passage its most likely answering sentence, and every quoted one.
        highlights: dict[int, set[tuple[int, int]]] = {}
        for c in scored:
            if c.passage not in highlights or c in chosen:
                highlights.setdefault(c.passage, set()).add((c.a, c.b))
        passages = []
        for i, cand in enumerate(cands):
            ch = self._data.chunks[cand.row]
            spans = sorted((a - ch.clean_start, b - ch.clean_start) for a, b in highlights.get(i, ()))
            passages.append(self._passage(cand, spans))
        sentences = tuple(self._sentence(passages, cands, c, query) for c in chosen)
        known = lambda word: bool(self._data.keyword.known_terms(word)[1])  # noqa: E731
        message = (messages.related_message(query, known, absent, constraints.unnamed_by_all(cands))
                   if status == answering.RELATED else
                   refusal or messages.OFF_TOPIC_MESSAGE if status == answering.OFF_TOPIC else "")
        why = explain.explanations(query, cands, [self._indexed_terms(c) for c in cands], scored, chosen,
                                   self._data.keyword.analyze, mode, [docs] if isinstance(docs, str) else docs,
                                   answer_first=moved)
        return Answer(query.text, status != answering.ANSWERED, round(probability, 4), sentences, tuple(passages),
                      mode, status=status, level=level,
                      level_note=answering.level_claim(level, s.level_accuracy) if status == answering.ANSWERED else "",
                      topic=round(topic, 4), message=message, answer_type=query.answer_type, lang=query.lang,
                      explanations=why)

    def _prepare(self, question, k: int, mode: str, docs) -> tuple[Query, np.ndarray, list[Ranked]]:
        """Validate, cut to the token budget, embed while analysing (the runtime runs without the GIL), rank (at
        least ``TOPIC_POOL`` passages, the first ``k`` of which are shown): what every question goes through first."""
        text = self.fit_question(normalize_question(question))
        allowed = self._check(k, mode, docs)
        vector = _EMBEDDING.submit(self.embedder.encode_queries, [text])
        query = self._analyze(text)
        qv = vector.result()[0]
        return query, qv, self.ranker.rank(query, qv, mode, allowed, max(k, TOPIC_POOL))

    def _weigh(self, query: Query, qv: np.ndarray, ranked: list[Ranked]) -> tuple[dict, float,
                                                                                  list[answering.Candidate]]:
        """The topic features (on the first ``TOPIC_POOL`` of ``ranked``) and probability, and the candidate
        sentences of the first ``ANSWER_FROM`` passages, most likely first."""
        s = self.settings
        feats = self.topic_features(query, qv, ranked[:TOPIC_POOL])
        topic = abstention.confidence(feats, s.topic_model, s.topic_bias)
        return feats, topic, self.sentence_candidates(query, qv, ranked[:ANSWER_FROM], topic)

    def sentence_candidates(self, query: Query, qv: np.ndarray, cands: list[Ranked],
                            topic: float) -> list[answering.Candidate]:
        """The sentences of the top passages that may answer, most likely first (``rag.answering.candidates``)."""
        return candidates.sentence_candidates(self._data, query, qv, cands, topic, self.settings,
                                              lambda c: self._context_terms(c.row), ANSWER_FROM, self._sentence_facts)

    def _context(self, row: int) -> frozenset[str]:
        """The keyword terms of a passage's text, section path and document's names (cached: ``_context_terms``)."""
        ch = self._data.chunks[row]
        doc = self._docs[ch.doc_id]
        return frozenset(self._data.keyword.analyze(f"{ch.text} {' '.join(ch.section)} {doc.title} {doc.keywords}"))

    def _indexed_terms(self, cand: Ranked) -> frozenset[str]:
        """The keyword terms of what keyword search reads of a passage (:func:`rag.index.texts.keyword_text`): its
        document's names and section path, and its text (each short enough for the analyser's cache; cached)."""
        return self._indexed(cand.row)

    def _indexed_row(self, row: int) -> frozenset[str]:
        ch = self._data.chunks[row]
        analyze = self._data.keyword.analyze
        return frozenset(analyze(keyword_text(self._docs[ch.doc_id], ch.section, ""))) | frozenset(analyze(ch.text))

    def _sentence(self, passages: list[Passage], cands: list[Ranked], c: answering.Candidate, query: Query) -> Sentence:
        clean_start = self._data.chunks[cands[c.passage].row].clean_start  # c.text is the passage's text [pa:pb]
        pa, pb = c.a - clean_start, c.b - clean_start
        start, end = self.file_offsets(passages[c.passage], pa, pb)
        return Sentence(text=c.text, passage=c.passage, start=start, end=end, score=round(c.probability, 6),
                        passage_start=pa, passage_end=pb, phrases=phrases.answer_phrases(c.text, query))

    def file_offsets(self, passage: Passage, start: int, end: int) -> tuple[int, int]:
        """File offsets of ``passage.text[start:end]`` (for citing a highlight, say); ``end > start``."""
        doc = self.clean_document(passage.doc_id)
        base = doc.to_clean(passage.start, passage.end)[0]
        return doc.to_file(base + start, base + end)

    def features(self, question: str, k: int = 10, mode: str = "hybrid") -> dict[str, float]:
        """The topic signals for ``question`` (``python -m eval --calibrate`` fits them), on ``TOPIC_POOL`` passages."""
        query, qv, ranked = self._prepare(question, k, mode, None)
        return self.topic_features(query, qv, ranked[:TOPIC_POOL])

    def candidates(self, question: str, k: int = 5, mode: str = "hybrid") -> tuple[Query, dict, float,
                                                                                 list[answering.Candidate]]:
        """What ``answer`` weighs, for calibration and error analysis: the question's analysis,
        its topic features and probability, and the candidate sentences with their features."""
        query, qv, ranked = self._prepare(question, k, mode, None)
        return (query, *self._weigh(query, qv, ranked))

    def forget_questions(self) -> None:
        """Forget the analyses of the questions asked so far: the next question is analysed anew, as one never asked
        (``python -m eval`` times each answer so)."""
        self._analyze.cache_clear()

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for (spaCy's pipeline, the embedder)."""
        answering.entities(["Le sommet s'est tenu à Genève."])
        self.embedder.encode_queries([analyze("Quand le sommet s'est-il tenu ?").text])

    def topic_features(self, query: Query, qv: np.ndarray, cands: list[Ranked]) -> dict[str, float]:
        """The signals ``rag.answering.abstention`` weighs, for a question and its ranked candidates."""
        keyword = self._data.keyword
        terms, known = keyword.known_terms(query.keyword_text)
        near: set[str] = set()
        for c in cands[:3]:
            near.update(keyword.analyze(self._data.chunks[c.row].text))
        return {
            "top_dense": max((c.dense for c in cands), default=0.0),
            "best_sentence": max((c.sentence for c in cands), default=0.0),
            "coverage": len(known) / len(terms) if terms else 0.0,
            "passage_coverage": sum(t in near for t in terms) / len(terms) if terms else 0.0,
            "english": float(query.english),
        }

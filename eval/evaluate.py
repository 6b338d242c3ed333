"""Running a test set: every retrieval mode of the engine plus a naive baseline.

For each case and mode the top passages are judged with the quote rule
(:mod:`eval.relevance`); qrels list every chunk of the index that holds a gold
quote, runs list the retrieved chunk ids with their scores, and the metrics
come from ``ranx``. Abstention is measured on all cases with ``Retriever.answer``.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag import Retriever
from rag.corpus.documents import load_corpus
from rag.embedding.caching import CachedEmbedder

from . import answers
from .relevance import is_relevant, normalize
from .testset import Case

log = logging.getLogger("eval")

ENGINE_MODES = ("keyword", "dense", "hybrid")
BASELINE = "baseline"
NO_GLOSSARY = "hybrid, no glossary"
ALL_MODES = (*ENGINE_MODES, BASELINE)
CURVE_K = tuple(range(1, 11))
BASELINE_CHUNK_SIZE = 1000
BASELINE_CHUNK_OVERLAP = 200


# ------------------------------------------------------------------ naive baseline
@dataclass(frozen=True)
class BaselineChunk:
    chunk_id: str
    doc_id: str
    text: str  # raw file text, no cleaning


class NaiveBaseline:
    """The textbook pipeline: 1000/200-character recursive splitting of the raw
    files, the same embedder, a flat FAISS inner-product index, nothing else."""

    def __init__(self, corpus_dir: str | Path, embedder, cache_dir: str | Path | None = None) -> None:
        import faiss
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=BASELINE_CHUNK_SIZE, chunk_overlap=BASELINE_CHUNK_OVERLAP)
        self.chunks: list[BaselineChunk] = []
        for doc in load_corpus(corpus_dir):
            for i, piece in enumerate(splitter.split_text(doc.text)):
                self.chunks.append(BaselineChunk(f"{doc.doc_id}#{i}", doc.doc_id, piece))
        texts = [c.text for c in self.chunks]
        started = time.perf_counter()
        self.vectors = self._vectors(texts, embedder, cache_dir)
        self.embed_seconds = time.perf_counter() - started
        started = time.perf_counter()
        self.index = faiss.IndexFlatIP(self.vectors.shape[1])
        self.index.add(self.vectors)
        self.index_seconds = time.perf_counter() - started

    @staticmethod
    def _vectors(texts: list[str], embedder, cache_dir) -> np.ndarray:
        h = hashlib.sha256(embedder.name.encode())
        for t in texts:
            h.update(b"\0" + t.encode("utf-8"))
        path = Path(cache_dir) / f"baseline-{h.hexdigest()[:16]}.npy" if cache_dir is not None else None
        if path is not None and path.exists():
            try:
                vecs = np.load(path, allow_pickle=False)
                if vecs.shape[0] == len(texts):
                    return vecs
            except Exception as exc:
                log.warning("baseline cache %s unreadable (%s); re-embedding", path, exc)
        log.info("baseline: embedding %d chunks (cached afterwards)", len(texts))
        vecs = np.ascontiguousarray(embedder.encode_passages(texts, progress=False), dtype=np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, vecs)
        return vecs

    def search(self, qv: np.ndarray, k: int) -> list[tuple[BaselineChunk, float]]:
        scores, rows = self.index.search(np.ascontiguousarray(qv.reshape(1, -1), dtype=np.float32), k)
        return [(self.chunks[r], float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]


# ------------------------------------------------------------------ results
@dataclass
class Hit:
    chunk_id: str
    doc_id: str
    section: str
    text: str
    score: float
    relevant: bool


@dataclass
class CaseResult:
    case: Case
    hits: list[Hit]
    confidence: float | None = None  # None for the baseline (no abstention)
    abstained: bool | None = None

    @property
    def first_relevant(self) -> int | None:
        return next((i + 1 for i, h in enumerate(self.hits) if h.relevant), None)


@dataclass
class ModeRun:
    mode: str
    results: list[CaseResult]
    qrels: dict[str, dict[str, int]]  # case id -> relevant chunk ids (answerable cases)
    seconds: float = 0.0
    threshold: float | None = None
    extra: dict = field(default_factory=dict)


def relevant_chunks(cases: list[Case], chunks: list[tuple[str, str, str]]) -> dict[str, dict[str, int]]:
    """Qrels: for each answerable case, every chunk ``(chunk_id, doc_id, text)`` holding a gold quote."""
    normed = [(cid, doc, normalize(text)) for cid, doc, text in chunks]
    return {c.id: {cid: 1 for cid, doc, text in normed if is_relevant(doc, text, c.answers)}
            for c in cases if c.answerable}


def engine_qrels(retriever: Retriever, cases: list[Case]) -> dict[str, dict[str, int]]:
    chunks = [(ch.chunk_id, ch.doc_id, ch.text) for ch in retriever.chunks]
    return relevant_chunks(cases, chunks)


def run_engine(retriever: Retriever, cases: list[Case], mode: str, k: int,
               qrels: dict[str, dict[str, int]]) -> ModeRun:
    """Ask every case with ``Retriever.answer`` in ``mode``; keep top-``k`` passages and the confidence."""
    started = time.perf_counter()
    out = []
    for c in cases:
        ans = retriever.answer(c.question, k=k, mode=mode)
        hits = [Hit(p.chunk_id, p.doc_id, p.section, p.text, p.score,
                    is_relevant(p.doc_id, normalize(p.text), c.answers))
                for p in ans.passages]
        out.append(CaseResult(c, hits, ans.confidence, ans.abstained))
    return ModeRun(mode, out, qrels, time.perf_counter() - started, retriever.settings.answer_threshold)


def run_baseline(baseline: NaiveBaseline, embedder, cases: list[Case], k: int) -> ModeRun:
    started = time.perf_counter()
    qrels = relevant_chunks(cases, [(ch.chunk_id, ch.doc_id, ch.text) for ch in baseline.chunks])
    qvs = embedder.encode_queries([c.question for c in cases])
    out = []
    for c, qv in zip(cases, qvs):
        hits = [Hit(ch.chunk_id, ch.doc_id, "", ch.text, s, is_relevant(ch.doc_id, normalize(ch.text), c.answers))
                for ch, s in baseline.search(qv, k)]
        out.append(CaseResult(c, hits))
    return ModeRun(BASELINE, out, qrels, time.perf_counter() - started,
                   extra={"chunks": len(baseline.chunks), "embed_seconds": round(baseline.embed_seconds, 2)})


# ------------------------------------------------------------------ metrics
RANX_METRICS = {  # our name -> ranx metric
    **{f"recall@{k}": f"hit_rate@{k}" for k in CURVE_K},
    "passage_recall@5": "recall@5",
    "passage_recall@10": "recall@10",
    "mrr@10": "mrr@10",
    "ndcg@10": "ndcg@10",
}
HEADLINE = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


def ranx_metrics(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
                 metrics: dict[str, str] = RANX_METRICS) -> dict[str, float]:
    """Mean metrics over the queries of ``qrels`` with ranx (``metrics``: our name -> ranx name).

    A query with nothing retrieved, or no relevant chunk in the index, scores 0.
    """
    import warnings

    from ranx import Qrels, Run, evaluate

    if not qrels:
        return {}
    # ranx wants at least one judged and one retrieved document per query.
    q = {qid: (rel or {"__no_relevant_chunk__": 1}) for qid, rel in qrels.items()}
    r = {qid: (run.get(qid) or {"__nothing_retrieved__": 0.0}) for qid in qrels}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = evaluate(Qrels(q), Run(r), list(dict.fromkeys(metrics.values())), return_mean=True)
    if isinstance(scores, float) or not isinstance(scores, dict):
        scores = {list(metrics.values())[0]: scores}
    return {ours: float(scores[theirs]) for ours, theirs in metrics.items()}


def run_dict(results: list[CaseResult]) -> dict[str, dict[str, float]]:
    """ranx run: retrieved chunk ids with strictly decreasing scores in rank order."""
    out = {}
    for r in results:
        n = len(r.hits)
        out[r.case.id] = {h.chunk_id: float(n - i) for i, h in enumerate(r.hits)}
    return out


def abstention(results: list[CaseResult], threshold: float | None) -> dict:
    """Share of unanswerable cases declined (status other than answered) and of answerable ones wrongly declined."""
    if threshold is None or not results or results[0].abstained is None:
        return {}
    ans = [r for r in results if r.case.answerable]
    una = [r for r in results if not r.case.answerable]
    return {
        "unanswerable_abstained": _share(sum(r.abstained for r in una), len(una)),
        "answerable_wrongly_abstained": _share(sum(r.abstained for r in ans), len(ans)),
        "threshold": threshold,
    }


def _share(n: int, total: int) -> float | None:
    return round(n / total, 4) if total else None


def tradeoff_curve(results: list[CaseResult]) -> list[tuple[float, float, float]]:
    """(threshold, unanswerable abstained, answerable wrongly abstained) as the threshold sweeps."""
    confs = sorted({r.confidence for r in results if r.confidence is not None})
    if not confs:
        return []
    thresholds = [confs[0] - 1e-6] + [(a + b) / 2 for a, b in zip(confs, confs[1:])] + [confs[-1] + 1e-6]
    ans = [r.confidence for r in results if r.case.answerable]
    una = [r.confidence for r in results if not r.case.answerable]
    return [(t, (sum(c < t for c in una) / len(una)) if una else 0.0,
             (sum(c < t for c in ans) / len(ans)) if ans else 0.0) for t in thresholds]


def summarize(run: ModeRun, cases: list[Case]) -> dict:
    """Metrics of ``run`` restricted to ``cases``: overall, by language and by kind."""
    ids = {c.id for c in cases}
    results = [r for r in run.results if r.case.id in ids]
    runs = run_dict(results)

    def block(rs: list[CaseResult]) -> dict:
        answerable = [r for r in rs if r.case.answerable]
        qrels = {r.case.id: run.qrels.get(r.case.id, {}) for r in answerable}
        out = {"cases": len(rs), "answerable": len(answerable)}
        out.update({k: round(v, 4) for k, v in ranx_metrics(qrels, runs).items()})
        out.update(abstention(rs, run.threshold))
        return out

    return {
        "overall": block(results),
        "by_lang": {lang: block([r for r in results if r.case.lang == lang])
                    for lang in sorted({r.case.lang for r in results})},
        "by_kind": {kind: block([r for r in results if r.case.kind == kind])
                    for kind in sorted({r.case.kind for r in results})},
        "curve": tradeoff_curve(results),
    }


def failures(run: ModeRun, k: int = 5) -> list[dict]:
    """Answerable cases with no relevant passage in the top ``k``, and abstention mistakes."""
    out = []
    for r in run.results:
        c = r.case
        miss = c.answerable and (r.first_relevant is None or r.first_relevant > k)
        wrong_abstain = c.answerable and r.abstained
        answered_unanswerable = (not c.answerable) and r.abstained is False
        if not (miss or wrong_abstain or answered_unanswerable):
            continue
        reasons = [name for name, flag in (("miss@%d" % k, miss), ("wrongly_abstained", wrong_abstain),
                                           ("answered_unanswerable", answered_unanswerable)) if flag]
        out.append({
            "mode": run.mode, "id": c.id, "split": c.split, "lang": c.lang, "kind": c.kind,
            "question": c.question, "reasons": reasons,
            "gold": [{"doc": a.doc, "quote": a.quote} for a in c.answers],
            "relevant_in_index": len(run.qrels.get(c.id, {})) if c.answerable else None,
            "first_relevant_rank": r.first_relevant,
            "confidence": r.confidence,
            "top3": [{"doc": h.doc_id, "section": h.section, "chunk": h.chunk_id, "relevant": h.relevant,
                      "text": " ".join(h.text.split())[:300]} for h in r.hits[:3]],
        })
    return out


def unreachable(qrels: dict[str, dict[str, int]], cases: list[Case]) -> list[str]:
    """Answerable cases none of whose quotes is in any indexed chunk (e.g. quoted from a dropped footnote)."""
    return [c.id for c in cases if c.answerable and not qrels.get(c.id)]


# ------------------------------------------------------------------ everything
SPLIT_NAMES = ("tune", "heldout", "all")


def evaluate_all(retriever: Retriever, cases: list[Case], modes=ALL_MODES, k: int = 10,
                 cache_dir: str | Path | None = None) -> dict:
    """Run ``modes`` over ``cases``; returns runs, summaries per split and failures."""
    k = max(k, max(CURVE_K))
    embedder = retriever.embedder if isinstance(retriever.embedder, CachedEmbedder) else \
        CachedEmbedder(retriever.embedder, cache_dir)
    embedder.prime([c.question for c in cases])
    r = retriever.replace(embedder=embedder)
    runs: dict[str, ModeRun] = {}
    qrels = engine_qrels(r, cases)
    for mode in modes:
        log.info("running %s", mode)
        if mode == BASELINE:
            baseline = NaiveBaseline(r.settings.corpus_dir, embedder, cache_dir)
            runs[mode] = run_baseline(baseline, embedder, cases, k)
        else:
            runs[mode] = run_engine(r, cases, mode, k, qrels)
    if "hybrid" in modes:  # the domain glossary's effect: the same hybrid search with an empty one
        log.info("running hybrid without the glossary")
        with tempfile.TemporaryDirectory() as tmp:
            empty = Path(tmp) / "glossary.toml"
            empty.write_text("", encoding="utf-8")
            bare = r.replace(settings=r.settings.replace(glossary_file=str(empty)))
            runs[NO_GLOSSARY] = run_engine(bare, cases, "hybrid", k, qrels)
    splits = {s: (cases if s == "all" else [c for c in cases if c.split == s]) for s in SPLIT_NAMES}
    summary = {mode: {s: summarize(run, cs) for s, cs in splits.items() if cs} for mode, run in runs.items()}
    log.info("judging the answer step (hybrid, 5 passages)")
    outcomes = answers.run(r, cases)
    load = answers.analysis_load_seconds()
    return {
        "answers": {s: {**answers.summarize([o for o in outcomes if s == "all" or o.case.split == s]),
                        "analysis_load_s": load}
                    for s, cs in splits.items() if cs},
        "answer_details": answers.details(outcomes),
        "runs": runs,
        "summary": summary,
        "failures": [f for run in runs.values() for f in failures(run)],
        "unreachable": {"engine": unreachable(qrels, cases),
                        **({BASELINE: unreachable(runs[BASELINE].qrels, cases)} if BASELINE in runs else {})},
        "k": k,
    }

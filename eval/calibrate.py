"""Calibration on the tune split: the abstention threshold and the fusion settings.

``python -m eval --calibrate`` fits the abstention model of ``rag.abstention``
(a logistic model over retrieval signals) on the tune split, picks
``abstain_threshold`` as the confidence that abstains on the most unanswerable
tune questions while wrongly abstaining on at most 5% of the answerable ones,
and reports how well each feature separates the two (ROC AUC); with
``--write`` it stores the model in rag/abstention.json, the engine's defaults. ``python -m eval --tune`` tries a grid of the query-time fusion
settings and ranks them by MRR@10 + Recall@5 on tune. Both print held-out
figures for the chosen values.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np

from rag import Retriever, abstention

from .evaluate import CachedEmbedder, engine_qrels, ranx_metrics
from .testset import Case

log = logging.getLogger("eval")

MAX_WRONG_ABSTAIN = 0.05
DENSE_GRID = (0.3, 0.4, 0.5, 0.6, 0.7)
SENTENCE_GRID = (0.0, 0.25, 0.5, 0.75)
RRF_GRID = (10, 20, 60)


def _with_cache(retriever: Retriever, cache_dir) -> Retriever:
    emb = retriever.embedder if isinstance(retriever.embedder, CachedEmbedder) else \
        CachedEmbedder(retriever.embedder, cache_dir)
    return Retriever(retriever._data, emb, retriever.settings)


def features(retriever: Retriever, cases: list[Case], k: int = 10, mode: str = "hybrid") -> list[dict]:
    """The engine's abstention features of every case (with ``answerable`` and ``split``)."""
    retriever.embedder.prime([c.question for c in cases])
    return [{"id": c.id, "split": c.split, "answerable": c.answerable, "lang": c.lang,
             **{name: float(v) for name, v in retriever.features(c.question, k=k, mode=mode).items()}}
            for c in cases]


def auc(scores, labels) -> float:
    """ROC AUC of ``scores`` for telling answerable (label True) from unanswerable (Mann-Whitney)."""
    pos = np.array([s for s, y in zip(scores, labels) if y], dtype=float)
    neg = np.array([s for s, y in zip(scores, labels) if not y], dtype=float)
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def rates(conf, labels, threshold: float) -> tuple[float, float]:
    """(share of unanswerable abstained, share of answerable wrongly abstained) at ``threshold``."""
    conf, labels = np.asarray(conf, float), np.asarray(labels, bool)
    abst = conf < threshold
    una = float(abst[~labels].mean()) if (~labels).any() else 0.0
    ans = float(abst[labels].mean()) if labels.any() else 0.0
    return una, ans


def choose_threshold(conf, labels, max_wrong: float = MAX_WRONG_ABSTAIN,
                     balanced: bool = False) -> tuple[float, float, float]:
    """The threshold abstaining on the most unanswerable cases with at most ``max_wrong`` answerable
    ones wrongly abstained (ties: fewer wrong abstentions, then the middle of the equally good range);
    with ``balanced``, the one maximising balanced accuracy instead.

    Returns ``(threshold, unanswerable abstained, answerable wrongly abstained)``.
    """
    vals = np.unique(np.asarray(conf, float))
    cands = np.concatenate([[vals[0] - 1e-3], (vals[:-1] + vals[1:]) / 2, [vals[-1] + 1e-3]])
    best = None
    for t in cands:
        una, ans = rates(conf, labels, t)
        if ans > max_wrong + 1e-12:
            continue
        key = ((una + 1 - ans) / 2, -ans) if balanced else (una, -ans)
        if best is None or key > best[0]:
            best = (key, [t])
        elif key == best[0]:
            best[1].append(t)
    ts = best[1]
    t = float((ts[0] + ts[-1]) / 2)  # middle of the range of equally good thresholds
    una, ans = rates(conf, labels, t)
    return round(t, 3), una, ans


def calibrate(retriever: Retriever, cases: list[Case], cache_dir=None) -> dict:
    """Fit the abstention model and choose its threshold on the tune split; report both splits.

    Returns a dict with each feature's AUC on tune, the fitted ``abstain_model``,
    ``abstain_bias`` and ``abstain_threshold`` (the values ``--write`` stores in
    rag/abstention.json), and the abstention rates on tune and held-out.
    """
    r = _with_cache(retriever, cache_dir)
    feats = features(r, cases)
    tune = [f for f in feats if f["split"] == "tune"] or feats
    held = [f for f in feats if f["split"] == "heldout"]
    y_t = [f["answerable"] for f in tune]
    aucs = {name: round(auc([f[name] for f in tune], y_t), 4) for name in abstention.FEATURES}
    model, bias = abstention.fit(tune, y_t)
    conf = lambda fs: [abstention.confidence(f, model, bias) for f in fs]  # noqa: E731
    threshold, una, ans = choose_threshold(conf(tune), y_t)
    aucs["model"] = round(auc(conf(tune), y_t), 4)
    out = {"auc": aucs, "abstain_model": [list(row) for row in model], "abstain_bias": bias,
           "abstain_threshold": threshold, "tune": {"unanswerable_abstained": round(una, 4),
                                                    "answerable_wrongly_abstained": round(ans, 4)},
           "n_tune": {"answerable": sum(y_t), "unanswerable": len(y_t) - sum(y_t)}}
    if held:
        y_h = [f["answerable"] for f in held]
        h_una, h_ans = rates(conf(held), y_h, threshold)
        out["heldout"] = {"unanswerable_abstained": round(h_una, 4), "answerable_wrongly_abstained": round(h_ans, 4),
                          "auc": round(auc(conf(held), y_h), 4)}
    return out


def tune_fusion(retriever: Retriever, cases: list[Case], cache_dir=None, k: int = 10) -> dict:
    """MRR@10 and Recall@5 on tune for every fusion setting of the grid, best first;
    with the held-out figures of the best setting and of the current one."""
    r = _with_cache(retriever, cache_dir)
    r.embedder.prime([c.question for c in cases])
    tune = [c for c in cases if c.split == "tune" and c.answerable]
    held = [c for c in cases if c.split == "heldout" and c.answerable]
    qrels = engine_qrels(r, cases)
    metrics = {"recall@1": "hit_rate@1", "recall@5": "hit_rate@5", "mrr@10": "mrr@10"}

    def score(settings, cs):
        rr = Retriever(r._data, r.embedder, settings)
        run = {c.id: {p.chunk_id: float(k - i) for i, p in enumerate(rr.search(c.question, k=k, mode="hybrid"))}
               for c in cs}
        return ranx_metrics({c.id: qrels[c.id] for c in cs}, run, metrics)

    rows = []
    for dw, sw, rk in itertools.product(DENSE_GRID, SENTENCE_GRID, RRF_GRID):
        m = score(r.settings.replace(dense_weight=dw, sentence_weight=sw, rrf_k=rk), tune)
        rows.append({"dense_weight": dw, "sentence_weight": sw, "rrf_k": rk,
                     **{f"tune_{n}": round(v, 4) for n, v in m.items()},
                     "objective": round(m["mrr@10"] + m["recall@5"], 4)})
    rows.sort(key=lambda x: (-x["objective"], -x["tune_recall@1"]))
    best = rows[0]
    s = r.settings
    cur = {"dense_weight": s.dense_weight, "sentence_weight": s.sentence_weight, "rrf_k": s.rrf_k}
    cur_row = next((x for x in rows if all(x[key] == v for key, v in cur.items())), None)
    out = {"grid": rows, "best": best, "current": cur_row or cur}
    if held:
        out["heldout_best"] = {n: round(v, 4) for n, v in score(
            s.replace(dense_weight=best["dense_weight"], sentence_weight=best["sentence_weight"], rrf_k=best["rrf_k"]),
            held).items()}
        out["heldout_current"] = {n: round(v, 4) for n, v in score(s, held).items()}
    return out

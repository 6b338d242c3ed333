"""Calibration on the tune split: the abstention threshold and the fusion settings.

``python -m eval --calibrate`` picks ``abstain_threshold`` (for each
``coverage_weight`` of a small grid) as the threshold that abstains on the most
unanswerable tune questions while wrongly abstaining on at most 5% of the
answerable ones, and reports how well each abstention feature separates the two
(ROC AUC). ``python -m eval --tune`` tries a grid of the query-time fusion
settings and ranks them by MRR@10 + Recall@5 on tune. Both print held-out
figures for the chosen values; neither changes the engine (the lead copies the
printed values into ``rag/settings.py``).
"""

from __future__ import annotations

import itertools
import logging

import numpy as np

from rag import Retriever
from rag.retriever import normalize_question

from .evaluate import CachedEmbedder, engine_qrels, ranx_metrics
from .testset import Case

log = logging.getLogger("eval")

MAX_WRONG_ABSTAIN = 0.05
COVERAGE_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
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
    out = []
    for c in cases:
        q = normalize_question(c.question)
        qv = retriever.embedder.encode_queries([q])[0]
        cands = retriever._rank(q, qv, mode, None, k)  # no public hook for the candidates; see the report
        f = retriever.abstention_features(q, qv, cands)
        out.append({"id": c.id, "split": c.split, "answerable": c.answerable, "lang": c.lang,
                    **{name: float(v) for name, v in f.items()}})
    return out


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
    r = _with_cache(retriever, cache_dir)
    feats = features(r, cases)
    tune = [f for f in feats if f["split"] == "tune"] or feats
    held = [f for f in feats if f["split"] == "heldout"]
    y_t = [f["answerable"] for f in tune]
    aucs = {name: round(auc([f[name] for f in tune], y_t), 4)
            for name in ("z_sentence", "z_chunk", "coverage", "confidence")}
    for cw in COVERAGE_GRID:
        aucs[f"z_sentence + {cw}*coverage"] = round(auc([f["z_sentence"] + cw * f["coverage"] for f in tune], y_t), 4)
        aucs[f"z_chunk + {cw}*coverage"] = round(auc([f["z_chunk"] + cw * f["coverage"] for f in tune], y_t), 4)
    aucs["max(z_sentence, z_chunk) + 1*coverage"] = round(
        auc([max(f["z_sentence"], f["z_chunk"]) + f["coverage"] for f in tune], y_t), 4)

    grid = []
    for cw in COVERAGE_GRID:
        conf_t = [f["z_sentence"] + cw * f["coverage"] for f in tune]
        t, una, ans = choose_threshold(conf_t, y_t)
        row = {"coverage_weight": cw, "abstain_threshold": t, "tune_unanswerable_abstained": round(una, 4),
               "tune_answerable_wrongly_abstained": round(ans, 4), "tune_auc": round(auc(conf_t, y_t), 4)}
        if held:
            h_una, h_ans = rates([f["z_sentence"] + cw * f["coverage"] for f in held], [f["answerable"] for f in held], t)
            row.update(heldout_unanswerable_abstained=round(h_una, 4), heldout_answerable_wrongly_abstained=round(h_ans, 4))
        grid.append(row)
    # Alternative confidence formulas (not the engine's): same threshold rule, and the balanced-accuracy optimum.
    alternatives = []
    formulas = {f"z_chunk + {cw}*coverage": (lambda f, cw=cw: f["z_chunk"] + cw * f["coverage"]) for cw in COVERAGE_GRID}
    formulas.update({f"z_sentence + {cw}*coverage": (lambda f, cw=cw: f["z_sentence"] + cw * f["coverage"])
                     for cw in COVERAGE_GRID})
    for name, fn in formulas.items():
        conf_t = [fn(f) for f in tune]
        t, una, ans = choose_threshold(conf_t, y_t)
        tb, una_b, ans_b = choose_threshold(conf_t, y_t, max_wrong=1.0, balanced=True)
        row = {"formula": name, "tune_auc": round(auc(conf_t, y_t), 4),
               "threshold": t, "tune": [round(una, 4), round(ans, 4)],
               "balanced_threshold": tb, "tune_balanced": [round(una_b, 4), round(ans_b, 4)]}
        if held:
            conf_h, y_h = [fn(f) for f in held], [f["answerable"] for f in held]
            row["heldout"] = [round(x, 4) for x in rates(conf_h, y_h, t)]
            row["heldout_balanced"] = [round(x, 4) for x in rates(conf_h, y_h, tb)]
        alternatives.append(row)
    alternatives.sort(key=lambda a: -a["tune_auc"])
    best = max(grid, key=lambda g: (g["tune_unanswerable_abstained"], -g["tune_answerable_wrongly_abstained"],
                                    g["tune_auc"], -abs(g["coverage_weight"] - retriever.settings.coverage_weight)))
    s = retriever.settings
    current = {"coverage_weight": s.coverage_weight, "abstain_threshold": s.abstain_threshold}
    cur_conf = lambda fs: [f["z_sentence"] + s.coverage_weight * f["coverage"] for f in fs]  # noqa: E731
    current["tune"] = rates(cur_conf(tune), y_t, s.abstain_threshold)
    if held:
        current["heldout"] = rates(cur_conf(held), [f["answerable"] for f in held], s.abstain_threshold)
    return {"auc": aucs, "grid": grid, "best": best, "current": current, "alternatives": alternatives,
            "n_tune": {"answerable": sum(y_t), "unanswerable": len(y_t) - sum(y_t)}}


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

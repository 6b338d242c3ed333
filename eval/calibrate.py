"""Calibration on the tune split: the topic and answer models, and the fusion settings.

``python -m eval --calibrate`` fits, on the tune split,

1. the topic model of ``rag.answering.abstention`` (on-topic vs off-topic questions, over
   retrieval signals) and ``topic_threshold``, the probability that sends the
   most off-topic questions to ``off_topic`` while sending at most 1% of the
   on-topic ones there;
2. the answer model of ``rag.answering.extraction`` (does a candidate sentence hold the gold
   answer span?), unweighted so that its output is a calibrated probability, and
   ``answer_threshold``, the probability of the best :func:`answer_utility`
   (right answers and honest declines gained, wrong answers lost, each class
   counting equally), declining at most 20% of the answerable questions;
3. a monotone (isotonic) map from that probability to how often the first quoted sentence is right, fitted on
   out-of-fold probabilities (each tune question scored by a model fitted without it), and what each confidence
   label claims: how often the first sentence was right under it (``level_accuracy``).

It reports how well each feature separates the classes (ROC AUC); with
``--write`` it stores the models in corpus/calibration.json, the engine's defaults.
``python -m eval --tune`` tries a grid of the query-time fusion
settings and ranks them by MRR@10 + Recall@5 on tune. Both print held-out
figures for the chosen values.
"""

from __future__ import annotations

import functools
import itertools
import logging
from pathlib import Path

import numpy as np

from rag import Retriever
from rag.answering import abstention
from rag.answering.extraction import SENTENCE_FEATURES, calibrate_probability
from rag.corpus.documents import load_corpus
from rag.embedding.caching import CachedEmbedder

from .answers import gold_spans, group
from .evaluate import engine_qrels, ranx_metrics
from .relevance import normalize, sentence_answers
from .testset import Case, load_testset

log = logging.getLogger("eval")
HERE = Path(__file__).resolve().parent

MAX_WRONG_ABSTAIN = 0.05
MAX_ANSWERABLE_DECLINED = 0.20  # the answer threshold never declines more of the answerable questions
# « off_topic » tells a reader the corpus does not deal with the question: said of an on-topic question it is
# false, a worse error than showing an off-topic one its closest passages; so at most 1 % of on-topic ones.
MAX_ON_TOPIC_LOST = 0.01
FOLDS = 5
MIN_BLOCK = 10
# The labels, on the calibrated probability (the share of first sentences right): « élevée » from 0.8, « moyenne »
# from 0.55. What each label claims is how often it was right on the tune questions (``level_accuracy``).
CONFIDENCE_HIGH, CONFIDENCE_MEDIUM = 0.8, 0.55
DENSE_GRID = (0.3, 0.4, 0.5, 0.6, 0.7)
SENTENCE_GRID = (0.0, 0.25, 0.5, 0.75)
RRF_GRID = (10, 20, 60)


def _with_cache(retriever: Retriever, cache_dir) -> Retriever:
    emb = retriever.embedder if isinstance(retriever.embedder, CachedEmbedder) else \
        CachedEmbedder(retriever.embedder, cache_dir)
    return retriever.replace(embedder=emb)


def features(retriever: Retriever, cases: list[Case], k: int = 10, mode: str = "hybrid") -> list[dict]:
    """The engine's topic features of every case (with ``answerable``, ``on_topic`` and ``split``)."""
    retriever.embedder.prime([c.question for c in cases])
    return [{"id": c.id, "split": c.split, "answerable": c.answerable, "lang": c.lang,
             "on_topic": group(c) != "unanswerable_off_topic",
             **{name: float(v) for name, v in retriever.features(c.question, k=k, mode=mode).items()}}
            for c in cases]


def sentence_rows(retriever: Retriever, cases: list[Case], k: int = 5) -> list[dict]:
    """Every candidate sentence of every case, with its features and whether it holds a gold span.

    Each row also has the case's id, split and answerability, and ``first`` for the
    case's most likely candidate."""
    rows = []
    for c in cases:
        _, _, topic, cands = retriever.candidates(c.question, k=k)
        for n, cand in enumerate(cands):
            right = c.answerable and sentence_answers(cand.doc_id, normalize(cand.text), gold_spans(c))
            rows.append({"id": c.id, "split": c.split, "answerable": c.answerable, "topic_p": topic,
                         "first": n == 0, "right": bool(right), "text": cand.text, **cand.features})
    return rows


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
    """Fit the topic and answer models and their thresholds on the tune split; report both splits.

    Returns a dict with each feature's AUC on tune, the fitted models and thresholds
    (the values ``--write`` stores in corpus/calibration.json), and the rates on tune and held-out.
    """
    r = _with_cache(retriever, cache_dir)
    feats = features(r, cases)
    tune = [f for f in feats if f["split"] == "tune"] or feats
    held = [f for f in feats if f["split"] == "heldout"]
    y_t = [f["on_topic"] for f in tune]
    aucs = {f"topic:{name}": round(auc([f[name] for f in tune], y_t), 4) for name in abstention.FEATURES}
    topic_model, topic_bias = abstention.fit(tune, y_t)
    p_topic = lambda fs: [abstention.confidence(f, topic_model, topic_bias) for f in fs]  # noqa: E731
    topic_threshold, off_caught, on_lost = choose_threshold(p_topic(tune), y_t, MAX_ON_TOPIC_LOST)

    # The answer model sees the new topic probability as a feature: recompute the candidates with it.
    r = r.replace(settings=r.settings.replace(topic_model=topic_model, topic_bias=topic_bias,
                                              topic_threshold=topic_threshold))
    rows = sentence_rows(r, cases)
    s_tune = [x for x in rows if x["split"] == "tune"] or rows
    y_s = [x["right"] for x in s_tune]
    aucs.update({f"answer:{name}": round(auc([x[name] for x in s_tune], y_s), 4) for name in SENTENCE_FEATURES})
    answer_model, answer_bias = fit_answer_model(s_tune)
    p_answer = lambda x: abstention.confidence(x, answer_model, answer_bias, SENTENCE_FEATURES)  # noqa: E731

    best = lambda split: best_sentences(rows, split, p_answer, topic_threshold)  # noqa: E731
    question_scores = lambda fs, split: [best(split).get(f["id"], (0.0, False))[0] for f in fs]  # noqa: E731
    y_a = [f["answerable"] for f in tune]
    # The threshold and the labels are chosen on out-of-fold probabilities: each tune question's best sentence as
    # scored by a model fitted without it, as a question the engine has never seen would be.
    oof = out_of_fold(s_tune, topic_threshold)
    oof_best = [oof.get(f["id"], (0.0, False)) for f in tune]
    answer_threshold = choose_answer_threshold(oof_best, y_a)
    una, ans = rates([p for p, _ in oof_best], y_a, answer_threshold)
    answered = [v for v in oof_best if v[0] >= answer_threshold]
    points = isotonic([p for p, _ in answered], [ok for _, ok in answered])
    claims = level_accuracy(answered, points)
    aucs["topic:model"] = round(auc(p_topic(tune), y_t), 4)
    # how well the best sentence's probability tells answerable questions from the traps
    on_topic = [(p, f["answerable"]) for (p, _), f in zip(oof_best, tune) if f["on_topic"]]
    aucs["answer:question"] = round(auc([p for p, _ in on_topic], [y for _, y in on_topic]), 4)
    out = {"auc": aucs,
           "topic_model": [list(row) for row in topic_model], "topic_bias": topic_bias,
           "topic_threshold": topic_threshold,
           "answer_model": [list(row) for row in answer_model], "answer_bias": answer_bias,
           "answer_threshold": answer_threshold, "confidence_high": CONFIDENCE_HIGH,
           "confidence_medium": CONFIDENCE_MEDIUM, "answer_calibration": [list(p) for p in points],
           "level_accuracy": claims,
           "tune": {"off_topic_caught": round(off_caught, 4), "on_topic_sent_off_topic": round(on_lost, 4),
                    "unanswerable_declined": round(una, 4), "answerable_wrongly_declined": round(ans, 4)},
           "n_tune": {"answerable": sum(y_a), "unanswerable": len(y_a) - sum(y_a), "sentences": len(s_tune),
                      "right_sentences": sum(y_s)}}
    if held:
        y_h = [f["answerable"] for f in held]
        h_una, h_ans = rates(question_scores(held, "heldout"), y_h, answer_threshold)
        out["heldout"] = {"unanswerable_declined": round(h_una, 4), "answerable_wrongly_declined": round(h_ans, 4),
                          "topic_auc": round(auc(p_topic(held), [f["on_topic"] for f in held]), 4)}
    return out


def best_sentences(rows: list[dict], split: str, p_answer, topic_threshold: float) -> dict[str, tuple[float, bool]]:
    """Per case of ``split``: (probability of its most likely sentence, that sentence right); 0 when off-topic."""
    out: dict[str, tuple[float, bool]] = {}
    for x in rows:
        if x["split"] == split or split == "all":
            p = p_answer(x) if x["topic_p"] >= topic_threshold else 0.0
            if x["id"] not in out or p > out[x["id"]][0]:
                out[x["id"]] = (p, x["right"])
    return out


def answer_utility(best: list[tuple[float, bool]], answerable: list[bool], threshold: float) -> float:
    """How much the answers at ``threshold`` can be trusted, each class counting equally.

    Per question: +1 for a right first sentence or an unanswerable question declined,
    -1 for a wrong first sentence (an unanswerable question answered included), 0 for an
    answerable question declined (honest, but nothing gained). Averaged within the
    answerable and the unanswerable questions, then summed.
    """
    ans, una = [], []
    for (p, right), y in zip(best, answerable):
        answered = p >= threshold
        (ans if y else una).append((1.0 if right else -1.0) if answered else (0.0 if y else 1.0))
    return float(np.mean(ans) if ans else 0.0) + float(np.mean(una) if una else 0.0)


def choose_answer_threshold(best: list[tuple[float, bool]], answerable: list[bool]) -> float:
    """The answer threshold of the highest :func:`answer_utility` (ties: the lowest such threshold,
    which answers more), declining at most ``MAX_ANSWERABLE_DECLINED`` of the answerable questions."""
    probs = np.unique([p for p, _ in best])
    cands = np.concatenate([[0.0], (probs[:-1] + probs[1:]) / 2]) if len(probs) > 1 else np.array([0.0])
    y = np.asarray(answerable, bool)
    scored = []
    for t in cands:
        declined = float(np.mean([p < t for (p, _), a in zip(best, y) if a])) if y.any() else 0.0
        if declined <= MAX_ANSWERABLE_DECLINED + 1e-12:
            scored.append((answer_utility(best, answerable, float(t)), -t, float(t)))
    return round(max(scored)[2], 4) if scored else 0.0


def fit_answer_model(rows: list[dict], names=SENTENCE_FEATURES):
    """The answer model (``(mean, scale, weight)`` per sentence feature of ``names``, and the bias) fitted on
    candidate rows, unweighted so that its output is a probability."""
    return abstention.fit(rows, [x["right"] for x in rows], names=names, balanced=False, l2=2.0, steps=20000)


def out_of_fold(rows: list[dict], topic_threshold: float, folds: int = FOLDS, names=SENTENCE_FEATURES, seed: int = 0,
                train_share: float = 1.0) -> dict[str, tuple[float, bool]]:
    """Per question of ``rows``: (probability of its best sentence, that sentence right), the probabilities given by
    a model over ``names`` fitted on the other folds' questions (dealt to folds by the shuffle ``seed``; with
    ``train_share``, on that share of them, the first ones of the deal); 0 when off-topic."""
    ids = sorted({x["id"] for x in rows})
    np.random.RandomState(seed).shuffle(ids)
    fold = {i: n % folds for n, i in enumerate(ids)}
    out: dict[str, tuple[float, bool]] = {}
    for k in range(folds):
        others = [i for i in ids if fold[i] != k]
        kept = set(others[:round(len(others) * train_share)])
        model, bias = fit_answer_model([x for x in rows if x["id"] in kept], names)
        p = functools.partial(abstention.confidence, model=model, bias=bias, names=names)
        out.update(best_sentences([x for x in rows if fold[x["id"]] == k], "all", p, topic_threshold))
    return out


def answer_figures(rows: list[dict], topic_threshold: float, names=SENTENCE_FEATURES, train_share: float = 1.0,
                   shuffles: int = 3) -> np.ndarray:
    """Out-of-fold (right sentence ranked first, first sentence right at the threshold :func:`choose_answer_threshold`
    picks, answerable declined, on-topic unanswerable declined, English first sentence right): the mean over
    ``shuffles`` deals of the questions to folds (:func:`out_of_fold`; rows need ``lang``)."""
    ids = sorted({x["id"] for x in rows})
    answerable = {x["id"]: x["answerable"] for x in rows}
    english = {x["id"]: x["lang"] == "en" for x in rows}
    figures = []
    for seed in range(shuffles):
        best = out_of_fold(rows, topic_threshold, FOLDS, names, seed, train_share)
        scored = [best[q] for q in ids]
        threshold = choose_answer_threshold(scored, [answerable[q] for q in ids])
        right = {q: best[q][0] >= threshold and best[q][1] for q in ids}
        una, declined = rates([p for p, _ in scored], [answerable[q] for q in ids], threshold)
        figures.append((np.mean([best[q][1] for q in ids if answerable[q]]),
                        np.mean([right[q] for q in ids if answerable[q]]), declined, una,
                        np.mean([right[q] for q in ids if answerable[q] and english[q]])))
    return np.mean(figures, axis=0)


def tune_candidates(cache) -> tuple[list[dict], float]:
    """The tune half's candidate sentences (:func:`sentence_rows`) with the question and its language, and the
    engine's topic threshold (the experiments on the tune half start here; the held-out half is not read)."""
    r = Retriever.from_settings()
    cases = load_testset(HERE / "testset.jsonl", {d.doc_id: d.text for d in load_corpus(r.settings.corpus_dir)})
    cases = [c for c in cases if c.split == "tune"]
    r = _with_cache(r, cache)
    r.embedder.prime([c.question for c in cases])
    by_id = {c.id: c for c in cases}
    rows = sentence_rows(r, cases)
    for x in rows:
        x["question"], x["lang"] = by_id[x["id"]].question, by_id[x["id"]].lang
    return rows, r.settings.topic_threshold


def isotonic(probs: list[float], right: list[bool]) -> list[tuple[float, float]]:
    """A monotone map from the answer model's probability to the share of first sentences right (pool adjacent
    violators, each step holding at least ``MIN_BLOCK`` answers so that no share rests on a handful; shares by
    :func:`_share`), as ``(probability, share)`` points to interpolate between; ``[]`` without examples."""
    pairs = sorted(zip(probs, right))
    blocks: list[list[float]] = []  # [sum right, count, lowest p, highest p]
    for p, ok in pairs:
        blocks.append([float(ok), 1.0, p, p])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            last = blocks.pop()
            blocks[-1] = [blocks[-1][0] + last[0], blocks[-1][1] + last[1], blocks[-1][2], last[3]]
    merged: list[list[float]] = []  # a step of fewer than MIN_BLOCK answers is merged into the one below it
    for block in blocks:
        if merged and (block[1] < MIN_BLOCK or merged[-1][1] < MIN_BLOCK):
            last = merged.pop()
            block = [last[0] + block[0], last[1] + block[1], last[2], block[3]]
        merged.append(block)
    points = []
    for total, n, lo, hi in merged:
        share = round(_share(total, n), 4)
        points += [(round(lo, 4), share), (round(hi, 4), share)]
    return list(dict.fromkeys(points))


def level_accuracy(answered: list[tuple[float, bool]], points: list[tuple[float, float]]) -> list[float | None]:
    """How often the first sentence was right under each label (high, medium, low), on out-of-fold answers."""
    out = []
    for lo, hi in ((CONFIDENCE_HIGH, 2.0), (CONFIDENCE_MEDIUM, CONFIDENCE_HIGH), (-1.0, CONFIDENCE_MEDIUM)):
        band = [ok for p, ok in answered if lo <= calibrate_probability(p, points) < hi]
        out.append(round(_share(sum(band), len(band)), 3) if band else None)
    return out


def _share(right: float, n: float) -> float:
    """The share right, pulled towards one half by one right and one wrong answer more (Laplace): ten answers
    all right claim 0.92, not a certainty."""
    return (right + 1) / (n + 2)


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
        rr = r.replace(settings=settings)
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

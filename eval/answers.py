"""Judging the answer step: does the quoted sentence hold the answer, and is each outcome right?

For every case, ``Retriever.answer`` (hybrid) gives an outcome (answered,
related, off_topic), a calibrated probability and the quoted sentences. A quoted
sentence is *right* when it holds a gold answer span of the case (the
``answer`` field of the test set; the ``answers`` quotes when a case has none),
by :func:`eval.relevance.sentence_answers`. The figures:

* answer accuracy: share of answerable questions whose first quoted sentence,
  and separately any quoted sentence, is right (a decline counts as wrong), beside
  its ceiling, the share whose returned passages hold a gold span at all;
* outcomes by kind (answerable, on-topic and off-topic unanswerable);
* answerable questions wrongly declined;
* reliability of the probability of the first quoted sentence (expected
  calibration error over 10 bins), the precision of each confidence label, and
  the risk-coverage curve (risk: share of answered questions whose first sentence
  is wrong, unanswerable ones included, as the probability cut-off rises).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from rag.settings import ROOT

from .common import percentile
from .relevance import is_relevant, normalize, sentence_answers
from .testset import Case

KINDS = ("answerable", "unanswerable_on_topic", "unanswerable_off_topic")
BINS = 10


@dataclass
class Outcome:
    case: Case
    status: str
    probability: float
    level: str
    first_right: bool
    any_right: bool
    sentences: list[str]
    seconds: float
    reachable: bool = False  # a returned passage holds a gold span: the answer step could quote it


def group(case: Case) -> str:
    if case.answerable:
        return "answerable"
    return "unanswerable_off_topic" if case.kind == "unanswerable_off_topic" else "unanswerable_on_topic"


def gold_spans(case: Case):
    return case.spans or case.answers


def judge(case: Case, answer) -> tuple[bool, bool]:
    """(first quoted sentence right, some quoted sentence right) for an engine ``Answer``."""
    if not case.answerable or answer.status != "answered":
        return False, False
    right = [sentence_answers(answer.passages[s.passage].doc_id, normalize(s.text), gold_spans(case))
             for s in answer.sentences]
    return bool(right and right[0]), any(right)


def run(retriever, cases: list[Case], k: int = 5) -> list[Outcome]:
    """Ask every case (hybrid, ``k`` passages) and judge the answer."""
    out = []
    for c in cases:
        retriever.forget_questions()  # its analysis, kept when asked before (by the retrieval runs), is timed too
        started = time.perf_counter()
        a = retriever.answer(c.question, k=k, mode="hybrid")
        seconds = time.perf_counter() - started
        first, anyr = judge(c, a)
        reachable = c.answerable and any(is_relevant(p.doc_id, normalize(p.text), gold_spans(c)) for p in a.passages)
        out.append(Outcome(c, a.status, a.confidence, a.level, first, anyr, [s.text for s in a.sentences], seconds,
                           reachable))
    return out


def analysis_load_seconds() -> float:
    """Seconds a fresh process takes to import and load the question analyser (spaCy's French pipeline),
    as the app does once at start."""
    code = ("import time; t = time.perf_counter(); from rag.text.question import nlp; nlp(); "
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    return round(float(out.stdout.strip().splitlines()[-1]), 2)


def _share(n: int, total: int) -> float | None:
    return round(n / total, 4) if total else None


def reliability(probs, right, bins: int = BINS) -> tuple[float | None, list[dict]]:
    """Expected calibration error and the bins (mean probability, accuracy, count)."""
    probs, right = np.asarray(probs, float), np.asarray(right, float)
    if not len(probs):
        return None, []
    edges = np.linspace(0, 1, bins + 1)
    rows, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (probs >= lo) & ((probs < hi) if hi < 1 else (probs <= hi))
        if not m.any():
            continue
        conf, acc = float(probs[m].mean()), float(right[m].mean())
        ece += m.sum() / len(probs) * abs(conf - acc)
        rows.append({"from": round(float(lo), 2), "to": round(float(hi), 2), "confidence": round(conf, 4),
                     "accuracy": round(acc, 4), "n": int(m.sum())})
    return round(float(ece), 4), rows


def risk_coverage(outcomes: list[Outcome]) -> list[tuple[float, float, float]]:
    """(cut-off, coverage, risk) over the answered questions, as the probability cut-off rises."""
    answered = sorted((o for o in outcomes if o.status == "answered"), key=lambda o: -o.probability)
    if not answered:
        return []
    total, wrong, curve = len(outcomes), 0, []
    for n, o in enumerate(answered, 1):
        wrong += not o.first_right
        curve.append((round(o.probability, 4), round(n / total, 4), round(wrong / n, 4)))
    return curve


def summarize(outcomes: list[Outcome]) -> dict:
    """The answer-step figures of some outcomes (one split)."""
    ans = [o for o in outcomes if o.case.answerable]
    by_kind = {}
    for kind in KINDS:
        os_ = [o for o in outcomes if group(o.case) == kind]
        by_kind[kind] = {"cases": len(os_), **{s: _share(sum(o.status == s for o in os_), len(os_))
                                                for s in ("answered", "related", "off_topic")}}
    answered = [o for o in outcomes if o.status == "answered"]
    ece, bins = reliability([o.probability for o in answered], [o.first_right for o in answered])
    levels = {lv: {"n": sum(o.level == lv for o in answered),
                   "precision": _share(sum(o.first_right for o in answered if o.level == lv),
                                       sum(o.level == lv for o in answered))}
              for lv in ("high", "medium", "low")}
    seconds = sorted(o.seconds for o in outcomes)
    return {
        "cases": len(outcomes),
        "answerable": len(ans),
        "answer_reachable": _share(sum(o.reachable for o in ans), len(ans)),
        "first_sentence_right": _share(sum(o.first_right for o in ans), len(ans)),
        "any_sentence_right": _share(sum(o.any_right for o in ans), len(ans)),
        "first_right_when_answered": _share(sum(o.first_right for o in ans if o.status == "answered"),
                                            sum(o.status == "answered" for o in ans)),
        "answerable_wrongly_declined": _share(sum(o.status != "answered" for o in ans), len(ans)),
        "on_topic_unanswerable_declined": _share(
            sum(o.status != "answered" for o in outcomes if group(o.case) == "unanswerable_on_topic"),
            sum(group(o.case) == "unanswerable_on_topic" for o in outcomes)),
        "off_topic_as_off_topic": by_kind["unanswerable_off_topic"]["off_topic"],
        "outcomes": by_kind,
        "ece": ece,
        "reliability": bins,
        "levels": levels,
        "risk_coverage": risk_coverage(outcomes),
        "answer_ms_p50": round(1000 * percentile(seconds, 50), 1) if seconds else None,
    }


def details(outcomes: list[Outcome]) -> list[dict]:
    """One row per case, for error analysis."""
    return [{"id": o.case.id, "split": o.case.split, "kind": o.case.kind, "lang": o.case.lang,
             "question": o.case.question, "status": o.status, "probability": o.probability, "level": o.level,
             "first_right": o.first_right, "any_right": o.any_right,
             "gold": [a.quote for a in gold_spans(o.case)], "quoted": o.sentences} for o in outcomes]

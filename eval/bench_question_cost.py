"""Worst-case cost of one question (a benchmark: figures printed, nothing timed in the tests).

    python -m eval.bench_question_cost            # real corpus, the app's index (RAG_* settings)
    python -m eval.bench_question_cost --index DIR --repeat 5

Times ``Retriever.answer`` (hybrid, k=5, warm) for normal questions of the test set and for questions of
2,000 characters built to cost the most (emoji, CJK characters, « é », « a. » repeated: every character is a
token), and prints the median of each kind and its ratio to the normal median. Questions are cut to
``rag.retrieval.request.QUESTION_TOKENS`` tokens before any model work, so the ratio stays bounded (issue 9 asks for
at most 3×).
"""

from __future__ import annotations

import argparse
import sys

from .common import percentile, questions, timed

HOSTILE = {
    "emoji": "💥" * 2000,
    "cjk": "中" * 2000,
    "accents": "é" * 2000,
    "a-dot": ("a. " * 2000)[:2000],
    "mixed": ("drones 💥 中文 a. é " * 200)[:2000],
    "long-french": ("Que signifie un contrôle humain significatif des drones ? " * 40)[:2000],
}


def main(argv=None) -> int:
    from rag import Retriever, Settings
    from rag.retrieval.request import QUESTION_TOKENS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", help="index folder (default: RAG_INDEX_DIR or ./.index)")
    ap.add_argument("--repeat", type=int, default=2, help="rounds per normal question")
    ap.add_argument("--normal", type=int, default=20, help="how many test-set questions")
    args = ap.parse_args(argv)
    r = Retriever.from_settings(Settings.from_env(index_dir=args.index))
    r.warm_up()
    pool = questions(args.normal)
    # Every question pays its embedding: the query cache would make the repeated hostile ones look free.
    fresh = getattr(r.embedder, "clear_query_cache", None)
    kinds = {"normal": None, **HOSTILE}
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    # Interleaved rounds: a load change on the shared machine hits every kind alike.
    for i in range(args.repeat * len(pool)):
        for kind, q in kinds.items():
            if fresh is not None:
                fresh()
            times[kind].extend(timed(lambda _: r.answer(q or pool[i % len(pool)]), 1))
    base = percentile(times["normal"], 50)
    print(f"embedder {r.embedder.name}; question budget {QUESTION_TOKENS} tokens; {len(times['normal'])} rounds")
    print(f"{'kind':12} {'chars':>5} {'tokens sent':>11} {'tokens kept':>11} {'median':>9} {'p90':>8} {'ratio':>6}")
    worst = 0.0
    for kind, q in kinds.items():
        values = times[kind]
        med = percentile(values, 50)
        worst = max(worst, med / base)
        sent = f"{len(q):5d} {r.embedder.count_tokens(q):11d} {r.embedder.count_tokens(r.fit_question(q)):11d}" if q \
            else f"{'':5} {'':11} {'':11}"
        print(f"{kind:12} {sent} {med * 1000:7.0f} ms {percentile(values, 90) * 1000:6.0f} ms "
              f"{med / base:5.2f}×")
    print(f"worst ratio of a median to the normal median: {worst:.2f}× (target ≤ 3×)")
    return 0 if worst <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())

"""What « Pourquoi ce passage ? » adds to an answer (a benchmark: figures printed, nothing timed in the tests).

    python -m eval.bench_explain                  # real corpus, the app's index (RAG_* settings)
    python -m eval.bench_explain -n 50

Answers ``n`` questions of the test set (hybrid, k=5) twice, the first time in a fresh process, and times, within
each answer, the work done only for its explanations: the keyword terms of each passage
(``Retriever._indexed_terms``) and ``rag.answering.explain.explanations``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from .common import questions


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench_explain", description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=20, help="questions of the test set (default 20)")
    args = parser.parse_args(argv)
    import rag.retriever as retriever_module
    from rag import Retriever

    spent = [0.0]

    def timing(fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[0] += time.perf_counter() - t
        return wrapper

    retriever_module.explain.explanations = timing(retriever_module.explain.explanations)
    retriever_module.Retriever._indexed_terms = timing(retriever_module.Retriever._indexed_terms)
    r = Retriever.from_settings()
    r.warm_up()
    qs = questions(args.n)
    for label in ("first time", "again"):
        added, total = [], []
        for q in qs:
            spent[0] = 0.0
            t = time.perf_counter()
            r.answer(q, k=5)
            total.append((time.perf_counter() - t) * 1000)
            added.append(spent[0] * 1000)
        print(f"{label}: explanations {statistics.mean(added):.2f} ms per answer on average, at most "
              f"{max(added):.2f} ms ({len(qs)} questions, k=5); the answers {statistics.mean(total):.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

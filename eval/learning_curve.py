"""Would more labelled questions help the answer model? ``python -m eval.learning_curve`` measures it.

    python -m eval.learning_curve    # about 2 minutes on 2 cores

On the tune half only (the held-out half is not read): the answer model as shipped (``eval.calibrate``'s logistic
model over ``SENTENCE_FEATURES``) fitted, in each fold of 5, on a third, half, three quarters or all of the other
folds' questions, and scored out of fold (``eval.calibrate.answer_figures``, as ``python -m eval.reader_trial``
prints them: right sentence ranked first, first quoted sentence right at the threshold ``eval.calibrate`` would
choose, answerable questions declined, on-topic unanswerable ones declined, English first sentence right; 4 deals of
the questions to folds). A curve still rising at the right says more questions would pay; a flat one says this model
has learnt what its signals can tell.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rag.answering.extraction import SENTENCE_FEATURES

from .calibrate import HERE, answer_figures, tune_candidates

SHARES = (1 / 3, 1 / 2, 3 / 4, 1.0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m eval.learning_curve", description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", default=str(HERE / ".cache"), help="question vectors' cache")
    p.add_argument("--shuffles", type=int, default=4, help="deals of the questions to folds (default: %(default)s)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows, topic_threshold = tune_candidates(Path(args.cache))
    questions = len({x["id"] for x in rows})
    print(f"tune half: {questions} questions, {len(rows)} candidate sentences")
    print("questions fitted on | ranked first | first right | declined | unanswerable declined | English first right")
    for share in SHARES:
        figures = answer_figures(rows, topic_threshold, SENTENCE_FEATURES, share, args.shuffles)
        fitted = f"  {round(questions * 4 / 5 * share):>3} ({share:.0%})"
        print(fitted.ljust(20) + "".join(f" | {v:.3f}" for v in figures))


if __name__ == "__main__":
    main()

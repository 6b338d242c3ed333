"""Which of the weighed passages an answer shows, in which order.

The answer step weighs the sentences of the first ``ANSWER_FROM`` ranked passages whatever the number of passages
asked for (the number the answer model and its labels are fitted on, ``eval.calibrate``), so that asking for 1 or
10 passages gives the same outcome, quote and label as the default 5. An answer then shows ``k`` passages: the
first ``k`` ranked, with the passage holding the first quoted sentence moved to the top when its label is
« moyenne » or « élevée » (measured on the tune half: R@1 up by 3 points, R@5 the same; docs/evaluation.md has the
held-out figures) or when it is not among the first ``k``; the other passages keep their order.
"""

from __future__ import annotations

from rag.answering.extraction import Candidate
from rag.retrieval.ranking import Ranked

ANSWER_FROM = 5  # answer sentences come from this many top passages (their rank is a signal)


def shown_passages(pool: list[Ranked], scored: list[Candidate], chosen: list[Candidate], k: int,
                   answer_first: bool) -> tuple[list[Ranked], list[Candidate], list[Candidate], bool]:
    """The ``k`` passages shown out of ``pool`` (the ranked passages, at least ``k``), the candidates and quoted
    sentences of those passages renumbered to match (a quoted sentence of a passage not shown is dropped), and
    whether the passage of the first quote was moved to the top.

    Args:
        answer_first: move the passage of ``chosen[0]`` to the top (it is moved there anyway when it is not among
            the first ``k``).
    """
    moved = bool(chosen) and chosen[0].passage > 0 and (answer_first or chosen[0].passage >= k)
    order = list(range(len(pool)))
    if moved:
        first = chosen[0].passage
        order = [first] + [i for i in order if i != first]
    new = {old: n for n, old in enumerate(order[:k])}

    def renumbered(cands: list[Candidate]) -> list[Candidate]:
        # dataclasses.replace, without its checks of every field (a dozen candidates an answer)
        return [type(c)(**{**c.__dict__, "passage": new[c.passage]}) for c in cands if c.passage in new]

    return [pool[i] for i in order[:k]], renumbered(scored), renumbered(chosen), moved

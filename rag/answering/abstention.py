"""Whether the corpus is about a question at all: a small logistic model over retrieval signals.

Its probability separates ``off_topic`` questions from the rest (see
``rag.answering.extraction`` for whether a sentence *answers*); the same fitting code serves
the answer model over sentence signals.

e5 cosine scores are compressed (relevant and irrelevant passages both score
about 0.80-0.91), so no fixed cutoff on one score separates them. The
confidence combines several signals, each standardised, in a logistic model
whose weights are fitted on the tuning half of the test set
(``python -m eval --calibrate``) and stored in the settings:

* ``top_dense``: best cosine between the question and a passage;
* ``best_sentence``: best cosine between the question and a single sentence;
* ``coverage``: share of the question's keywords that occur in the corpus;
* ``passage_coverage``: share of them that occur in the top three passages;
* ``english``: 1 for a question in English (its keywords rarely match French text).
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

FEATURES = ("top_dense", "best_sentence", "coverage", "passage_coverage", "english")


def confidence(features: dict[str, float], model: Sequence[Sequence[float]], bias: float,
               names: Sequence[str] = FEATURES) -> float:
    """Probability-like confidence in [0, 1] that the corpus answers the question.

    ``confidence = sigmoid(bias + sum_i weight_i * (x_i - mean_i) / scale_i)``

    Args:
        features: the values named in ``names``.
        model: one ``(mean, scale, weight)`` triple per feature, in ``names`` order.
        bias: intercept of the logistic model.
        names: the features, ``FEATURES`` by default.
    """
    try:
        terms = _terms(model, tuple(names))
    except TypeError:  # a model given as lists (not hashable)
        terms = _terms.__wrapped__(model, tuple(names))
    z = bias + sum([w * (features[name] - mean) / scale for name, mean, scale, w in terms])
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@functools.lru_cache(maxsize=64)  # a model weighs every candidate sentence of every question
def _terms(model: Sequence[Sequence[float]], names: tuple[str, ...]) -> tuple[tuple[str, float, float, float], ...]:
    """``(name, mean, scale, weight)`` of each feature, a scale of 0 read as 1."""
    if len(model) != len(names):
        raise ValueError(f"the model needs one (mean, scale, weight) per feature {tuple(names)}")
    return tuple((name, mean, scale or 1.0, w) for name, (mean, scale, w) in zip(names, model))


def fit(rows: Sequence[dict[str, float]], labels: Sequence[bool], l2: float = 1.0,
        steps: int = 3000, lr: float = 0.1, names: Sequence[str] = FEATURES,
        balanced: bool = True) -> tuple[tuple[tuple[float, float, float], ...], float]:
    """Fit the logistic model on feature rows (``labels``: True for the positive class).

    With ``balanced`` the classes are weighted to count equally (when one is
    rare); without it the output is a calibrated probability.

    Returns:
        ``(model, bias)`` as stored in the settings.
    """
    import numpy as np

    x = np.array([[r[name] for name in names] for r in rows], dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if len(x) == 0 or y.min() == y.max():
        raise ValueError("calibration needs examples of both classes")
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean())) if balanced else np.ones_like(y)
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = weight * (p - y)
        w -= lr * (z.T @ g / len(y) + l2 * w / len(y))
        b -= lr * g.mean()
    model = tuple((float(m), float(s), float(c)) for m, s, c in zip(mean, scale, w))
    return model, float(b)

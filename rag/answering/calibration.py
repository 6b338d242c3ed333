"""The values ``python -m eval --calibrate --write`` fits (the topic and answer models, thresholds, the confidence
labels' map and claims), read from ``corpus/calibration.json``: domain data, kept beside the corpus."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

# Values fitted by ``python -m eval --calibrate --write``: domain data, kept beside the corpus (``calibration_file``).
CALIBRATION = Path(__file__).resolve().parents[2] / "corpus" / "calibration.json"
# What each fitted value is when the file is missing, unreadable, or from an older version of the features.
CALIBRATED: dict = {
    "topic_model": [(0.85, 0.02, 1.0), (0.86, 0.02, 1.0), (0.7, 0.3, 1.0), (0.5, 0.3, 1.0), (0.4, 0.5, 0.0)],
    "topic_bias": 0.0,
    "topic_threshold": 0.5,
    "answer_model": [  # the fitted model, rounded
        (0.813, 0.0393, 0.338), (-0.0407, 0.031, 0.372), (0.127, 0.155, 0.26), (0.168, 0.211, -0.1),
        (0.415, 0.277, 0.0515), (1.97, 1.43, -0.552), (0.732, 0.443, 0.0852), (0.404, 0.491, -0.234),
        (0.811, 0.326, 0.704), (0.434, 0.496, -0.013), (0.261, 0.355, 0.654), (0.475, 0.363, 0.299),
        (0.604, 0.399, 0.597), (0.297, 0.394, -0.227), (0.0458, 0.209, 0.0364), (0.627, 0.475, 0.0216),
        (5.39, 3.37, -0.473), (-0.0193, 0.0255, -0.274), (0.424, 0.494, -0.143), (3.06, 0.896, 0.117),
        (0.0855, 0.173, -0.039), (0.0648, 0.246, 0.37), (0.0363, 0.187, 0.18), (0.00223, 0.0258, -0.131),
        (0.114, 0.317, 0.362), (0.29, 0.454, -0.506), (0.0838, 0.277, -0.0996), (0.0279, 0.165, -0.586),
        (0.0232, 0.15, -0.592), (0.357, 0.37, -0.256), (0.022, 0.147, -0.374), (-0.253, 0.226, 0.851),
        (-0.319, 0.274, -0.46), (-0.363, 0.347, 0.0454), (-0.333, 0.346, -0.0106), (-0.202, 0.402, -0.12),
        (-0.0829, 0.276, 0.0859), (-0.194, 0.238, 0.718)],
    "answer_bias": -5.29,
    "answer_threshold": 0.3,
    "confidence_high": 0.8,
    "confidence_medium": 0.55,
    "answer_calibration": [],
    "level_accuracy": [],
}


@functools.lru_cache(maxsize=8)
def _read_calibration(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def calibrated(name: str, path: str | Path = CALIBRATION):
    """The value of ``name`` fitted by ``python -m eval --calibrate --write`` (the file at ``path``), if any.

    A fitted model with another number of features than the fallback (a file from an
    older version of the features) is ignored for the fallback."""
    fallback = CALIBRATED[name]
    value = _read_calibration(str(path)).get(name, fallback)
    if isinstance(fallback, list) and (not isinstance(value, list) or (name.endswith("_model")
                                                                        and len(value) != len(fallback))):
        logging.getLogger("rag").warning("%s in %s does not fit the current features; using the defaults "
                                         "(refit with python -m eval --calibrate --write)", name, Path(path).name)
        return fallback
    return value

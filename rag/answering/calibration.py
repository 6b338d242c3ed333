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
        (0.814, 0.0395, 0.227), (-0.0425, 0.0315, 0.0625), (0.135, 0.159, 0.175), (0.168, 0.215, 0.131),
        (0.453, 0.281, -0.0664), (1.96, 1.42, -0.804), (0.745, 0.436, -0.0112), (0.409, 0.492, -0.329),
        (0.825, 0.324, 0.615), (0.438, 0.496, -0.101), (0.266, 0.355, 0.422), (0.497, 0.359, 0.0245),
        (0.66, 0.381, 0.513), (0.298, 0.392, -0.129), (0.0476, 0.213, 0.0364), (0.635, 0.472, 0.123),
        (5.39, 3.37, -0.451), (-0.0199, 0.0262, 0.019), (0.424, 0.494, -0.0452), (3.06, 0.865, 0.143),
        (0.0857, 0.177, 0.0789), (0.0577, 0.233, 0.374), (0.0345, 0.182, 0.243), (0.00217, 0.0258, -0.151),
        (0.126, 0.332, 0.517), (0.282, 0.45, -0.741), (0.0975, 0.297, -0.117), (0.0306, 0.172, -0.593),
        (0.0217, 0.146, -0.585), (0.37, 0.371, -0.0114), (0.0288, 0.167, -0.461), (0.0621, 0.241, -0.368),
        (-0.272, 0.226, 0.438), (-0.355, 0.282, 0.0193), (-0.371, 0.34, 0.126), (-0.331, 0.339, -0.282),
        (-0.203, 0.402, -0.379), (-0.0785, 0.269, 0.054), (-0.202, 0.233, 0.957)],
    "answer_bias": -5.41,
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

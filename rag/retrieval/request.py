"""What a question request may be: its limits, its typed error, and the question's normalisation and cut.

The engine, the command line and the web UI all check a question here (the UI maps ``QueryError.code`` to
French messages).
"""

from __future__ import annotations

import unicodedata

MAX_QUESTION_CHARS = 2000
# What one question may cost: it is cut to this many of the embedder's own tokens (prefix and special tokens
# included) before any model work, so a 2,000-character question of emoji or CJK characters (one token each)
# costs about what a long question does. The test set's questions have 41 tokens at most (median 25); a cut
# question of 64 tokens costs about 2.5× a median one (python -m eval.bench_question_cost), one of 128 about 4×.
QUESTION_TOKENS = 64
MAX_K = 50


class QueryError(ValueError):
    """A question or an option the engine cannot take; the message says what is allowed.

    ``code`` names the problem for callers that word it themselves (the app maps it to French):
    ``not_text``, ``empty``, ``too_long``, ``bad_k``, ``bad_mode``, ``bad_docs``, ``no_docs``,
    ``too_many_docs``, ``unknown_docs``. ``detail`` holds what the message quotes (a short prefix of
    what was sent, never all of it).
    """

    CODES = ("not_text", "empty", "too_long", "bad_k", "bad_mode", "bad_docs", "no_docs", "too_many_docs",
             "unknown_docs")

    def __init__(self, message: str, code: str = "bad_request", detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail


ECHO_CHARS = 40  # an error message quotes at most this much of one value that was sent


def shown(value) -> str:
    """``repr(value)`` cut to ``ECHO_CHARS`` characters, for error messages."""
    text = repr(value) if not isinstance(value, str) else repr(value[:ECHO_CHARS + 1])
    return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS - 1] + "…"


def normalize_question(question) -> str:
    """The question with control characters removed and spaces folded.

    Raises:
        QueryError: not a string, empty, or longer than ``MAX_QUESTION_CHARS``.
    """
    if not isinstance(question, str):
        raise QueryError(f"the question must be text, not {type(question).__name__}", "not_text")
    kept = "".join(ch if unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn") else " " for ch in question)
    text = " ".join(kept.split())
    if not any(unicodedata.category(ch)[0] in "LNPS" for ch in text):  # only spaces or invisible marks
        raise QueryError("the question is empty", "empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise QueryError(f"the question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}",
                         "too_long", str(len(text)))
    return text


def fit_question(text: str, count_tokens, budget: int = QUESTION_TOKENS) -> str:
    """The longest prefix of ``text`` that ``count_tokens`` puts within ``budget`` tokens, cut at a space when
    one is near the end. ``text`` itself when it fits (one call to ``count_tokens``: the usual case).

    The cut is found by bisection on the prefix length (about 11 calls of a fast tokenizer for 2,000
    characters), so the cost of measuring is bounded too.
    """
    if count_tokens(text) <= budget:
        return text
    lo, hi = 0, len(text)  # count(text[:lo]) <= budget < count(text[:hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count_tokens(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid
    cut = text[:lo]
    space = cut.rfind(" ")
    if space > 0 and lo - space <= 40:
        cut = cut[:space]
    while cut and count_tokens(cut) > budget:  # a tokenizer whose counts are not monotone in the prefix
        cut = cut[:-1]
    return cut.rstrip() or text[:1]

"""Accents and case folded away, the one way every stage compares words: « Contrôle » and « controle » meet."""

from __future__ import annotations

import unicodedata


def strip_accents(text: str) -> str:
    """``text`` without its accents and other combining marks (compatibility-decomposed: « ﬁ » gives « fi »)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case, without accents, typographic apostrophes made straight."""
    return strip_accents(text.replace("’", "'").lower())

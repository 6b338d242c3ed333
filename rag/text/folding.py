"""Accents and case folded away, the one way every stage compares words: « Contrôle » and « controle » meet."""

from __future__ import annotations

import functools
import unicodedata


def _stripped(char: str) -> str:
    """One character compatibility-decomposed, without its combining marks."""
    return "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))


class _Table(dict):
    """``str.translate``'s table of :func:`strip_accents`, filled as characters are met. Decomposition maps each
    character on its own and reordering only moves combining marks, which are dropped: character by character
    gives the text's result. Only the first 12,288 code points (the alphabets) are kept, a bounded table."""

    def __missing__(self, code: int) -> str:
        value = _stripped(chr(code))
        if code < 0x3000:
            self[code] = value
        return value


_TABLE = _Table()


def strip_accents(text: str) -> str:
    """``text`` without its accents and other combining marks (compatibility-decomposed: « ﬁ » gives « fi »)."""
    return text if text.isascii() else text.translate(_TABLE)


@functools.lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Lower case, without accents, typographic apostrophes made straight (the answer step folds each candidate
    sentence several times: kept for the last 8,192 texts)."""
    return strip_accents(text.replace("’", "'").lower())


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """:func:`fold` of one character (cached apart from whole texts: :func:`fold_mapped` asks it of each)."""
    return fold.__wrapped__(char)


def fold_mapped(text: str) -> tuple[str, list[int]]:
    """:func:`fold` of ``text``, a character at a time (past its cache of whole texts), and for each folded character
    the offset in ``text`` of the one it comes from (« ﬁ » gives two): a match in the folded text leads back to its
    letters."""
    pieces = [_fold_char(c) for c in text]
    return "".join(pieces), [n for n, piece in enumerate(pieces) for _ in piece]

"""Inline markup removed from a line of file text, with every clean character's file span kept.

Used by :mod:`rag.text.cleaning` (paragraphs and headings) and :mod:`rag.text.line_kinds` (a line's
plain text, to recognise it). ``<b>``, ``*emphasis*``, footnote markers ``<sup>1</sup>`` and
tags are dropped; links keep their text; entities, escapes, tabs and runs of spaces are
rewritten; each clean character remembers the file characters it renders.
"""

from __future__ import annotations

import html
import re

import numpy as np

# Inline markup, rewritten with the file offsets kept (see append_inline).
INLINE = re.compile(
    r"(?P<note><sup>\s*\d+\s*</sup>)"
    r"|<sup>(?P<sup>[^<]*)</sup>|<sub>(?P<sub>[^<]*)</sub>"
    r"|(?P<tag></?(?:b|i|u|em|strong|span|br|small|big)\b[^>]*>)"
    r"|\[(?P<ltext>[^\]\n]*)\]\((?P<lurl>[^)\s]*)\)"
    r"|<(?P<auto>https?://[^>\s]+)>"
    r"|(?P<emph>\*{1,3})"
    r"|(?P<ent>&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)"
    r"|\\(?P<esc>[\\`*_{}\[\]()#+\-.!$|<>])"
    r"|(?P<bullet>[▀■●•▪◦]\s)"
    r"|(?P<tab>\t+)"
    r"|(?P<space>[ \u00a0]{2,})"
)


class SpannedText:
    """Accumulates clean characters with their file spans."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.starts: list[np.ndarray] = []
        self.ends: list[np.ndarray] = []
        self.length = 0

    def copy(self, raw: str, base: int) -> None:
        """Append file text verbatim (one clean char per file char)."""
        if not raw:
            return
        idx = np.arange(base, base + len(raw), dtype=np.int32)
        self.parts.append(raw)
        self.starts.append(idx)
        self.ends.append(idx + 1)
        self.length += len(raw)

    def put(self, text: str, start: int, end: int) -> None:
        """Append replacement text that renders the file span ``start:end``."""
        if not text:
            return
        self.parts.append(text)
        self.starts.append(np.full(len(text), start, dtype=np.int32))
        self.ends.append(np.full(len(text), end, dtype=np.int32))
        self.length += len(text)

    def add(self, text: str, starts: np.ndarray, ends: np.ndarray) -> None:
        """Append clean text whose file spans are already known (one entry of each per character)."""
        self.parts.append(text)
        self.starts.append(starts)
        self.ends.append(ends)
        self.length += len(text)

    def trim_end(self) -> None:
        """Drop trailing spaces (a removed marker may leave one)."""
        while self.parts and self.parts[-1].endswith(" "):
            last = self.parts[-1]
            keep = len(last.rstrip(" "))
            cut = len(last) - keep
            self.parts[-1] = last[:keep]
            self.starts[-1] = self.starts[-1][:keep]
            self.ends[-1] = self.ends[-1][:keep]
            self.length -= cut
            if not keep:
                self.parts.pop(), self.starts.pop(), self.ends.pop()

    def tail(self) -> str:
        return self.parts[-1] if self.parts else ""

    def arrays(self) -> tuple[str, np.ndarray, np.ndarray]:
        if not self.parts:
            return "", np.zeros(0, np.int32), np.zeros(0, np.int32)
        return "".join(self.parts), np.concatenate(self.starts), np.concatenate(self.ends)


def append_inline(out: SpannedText, raw: str, base: int) -> None:
    """Append one line of file text with inline markup removed."""
    pos = 0
    for m in INLINE.finditer(raw):
        a, b = m.span()
        out.copy(raw[pos:a], base + pos)
        kind = "ltext" if m.group("ltext") is not None else m.lastgroup
        if kind in ("sup", "sub"):
            out.copy(m.group(kind), base + m.start(kind))
        elif kind == "ltext":
            text = m.group("ltext")
            if text:
                out.copy(text, base + m.start("ltext"))
            elif m.group("lurl") not in ("", "#"):
                out.copy(m.group("lurl"), base + m.start("lurl"))
        elif kind == "auto":
            out.copy(m.group("auto"), base + m.start("auto"))
        elif kind == "ent":
            out.put(html.unescape(m.group("ent")), base + a, base + b)
        elif kind == "esc":
            out.copy(m.group("esc"), base + m.start("esc"))
        elif kind == "tab":
            out.put(" | ", base + a, base + b)
        elif kind == "space":
            out.put(" ", base + a, base + b)
        # note, tag, emph, bullet: dropped
        pos = b
    out.copy(raw[pos:], base + pos)


def plain(raw: str) -> str:
    out = SpannedText()
    append_inline(out, raw, 0)
    return out.arrays()[0].strip()

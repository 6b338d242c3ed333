"""Clean a converted document without losing the way back to the file.

The corpus files are markdown converted from PDF and web pages: footnote
markers and blocks, ``---`` page breaks, a table of contents with dotted
leaders, ``<b>``/``<i>`` tags, stray web lines. :func:`clean_document` turns a
file into a :class:`CleanDoc`: the clean text that is indexed and displayed,
every clean character mapped to the span of file characters it renders
(``src_start``/``src_end``), and the document's structure as blocks (headings
and paragraphs with their section path).

Invariant: ``doc.render(doc.src_start[i], doc.src_end[j - 1]) == doc.text[i:j]``
whenever ``i:j`` starts and ends on rendered characters; so a passage cited as
file offsets ``start:end`` can always be checked against the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.text.line_kinds import HEADING, TABLE_ROW, Line, classify_lines, split_lines
from rag.text.markup import SpannedText, append_inline, plain

# The clean text, its blocks and its map to file offsets (with rag.text.line_kinds and rag.text.markup);
# raise it whenever they change (an index records it: rag.index.versions).
CLEANING_VERSION = 2

SENTENCE_END = tuple(".!?:;…»\"”)")
# A line that opens a list item: a bullet or dash, « 1. », « 2) », « (a) », « b) », « iv) ».
LIST_ITEM = re.compile(r"^\s*(?:[*+•▪◦■●▀✓✗➢→]|(?P<loose>[-–—]|\(?\d{1,3}[.)]|\(?[a-z][.)]|\([a-zA-Z]\)"
                       r"|\(?(?:i{1,3}|iv|v|vi{1,3}|ix|x)[.)]))\s+(?=\S)")
ITEM_OPENS = (":", ";")  # a line ending so may be followed by a list item marked with a dash or a number


@dataclass(frozen=True)
class Block:
    """A heading or a paragraph, as a range of the clean text."""

    kind: str  # "heading" or "text"
    start: int  # clean-text offsets
    end: int
    level: int  # heading level; for text, the level of its section
    section: tuple[str, ...]  # heading path this block sits under (a heading includes itself)


@dataclass(frozen=True)
class CleanDoc:
    """Clean text of one file, with the map back to the file's characters."""

    text: str
    src_start: np.ndarray  # int32, len(text): first file offset each clean char renders
    src_end: np.ndarray  # int32, len(text): one past the last file offset it renders
    blocks: tuple[Block, ...]

    def to_file(self, start: int, end: int) -> tuple[int, int]:
        """File offsets of the clean range ``start:end`` (``end > start``)."""
        return int(self.src_start[start]), int(self.src_end[end - 1])

    def to_clean(self, start: int, end: int) -> tuple[int, int]:
        """Clean range of the characters rendered from file offsets ``start:end``."""
        lo = int(np.searchsorted(self.src_start, start, side="left"))
        hi = int(np.searchsorted(self.src_end, end, side="right"))
        return lo, max(lo, hi)

    def render(self, start: int, end: int) -> str:
        """The document's cleaning restricted to the file slice ``start:end``."""
        lo, hi = self.to_clean(start, end)
        return self.text[lo:hi]


def _indent(line: str) -> int:
    """Columns of leading white space (a tab counts four)."""
    body = line.lstrip()
    return len(line[:len(line) - len(body)].expandtabs(4))


def _tabular(line: str) -> bool:
    """A table row: markdown pipes at the start, or a tab between cells."""
    return bool(TABLE_ROW.match(line))


def _item(line: str, prev: str, in_list: bool) -> re.Match | None:
    """The list marker opening ``line``, if it opens a list item.

    A bullet always does. A dash, a number or a letter (« – », « 3. », « b) ») opens
    one only inside a list or after a line ending in « : » or « ; »: a hard-wrapped
    line of prose may well start with « – » or « 3. ».
    """
    m = LIST_ITEM.match(line)
    if m and m.group("loose") and not in_list and not prev.rstrip().endswith(ITEM_OPENS):
        return None
    return m


def _separators(para: list[Line]) -> list[str]:
    """What each line break of a paragraph becomes: ``"\n"`` where the next line starts a
    list item, a table row or an indented block, or after a markdown hard break (two
    trailing spaces); nothing inside a word hyphenated at the line end; a space otherwise
    (a hard-wrapped line). The first entry, for the first line, is unused."""
    seps = [""]
    first = para[0].text
    m = LIST_ITEM.match(first)
    col = len(m.group().expandtabs(4)) if m else _indent(first)
    in_list = bool(m)
    indented = False  # the current line opened an indented block (or continues one)
    for prev, line in zip(para, para[1:]):
        p, s = prev.text, line.text
        ind = _indent(s)
        item = _item(s, p, in_list)
        dedent = indented and ind < col  # the end of an indented block
        if p.endswith("  ") or item or _tabular(p) or _tabular(s) or ind > col or dedent:
            indented = not item and (ind > col or (indented and not dedent))
            seps.append("\n")
            col = len(item.group().expandtabs(4)) if item else ind
            in_list = bool(item) or (in_list and ind > 0)  # an indented block inside an item stays in the list
            continue
        tail = p.rstrip()
        hyphenated = tail.endswith("-") and tail[-2:-1].isalpha() and s.lstrip()[:1].islower()
        seps.append("" if hyphenated else " ")
        col = ind
    return seps


class _Assembler:
    """Builds the clean text and its blocks from a file's classified lines, one paragraph or heading at a time."""

    def __init__(self) -> None:
        self.out = SpannedText()
        self.blocks: list[Block] = []
        self.path: list[tuple[int, str]] = []  # (level, title)
        self.para: list[Line] = []
        self.gap_has_break = False  # a page break or a footnote block since the last paragraph
        self.last_end_file = 0

    def line(self, line: Line) -> None:
        if line.kind == "text":
            self.para.append(line)
            return
        self.flush()
        if line.kind in ("rule", "note"):
            self.gap_has_break = True
        elif line.kind == "heading":
            self.heading(line)

    def flush(self) -> None:
        """End the paragraph under way: a new text block, or the previous one continued across a break."""
        para, out, blocks = self.para, self.out, self.blocks
        self.para = []
        if not para or not any(plain(line.text) for line in para):
            return
        first = para[0]
        prev = blocks[-1] if blocks else None
        joinable = (
            prev is not None and prev.kind == "text"
            and not out.tail().rstrip().endswith(SENTENCE_END)
            and (self.gap_has_break or first.text.lstrip()[:1].islower())
            and not first.text.lstrip().startswith(("-", "|", "*"))
        )
        if joinable:
            out.put(" ", self.last_end_file, first.start)
            start = prev.start
            blocks.pop()
        else:
            if out.length:
                out.put("\n\n", self.last_end_file, first.start)
            start = out.length
        for j, (line, sep) in enumerate(zip(para, _separators(para))):
            if j:
                out.put(sep, para[j - 1].start + len(para[j - 1].text), line.start)
            lead = len(line.text) - len(line.text.lstrip())
            append_inline(out, line.text.strip(), line.start + lead)
            out.trim_end()
        level = self.path[-1][0] if self.path else 0
        blocks.append(Block("text", start, out.length, level, tuple(t for _, t in self.path)))
        self.last_end_file = para[-1].start + len(para[-1].text)
        self.gap_has_break = False

    def heading(self, line: Line) -> None:
        """A heading block, and the section path it opens (an empty title is skipped)."""
        h = HEADING.match(line.text)
        if h:
            level, raw_title = len(h.group(1)), h.group(2)
            title_base = line.start + h.start(2)
        else:
            level, raw_title = line.level or (1 if not self.blocks else 2), line.text.strip()
            title_base = line.start + (len(line.text) - len(line.text.lstrip()))
        heading = SpannedText()
        append_inline(heading, raw_title, title_base)
        title, hs, he = heading.arrays()
        lead, title = len(title) - len(title.lstrip()), title.strip()
        if not title:
            return
        while self.path and self.path[-1][0] >= level:
            self.path.pop()
        self.path.append((level, title))
        out = self.out
        if out.length:
            out.put("\n\n", self.last_end_file, line.start)
        start = out.length
        out.add(title, hs[lead:lead + len(title)], he[lead:lead + len(title)])
        self.blocks.append(Block("heading", start, out.length, level, tuple(t for _, t in self.path)))
        self.last_end_file = line.start + len(line.text)
        self.gap_has_break = False


def clean_document(text: str) -> CleanDoc:
    """Clean one file's text (see the module docstring)."""
    lines = split_lines(text)
    classify_lines(lines, text)
    doc = _Assembler()
    for line in lines:
        doc.line(line)
    doc.flush()
    clean, starts, ends = doc.out.arrays()
    return CleanDoc(clean, starts, ends, tuple(doc.blocks))

"""Clean a converted document without losing the way back to the file.

The corpus files are markdown converted from PDF and web pages: footnote
markers and blocks, ``---`` page breaks, a table of contents with dotted
leaders, ``<b>``/``<i>`` tags, stray web lines. :func:`clean_document` turns a
file into a :class:`CleanDoc`: the clean text that is indexed and displayed,
every clean character mapped to the span of file characters it renders
(``src_start``/``src_end``), and the document's structure as blocks (headings
and paragraphs with their section path).

Footnotes are kept, each as a block of kind ``note``, but out of the way of the text they interrupt: a paragraph
cut by a page break and the notes at the foot of that page still reads as one, and the notes come after the body,
in file order, like endnotes (``notes_start``), each under its section's path and « Notes ».

Invariant: ``doc.render(doc.src_start[i], doc.src_end[j - 1]) == doc.text[i:j]``
whenever ``i:j`` starts and ends on rendered characters and lies within the body or within the notes; so a passage
cited as file offsets ``start:end`` can always be checked against the file. Within each of the two, the offset
maps are in file order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.text.line_kinds import HEADING, NOTE_NUM, NOTE_SUP, TABLE_ROW, Line, classify_lines, split_lines
from rag.text.markup import SpannedText, append_inline, plain

# The clean text, its blocks and its map to file offsets (with rag.text.line_kinds and rag.text.markup);
# raise it whenever they change (an index records it: rag.index.versions).
CLEANING_VERSION = 3

SENTENCE_END = tuple(".!?:;…»\"”)")
# A line that opens a list item: a bullet or dash, « 1. », « 2) », « (a) », « b) », « iv) ».
LIST_ITEM = re.compile(r"^\s*(?:[*+•▪◦■●▀✓✗➢→]|(?P<loose>[-–—]|\(?\d{1,3}[.)]|\(?[a-z][.)]|\([a-zA-Z]\)"
                       r"|\(?(?:i{1,3}|iv|v|vi{1,3}|ix|x)[.)]))\s+(?=\S)")
ITEM_OPENS = (":", ";")  # a line ending so may be followed by a list item marked with a dash or a number
NOTES = "Notes"  # a footnote's section path ends so: (« Introduction », « Notes »)
NOTE_NUMBER = re.compile(r"^(\d{1,3})[. ]")  # the number a footnote's clean text opens with (« 136. », « 3 Voir »)


@dataclass(frozen=True)
class Block:
    """A heading or a paragraph, as a range of the clean text."""

    kind: str  # "heading", "text" or "note" (a footnote)
    start: int  # clean-text offsets
    end: int
    level: int  # heading level; for text, the level of its section
    section: tuple[str, ...]  # heading path this block sits under (a heading includes itself)


@dataclass(frozen=True, eq=False)
class CleanDoc:
    """Clean text of one file, with the map back to the file's characters (equal only to itself: what is derived
    from it, such as its paragraph labels, can be kept per document)."""

    text: str
    src_start: np.ndarray  # int32, len(text): first file offset each clean char renders
    src_end: np.ndarray  # int32, len(text): one past the last file offset it renders
    blocks: tuple[Block, ...]
    notes_start: int | None = None  # where the footnotes begin in the clean text (None: no footnotes)

    def regions(self) -> list[tuple[int, int]]:
        """The body and the footnotes as clean ranges (one range without footnotes or without a body): the offset
        maps are in file order within each."""
        n, at = len(self.text), self.notes_start
        return [(0, at), (at, n)] if at is not None and 0 < at < n else [(0, n)]

    def to_file(self, start: int, end: int) -> tuple[int, int]:
        """File offsets of the clean range ``start:end`` (``end > start``)."""
        return int(self.src_start[start]), int(self.src_end[end - 1])

    def to_clean(self, start: int, end: int) -> tuple[int, int]:
        """Clean range of the characters rendered from file offsets ``start:end``: in the body, or in the footnotes
        when a footnote's character starts nearer to ``start`` (a range of a footnote)."""
        best = None
        for a, b in self.regions():
            lo = a + int(np.searchsorted(self.src_start[a:b], start, side="left"))
            hi = a + int(np.searchsorted(self.src_end[a:b], end, side="right"))
            if lo < b and (best is None or self.src_start[lo] < best[0]):
                best = (int(self.src_start[lo]), lo, max(lo, hi))
        if best is None:
            n = len(self.text)
            return n, n
        return best[1], best[2]

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


def _write(out: SpannedText, para: list[Line]) -> None:
    """Append the lines of one paragraph, joined as :func:`_separators` says, their markup rendered; a footnote
    numbered by a superscript (« <sup>3</sup> Voir… ») keeps its number (« 3 Voir… »)."""
    for j, (line, sep) in enumerate(zip(para, _separators(para))):
        if j:
            out.put(sep, para[j - 1].start + len(para[j - 1].text), line.start)
        text, base = line.text, line.start
        if not j and (m := NOTE_SUP.match(text)):  # the superscript's number, then its text (m ends on its 1st char)
            out.copy(m.group(1), base + m.start(1))
            out.put(" ", base + m.end(1), base + m.end() - 1)
            text, base = text[m.end() - 1:], base + m.end() - 1
        lead = len(text) - len(text.lstrip())
        append_inline(out, text.strip(), base + lead)
        out.trim_end()


class _Assembler:
    """Builds the clean text and its blocks from a file's classified lines, one paragraph or heading at a time."""

    def __init__(self) -> None:
        self.out = SpannedText()
        self.blocks: list[Block] = []
        self.path: list[tuple[int, str]] = []  # (level, title)
        self.para: list[Line] = []
        self.gap_has_break = False  # a page break or a footnote block since the last paragraph
        self.last_end_file = 0
        # the footnotes, apart: their clean text, blocks (offsets within it), the note under way, its file end
        self.notes = SpannedText()
        self.note_blocks: list[Block] = []
        self.note: list[Line] = []
        self.notes_end_file = 0

    def line(self, line: Line) -> None:
        if line.kind == "note":
            self.flush()
            if self.note and (NOTE_SUP.match(line.text) or NOTE_NUM.match(line.text.strip())):  # the next note
                self.flush_note()
            self.note.append(line)
            self.gap_has_break = True
            return
        self.flush_note()
        if line.kind == "text":
            self.para.append(line)
            return
        self.flush()
        if line.kind == "rule":
            self.gap_has_break = True
        elif line.kind == "heading":
            self.heading(line)

    def flush_note(self) -> None:
        """End the footnote under way: a block of the footnotes, under its section's path and « Notes »."""
        para, out = self.note, self.notes
        self.note = []
        if not para or not any(plain(line.text) for line in para):
            return
        if out.length:
            out.put("\n\n", self.notes_end_file, para[0].start)
        start = out.length
        _write(out, para)
        level = self.path[-1][0] if self.path else 0
        self.note_blocks.append(Block("note", start, out.length, level, tuple(t for _, t in self.path) + (NOTES,)))
        self.notes_end_file = para[-1].start + len(para[-1].text)

    def finish(self) -> CleanDoc:
        """The clean text: the body, then the footnotes (each part in file order)."""
        self.flush()
        self.flush_note()
        clean, starts, ends = self.out.arrays()
        blocks = list(self.blocks)
        notes_start = None
        if self.notes.length:
            text, n_starts, n_ends = self.notes.arrays()
            first = self.note_blocks[0]
            at = int(n_starts[first.start])  # the file offset the first footnote starts at
            notes_start = len(clean)
            sep = "\n\n" if clean else ""  # rendering the line break before the first footnote
            shift = len(clean) + len(sep)
            clean += sep + text
            starts = np.concatenate([starts, np.full(len(sep), max(at - 1, 0), np.int32), n_starts])
            ends = np.concatenate([ends, np.full(len(sep), max(at, 1), np.int32), n_ends])
            blocks += [Block(b.kind, b.start + shift, b.end + shift, b.level, b.section) for b in self.note_blocks]
        return CleanDoc(clean, starts, ends, tuple(blocks), notes_start)

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
        _write(out, para)
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
    return doc.finish()

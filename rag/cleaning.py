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

import html
import re
from dataclasses import dataclass

import numpy as np

# Lines that are web-page furniture, not content.
BOILERPLATE = re.compile(
    r"^\s*(scroll to top|retour en haut|back to top|partager( sur)?|share( this)?|imprimer|print|"
    r"lire aussi|read more|cookies?|accept( all)? cookies|menu|skip to (main )?content)\s*[:.!]?\s*$",
    re.IGNORECASE,
)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
RULE = re.compile(r"^\s*(-{3,}|\*{3,}|_{3,})\s*$")
TOC_LINE = re.compile(r"\.{4,}|…{2,}")
NOTE_SUP = re.compile(r"^\s*<sup>(\d+)</sup>\s*\S")
NOTE_NUM = re.compile(r"^(\d{1,3})\.\s+\S")
IMAGE = re.compile(r"^\s*!\[[^\]]*\]\([^)]*\)\s*$")
TOC_TITLES = {"sommaire", "table des matières", "table des matieres", "contents", "table of contents"}
SENTENCE_END = tuple(".!?:;…»\"”)")
CLAUSE_END = tuple(".!?:;…»)")
# A line that opens a list item: a bullet or dash, « 1. », « 2) », « (a) », « b) », « iv) ».
LIST_ITEM = re.compile(r"^\s*(?:[*+•▪◦■●▀✓✗➢→]|(?P<loose>[-–—]|\(?\d{1,3}[.)]|\(?[a-z][.)]|\([a-zA-Z]\)"
                       r"|\(?(?:i{1,3}|iv|v|vi{1,3}|ix|x)[.)]))\s+(?=\S)")
ITEM_OPENS = (":", ";")  # a line ending so may be followed by a list item marked with a dash or a number
TABLE_ROW = re.compile(r"^\s*\||.*\S\t")

# Inline markup, rewritten with the file offsets kept (see _inline).
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


class _Builder:
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


def _inline(out: _Builder, raw: str, base: int) -> None:
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


def _plain(raw: str) -> str:
    out = _Builder()
    _inline(out, raw, 0)
    return out.arrays()[0].strip()


@dataclass
class _Line:
    start: int
    text: str  # without the newline
    kind: str = "text"  # text, blank, heading, rule, note, toc, junk
    level: int = 0  # for a heading found in plain text: its level


def _lines(text: str) -> list[_Line]:
    lines, pos = [], 0
    for raw in text.splitlines(keepends=True):
        body = (raw.splitlines() or [""])[0]  # without its line break, whichever it is
        lines.append(_Line(pos, body))
        pos += len(raw)
    return lines


def _classify(lines: list[_Line], text: str) -> None:
    """Mark each line as text, blank, heading, rule, footnote, table of contents or junk."""
    markers = {int(n) for n in re.findall(r"<sup>\s*(\d+)\s*</sup>", text)}
    sup_notes = any(NOTE_SUP.match(l.text) for l in lines)
    has_headings = any(HEADING.match(l.text) for l in lines)
    in_toc = False
    last = "blank"  # kind of the last non-blank line
    following = _following(lines) if not has_headings else []
    seen_text = False  # a heading above all text is the document's title
    for i, line in enumerate(lines):
        if i and lines[i - 1].kind != "blank":
            last = lines[i - 1].kind
        s = line.text.strip()
        if not s:
            line.kind = "blank"
            continue
        h = HEADING.match(line.text)
        if h:
            in_toc = _plain(h.group(2)).strip(" :").lower() in TOC_TITLES
            line.kind = "toc" if in_toc else "heading"
            continue
        if in_toc or TOC_LINE.search(s) and re.search(r"\d\s*(</\w>)?\s*$", s):
            line.kind = "toc"
            continue
        if RULE.match(s):
            line.kind = "rule"
        elif BOILERPLATE.match(_plain(s)) or IMAGE.match(s):
            line.kind = "junk"
        elif NOTE_SUP.match(s) and sup_notes:
            line.kind = "note"
        elif i and lines[i - 1].kind == "note" and not NOTE_NUM.match(s):
            line.kind = "note"  # a footnote wrapped over several lines
        elif not sup_notes and markers and (m := NOTE_NUM.match(s)) and (
                int(m.group(1)) in markers or last in ("rule", "note")):
            line.kind = "note"
        elif not has_headings and (style := _plain_heading(lines, i, following)):
            line.kind = "heading"
            line.level = 1 if not seen_text else STYLE_LEVELS.get(style) or STYLE_LEVELS[style[:3]] + int(style[3:])
        seen_text = seen_text or line.kind == "text"


def _following(lines: list[_Line]) -> list[tuple[str, int, int]]:
    """For each line: the next non-blank line after it (stripped, "" at the end), the length
    of the run of non-blank lines that one opens, and its index (one pass, from the end)."""
    out: list[tuple[str, int, int]] = [("", 0, -1)] * len(lines)
    nxt, run_len, at, run = "", 0, -1, 0
    for i in range(len(lines) - 1, -1, -1):
        out[i] = (nxt, run_len, at)
        s = lines[i].text.strip()
        run = run + len(s) + 1 if s else 0
        if s:
            nxt, run_len, at = s, run, i
    return out


# Levels of the heading styles of plain text (a heading above all text is the title, level 1).
STYLE_LEVELS = {"title": 2, "partie": 2, "part": 2, "livre": 2, "titre": 2, "chapitre": 3, "chapter": 3,
                "annexe": 3, "annex": 3, "appendix": 3, "roman": 4, "caps": 4, "section": 5, "letter": 5,
                "num": 5, "article": 9}  # "num" + depth: « 1. » is 6, « 1.2 » is 7
NUMBERED = re.compile(r"^(?:(?P<num>\d{1,2}(?:\.\d{1,2}){0,3})\.?|(?P<roman>[IVXLC]{1,6})\.|(?P<letter>[A-H])[.)])"
                      r"\s+(?P<rest>\S.*)$")
KEYWORD = re.compile(r"^(?P<kw>article|chapitre|section|titre|partie|annexe|livre|chapter|part|annex|appendix)"
                     r"\s+(?:\d{1,3}|[IVXLC]{1,6}|premier|première|unique|[A-Z])\b\s*(?:[.:–—-]\s*\S.*)?$",
                     re.IGNORECASE)


def _plain_heading(lines: list[_Line], i: int, following: list[tuple[str, int]]) -> str:
    """The style of the heading line ``i`` of a file without markdown headings, or "".

    A heading stands alone (first line, after a blank line or after a line that ends a
    sentence) and is followed by text. Styles: ``caps`` (« RÉSUMÉ EXÉCUTIF »), numbered
    (« 1. Introduction », « 2.3 Les enjeux », « IV. Conclusion », « B) Méthode »),
    a keyword (« Article 3 », « CHAPITRE II – Définitions ») and ``title``: a short
    title-like line between blank lines above a longer paragraph.
    """
    s = lines[i].text.strip()
    if len(s) > 120 or TABLE_ROW.match(lines[i].text) or s.endswith((",", ";")) or not s[0].isalnum():
        return ""
    prev = lines[i - 1].text.strip() if i else ""
    if prev and not (prev.endswith(CLAUSE_END) or lines[i - 1].kind in ("heading", "rule", "junk", "toc", "note")):
        return ""
    nxt, para_len, at = following[i]
    after_blank = i + 1 < len(lines) and not lines[i + 1].text.strip()
    if not nxt or (not after_blank and nxt[:1].islower()):
        return ""  # nothing follows, or the line runs on into the next one
    words = s.split()
    m = KEYWORD.match(s)
    if m and len(words) <= 15:
        return m.group("kw").lower()
    letters = [c for c in s if c.isalpha()]
    caps = len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)
    next_caps = sum(c.isupper() for c in nxt if c.isalpha()) >= 0.8 * max(1, sum(c.isalpha() for c in nxt))
    m = NUMBERED.match(s)
    if m and len(words) <= 15 and not s.endswith((".", ":")) and m.group("rest")[:1].isupper() and (
            after_blank or len(s) <= 0.75 * len(nxt)):
        if m.group("num"):
            return f"num{m.group('num').count('.') + 1}"
        return "roman" if m.group("roman") else "letter"
    if caps and not next_caps and len(words) <= 15 and not s.endswith("."):
        return "caps"
    if not prev and after_blank and _title_like(s) and (
            para_len > 2 * len(s) + 40 or _title_above_text(lines, at, following)):
        return "title"
    return ""


def _title_like(s: str) -> bool:
    """A short line that does not end a sentence (a short question may be a title)."""
    return len(s.split()) <= 15 and s[0].isupper() and not s.endswith(tuple(".!:;…")) and (
        not s.endswith("?") or len(s) <= 50)


def _title_above_text(lines: list[_Line], at: int, following: list[tuple[str, int, int]]) -> bool:
    """Whether line ``at`` is a title line between blank lines with a longer paragraph below it
    (so that the line above it is a title too: « Partie 1 » over « Le contexte » over text)."""
    if at < 0 or at + 1 >= len(lines) or lines[at + 1].text.strip():
        return False
    s = lines[at].text.strip()
    return _title_like(s) and following[at][1] > 2 * len(s) + 40


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


def _separators(para: list[_Line]) -> list[str]:
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


def clean_document(text: str) -> CleanDoc:
    """Clean one file's text (see the module docstring)."""
    lines = _lines(text)
    _classify(lines, text)

    out = _Builder()
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []  # (level, title)
    para: list[_Line] = []
    gap_has_break = False  # a page break or a footnote block since the last paragraph
    last_end_file = 0

    def flush() -> None:
        nonlocal para, gap_has_break, last_end_file
        if not para or not any(_plain(line.text) for line in para):
            para = []
            return
        first = para[0]
        prev = blocks[-1] if blocks else None
        joinable = (
            prev is not None and prev.kind == "text"
            and not out.tail().rstrip().endswith(SENTENCE_END)
            and (gap_has_break or first.text.lstrip()[:1].islower())
            and not first.text.lstrip().startswith(("-", "|", "*"))
        )
        if joinable:
            out.put(" ", last_end_file, first.start)
            start = prev.start
            blocks.pop()
        else:
            if out.length:
                out.put("\n\n", last_end_file, first.start)
            start = out.length
        for j, (line, sep) in enumerate(zip(para, _separators(para))):
            if j:
                out.put(sep, para[j - 1].start + len(para[j - 1].text), line.start)
            lead = len(line.text) - len(line.text.lstrip())
            _inline(out, line.text.strip(), line.start + lead)
            out.trim_end()
        level = path[-1][0] if path else 0
        blocks.append(Block("text", start, out.length, level, tuple(t for _, t in path)))
        last_end_file = para[-1].start + len(para[-1].text)
        para = []
        gap_has_break = False

    for line in lines:
        if line.kind == "text":
            para.append(line)
            continue
        flush()
        if line.kind in ("rule", "note"):
            gap_has_break = True
        elif line.kind == "heading":
            h = HEADING.match(line.text)
            if h:
                level, raw_title = len(h.group(1)), h.group(2)
                title_base = line.start + h.start(2)
            else:
                level, raw_title = line.level or (1 if not blocks else 2), line.text.strip()
                title_base = line.start + (len(line.text) - len(line.text.lstrip()))
            heading = _Builder()
            _inline(heading, raw_title, title_base)
            title, hs, he = heading.arrays()
            lead, title = len(title) - len(title.lstrip()), title.strip()
            if not title:
                continue
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, title))
            if out.length:
                out.put("\n\n", last_end_file, line.start)
            start = out.length
            out.parts.append(title)
            out.starts.append(hs[lead:lead + len(title)])
            out.ends.append(he[lead:lead + len(title)])
            out.length += len(title)
            blocks.append(Block("heading", start, out.length, level, tuple(t for _, t in path)))
            last_end_file = line.start + len(line.text)
            gap_has_break = False
    flush()
    clean, starts, ends = out.arrays()
    return CleanDoc(clean, starts, ends, tuple(blocks))

"""What each line of a converted file is: text, blank, heading, page break, footnote, table of contents or junk.

:func:`classify_lines` marks the lines of one file; :mod:`rag.text.cleaning` then builds paragraphs
from the text lines and the section path from the headings. Markdown headings (``#``) are
used when a file has them; otherwise headings are recognised in plain text by their style
(capitals, numbering, a keyword such as « Article 3 », a short title line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text.markup import plain

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
CLAUSE_END = tuple(".!?:;…»)")
TABLE_ROW = re.compile(r"^\s*\||.*\S\t")


@dataclass
class Line:
    start: int
    text: str  # without the newline
    kind: str = "text"  # text, blank, heading, rule, note, toc, junk
    level: int = 0  # for a heading found in plain text: its level


def split_lines(text: str) -> list[Line]:
    lines, pos = [], 0
    for raw in text.splitlines(keepends=True):
        body = (raw.splitlines() or [""])[0]  # without its line break, whichever it is
        lines.append(Line(pos, body))
        pos += len(raw)
    return lines


def classify_lines(lines: list[Line], text: str) -> None:
    """Mark each line as text, blank, heading, rule, footnote, table of contents or junk."""
    markers = {int(n) for n in re.findall(r"<sup>\s*(\d+)\s*</sup>", text)}
    sup_notes = any(NOTE_SUP.match(line.text) for line in lines)
    has_headings = any(HEADING.match(line.text) for line in lines)
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
            in_toc = plain(h.group(2)).strip(" :").lower() in TOC_TITLES
            line.kind = "toc" if in_toc else "heading"
            continue
        if in_toc or TOC_LINE.search(s) and re.search(r"\d\s*(</\w>)?\s*$", s):
            line.kind = "toc"
            continue
        if RULE.match(s):
            line.kind = "rule"
        elif BOILERPLATE.match(plain(s)) or IMAGE.match(s):
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


def _following(lines: list[Line]) -> list[tuple[str, int, int]]:
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


def _plain_heading(lines: list[Line], i: int, following: list[tuple[str, int]]) -> str:
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
    # A numbered line that ends like a sentence (« 3 États ? ») right under text is a wrapped sentence's end.
    if m and len(words) <= 15 and not s.endswith((".", ":")) and m.group("rest")[:1].isupper() and (
            after_blank or len(s) <= 0.75 * len(nxt)) and not (prev and s.endswith(("?", "!"))):
        if m.group("num"):
            return f"num{m.group('num').count('.') + 1}"
        return "roman" if m.group("roman") else "letter"
    # A line of capitals that ends like a sentence right under text (« Le l'ONU (SALA) ? ») is a wrapped sentence.
    if caps and not next_caps and len(words) <= 15 and not s.endswith(".") and not (prev and s.endswith(("?", "!"))):
        return "caps"
    if not prev and after_blank and _title_like(s) and (
            para_len > 2 * len(s) + 40 or _title_above_text(lines, at, following)):
        return "title"
    return ""


def _title_like(s: str) -> bool:
    """A short line that does not end a sentence (a short question may be a title)."""
    return len(s.split()) <= 15 and s[0].isupper() and not s.endswith(tuple(".!:;…")) and (
        not s.endswith("?") or len(s) <= 50)


def _title_above_text(lines: list[Line], at: int, following: list[tuple[str, int, int]]) -> bool:
    """Whether line ``at`` is a title line between blank lines with a longer paragraph below it
    (so that the line above it is a title too: « Partie 1 » over « Le contexte » over text)."""
    if at < 0 or at + 1 >= len(lines) or lines[at + 1].text.strip():
        return False
    s = lines[at].text.strip()
    return _title_like(s) and following[at][1] > 2 * len(s) + 40


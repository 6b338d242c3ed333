"""Pure rendering functions: engine results in, escaped HTML out.

Every string that comes from the corpus or from the user goes through ``html.escape`` (``esc``) before it
reaches the page.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import quote

from rag import Answer, DocumentInfo, Explanation, Passage
from rag.answering.citation import Citation, csl_items, page_label, section_path
from rag.answering.messages import INSTRUCTION_MESSAGE, OTHER_LANGUAGE_MESSAGE
from rag.corpus.documents import STATUSES, UNOFFICIAL
from rag.corpus.readers import page_span
from rag.text.paragraphs import paragraph_label
from ui.declines import decline_message, documents_searched, level_note
from ui.i18n import DEFAULT, number, text
from ui.why import render_why

FILES_ROUTE = "/corpus-file/"  # + document id: the original file, served from the corpus folder (ui.guard)


def dec(x: float, digits: int = 2, lang: str = DEFAULT) -> str:
    """A number the visitor's way (« 0,85 » in French, « 0.85 » in English)."""
    return number(x, lang, digits)


def esc(value) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def render_marked(text: str, spans: Iterable[tuple[int, int]], mark_id: str | None = None, tag: str = "mark",
                  attributes: str = "") -> str:
    """``text`` escaped, with ``spans`` (offsets into ``text``) wrapped in <mark> (or ``tag``, with ``attributes``)."""
    spans = sorted((max(0, a), min(len(text), b)) for a, b in spans if b > a)
    out, pos, first = [], 0, True
    for a, b in spans:
        if a < pos:
            a = pos
        if b <= a:
            continue
        out.append(esc(text[pos:a]))
        ident = f' id="{esc(mark_id)}"' if (first and mark_id) else ""
        out.append(f"<{tag}{attributes}{ident}>{esc(text[a:b])}</{tag}>")
        first, pos = False, b
    out.append(esc(text[pos:]))
    return "".join(out)


def render_phrases(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """A quoted sentence, stripped and escaped, its answering phrases (offsets into ``text``: the date, number or
    name asked for, ``rag.answering.phrases``) in <strong class="answer-phrase">."""
    lead = len(text) - len(text.lstrip())
    return render_marked(text.strip(), [(a - lead, b - lead) for a, b in spans], tag="strong",
                         attributes=' class="answer-phrase"')


def render_notice(message: str, kind: str = "info") -> str:
    icon = {"info": "i", "warning": "!", "error": "×"}.get(kind, "i")
    return (f'<div class="rag-result"><div class="notice notice-{esc(kind)}" role="status">'
            f'<span class="notice-icon" aria-hidden="true">{icon}</span><div>{esc(message)}</div></div></div>')




def confidence_label(answer: Answer, lang: str = DEFAULT) -> tuple[str, str]:
    """(css level, label in ``lang``) of an answer's calibrated confidence."""
    level = answer.level if answer.level in ("high", "medium", "low") else "low"
    return answer.level, text(f"level_{level}", lang)


def doc_letters(documents: Sequence[DocumentInfo]) -> dict[str, str]:
    return {d.doc_id: chr(ord("A") + i) if i < 26 else str(i + 1) for i, d in enumerate(documents)}


def file_link(doc_id: str, file: str, lang: str = DEFAULT) -> str:
    """The card's link to download a document's original file (none for a markdown or text file: the reader
    shows all of it)."""
    kind = file.rsplit(".", 1)[-1].upper() if "." in file else ""
    if not file or kind in ("MD", "TXT"):
        return ""
    return (f'<a class="act file-link" href="{esc(FILES_ROUTE + quote(doc_id, safe=""))}" download="{esc(file)}" '
            f'rel="noopener">{esc(text("download", lang, kind=kind))}</a>')


MINE_LETTER = "M"


def mine_tag(lang: str = DEFAULT) -> str:
    return f'<span class="tag tag-mine">{esc(text("mine", lang))}</span>'


MINE_TAG = mine_tag()


def status_tag(status: str, lang: str = DEFAULT) -> str:
    """What a document is, in words (« simulation de l'ONU, texte non officiel »): a plain tag, a warning one for a
    text that is not official; none for the visitor's own documents (« Mon document » says it)."""
    if status not in STATUSES or status == "upload":
        return ""
    label = text(f"status_{status}", lang)
    warn = status in UNOFFICIAL
    return (f'<span class="tag tag-status{" tag-unofficial" if warn else ""}">'
            f'{"⚠ " if warn else ""}{esc(label[0].upper() + label[1:])}</span>')


def render_card(n: int, p: Passage, citation: Citation, top_score: float, letter: str, same_doc: list[int],
                in_answer: bool, low: bool, file: str = "", mine: bool = False,
                quoted: Sequence[tuple[int, int]] = (), why: Explanation | None = None, lang: str = DEFAULT) -> str:
    """One passage's card; ``citation``: its reference (the excerpt it quotes); ``file``: the document's file name
    (a download link for a PDF, Word or HTML original); ``mine``: it comes from the visitor's own upload (badge
    « Mon document », no download link: its file is not kept; its reader is the session's own); ``quoted``: the
    spans of ``p.text`` the answer quotes, the only ones marked (a passage the answer does not quote is shown
    plain); ``why``: the signals that ranked it, under « Pourquoi ce passage ? »."""
    rel = max(0.0, min(1.0, p.score / top_score)) if top_score > 0 else 0.0
    level = "low" if low else ("high" if rel >= 0.8 else "medium")
    level_label = text("low_confidence", lang) if low else text("relevance", lang, p=round(rel * 100))
    meta = " · ".join(esc(x) for x in (p.body, p.date) if x)
    page = page_label(p.page, p.page_end, p.ocr)
    page_tag = f'<span class="card-page">« {esc(page)} »</span> ' if page else ""
    where = " · ".join(x for x in (esc(citation.paragraph) if in_answer else "",
                                   "§ " + esc(section_path(p)) if section_path(p) else "") if x)
    tags = [mine_tag(lang)] if mine else []
    tags.append(status_tag(p.status, lang))
    if in_answer:
        tags.append(f'<span class="tag tag-answer">{esc(text("quoted_in_answer", lang))}</span>')
    if low:
        tags.append(f'<span class="tag tag-low">{esc(text("low_confidence", lang))}</span>')
    if same_doc:
        others = ", ".join(f'<a href="#passage-{m}">[{m}]</a>' for m in same_doc)
        tags.append(f'<span class="tag tag-doc">{text("same_document", lang, others=others)}</span>')
    fr = ' lang="fr"' if lang != "fr" else ""  # the corpus's words on an English page
    return f"""
<article class="card" id="passage-{n}" data-doc="{esc(p.doc_id)}">
  <header class="card-head">
    <span class="card-num">[{n}]</span>
    <span class="doc-badge doc-{esc(letter)}" title="{esc(p.doc_id)}">{esc(letter)}</span>
    <div class="card-titles">
      <div class="card-title"{fr}>{esc(p.title)}</div>
      <div class="card-meta"{fr}>{meta}</div>
      <div class="card-section"{fr}>{page_tag}{where}</div>
    </div>
    <div class="meter meter-{level}" title="score {p.score:.4f}">
      <div class="meter-bar"><span style="width:{round(rel * 100)}%"></span></div>
      <div class="meter-label">{esc(level_label)}</div>
    </div>
  </header>
  <div class="card-tags">{"".join(tags)}</div>
  <blockquote class="passage" lang="fr">{render_marked(p.text, quoted)}</blockquote>
  {render_why(why, lang)}
  <footer class="card-actions">
    <button type="button" class="act copy-ref" data-ref="{esc(citation.full)}">{esc(text("copy_ref", lang))}</button>
    <button type="button" class="act copy-ref copy-short" data-ref="{esc(citation.short)}"
            title="{esc(citation.short)}">{esc(text("copy_short", lang))}</button>
    <button type="button" class="act read-link" data-doc="{esc(p.doc_id)}" data-start="{citation.start}"
            data-end="{citation.end}">{esc(text("read_in_doc", lang))}{" " + esc(page) if page else ""} ›</button>
    {"" if mine else file_link(p.doc_id, file, lang)}
    <span class="offsets" title="{esc(text("offsets_title", lang))}">"""\
        f"""{esc(p.doc_id)}{" · " + esc(page) if page else ""} · """\
        f"""{esc(text("characters_span", lang, start=citation.start, end=citation.end))}</span>
  </footer>
  <details class="ref-box"><summary>{esc(text("ref_box", lang))}</summary>"""\
        f"""<p class="ref-short"{fr}>{esc(citation.short)}</p>"""\
        f"""<pre class="ref-text"{fr}>{esc(citation.full)}</pre></details>
</article>"""


def csl_button(citations: Sequence[Citation], lang: str = DEFAULT) -> str:
    """A button that downloads the documents cited on the page as CSL-JSON (for Zotero and other reference
    managers); the page's script makes the file from ``data-csl``."""
    data = json.dumps(csl_items(list(citations)), ensure_ascii=False, indent=1)
    return (f'<button type="button" class="act csl-export" data-csl="{esc(data)}" '
            f'title="{esc(text("csl_title", lang))}">{esc(text("csl_export", lang))}</button>')


def render_sources(passages: Sequence[Passage], by_doc: dict[str, list[int]], letters: dict[str, str],
                   mine: frozenset[str] | set[str], lang: str = DEFAULT) -> str:
    """The « Sources » list: per document, its badge, title and links to its passages."""
    fr = ' lang="fr"' if lang != "fr" else ""
    return "".join(
        f'<li><span class="doc-badge doc-{esc(letters.get(d, "?"))}">{esc(letters.get(d, "?"))}</span> '
        f'<span class="src-title"{fr}>{esc(next(p.title for p in passages if p.doc_id == d))}</span> '
        + (mine_tag(lang) + " " if d in mine else "")
        + " ".join(f'<a class="cite" href="#passage-{m}">[{m}]</a>' for m in ns) + "</li>"
        for d, ns in by_doc.items())


def render_answer(answer: Answer, citations: Sequence[Citation], letters: dict[str, str],
                  files: dict[str, str] | None = None, mine: frozenset[str] | set[str] = frozenset(),
                  lang: str = DEFAULT, searched: Sequence[str] | None = None) -> str:
    """The whole result panel: extracted answer (or abstention notice), sources, passage cards (``citations``: per
    passage, its reference; ``files``: per document id its file name, for the download link of a PDF, Word or HTML
    original; ``mine``: the ids of the visitor's own documents, badge « Mon document »; ``lang``: the interface's
    language; ``searched``: the titles of the documents searched, None for all, said when declining). Only the
    sentences the answer quotes are marked."""
    files = files or {}
    letters = {**letters, **{d: MINE_LETTER for d in mine}}
    if not answer.passages:
        return render_notice(text("no_passage", lang), "warning")
    level, label = confidence_label(answer, lang)
    top = max((p.score for p in answer.passages), default=0.0)
    cited = {s.passage for s in answer.sentences}
    by_doc: dict[str, list[int]] = {}
    for i, p in enumerate(answer.passages, 1):
        by_doc.setdefault(p.doc_id, []).append(i)
    quoted: dict[int, list[tuple[int, int]]] = {}
    for s in answer.sentences:
        quoted.setdefault(s.passage, []).append((s.passage_start, s.passage_end))
    cards = [render_card(i, p, citations[i - 1], top, letters.get(p.doc_id, "?"),
                         [m for m in by_doc[p.doc_id] if m != i], i - 1 in cited, answer.abstained,
                         files.get(p.doc_id, ""), p.doc_id in mine, quoted.get(i - 1, ()),
                         answer.explanations[i - 1] if i <= len(answer.explanations) else None, lang)
             for i, p in enumerate(answer.passages, 1)]
    sources = render_sources(answer.passages, by_doc, letters, mine, lang)
    question = f'<div class="asked">{esc(text("asked", lang))} <q>{esc(answer.question)}</q></div>'
    where = documents_searched(searched, lang)
    if answer.status == "related":
        return (f"""<div class="rag-result">
{question}
<div class="notice notice-warning abstain outcome-related" role="status">"""
                f"""<span class="notice-icon" aria-hidden="true">!</span><div>
<strong>{esc(text("related_head", lang))}</strong> {decline_message(answer, lang)}{where}
</div></div>
<details class="nearest"><summary>{esc(text("related_fold", lang, n=len(cards)))}</summary>
{"".join(cards)}
</details></div>""")
    if answer.abstained:
        # a refused order or language needs no other wording of the question, nor more documents
        refused = answer.message in (INSTRUCTION_MESSAGE, OTHER_LANGUAGE_MESSAGE)
        hint = "" if refused else f'{where} {esc(text("reword", lang))}'
        return (f"""<div class="rag-result">
{question}
<div class="notice notice-info abstain outcome-off-topic" role="status">"""
                f"""<span class="notice-icon" aria-hidden="true">i</span><div>
{decline_message(answer, lang)}{hint}
</div></div>
<details class="nearest"><summary>{esc(text("off_topic_fold", lang, n=len(cards)))}</summary>
{"".join(cards)}
</details></div>""")
    shown_note = level_note(answer.level_note, lang)
    note = f' <span class="conf-note">({esc(shown_note)})</span>' if shown_note else ""
    items = "".join(
        f'<li><span class="quote" lang="fr">« {render_phrases(s.text, s.phrases)} »</span> '
        f'<a class="cite" href="#passage-{s.passage + 1}" title="{esc(text("go_to_passage", lang, n=s.passage + 1))}">'
        f'[{s.passage + 1}]</a></li>'
        for s in answer.sentences)
    return (f"""<div class="rag-result">
{question}
<section class="answer" aria-label="{esc(text("answer_title", lang))}">
  <div class="answer-head"><h2>{esc(text("answer_title", lang))}</h2>
  <span class="conf conf-{level}" title="{esc(text("confidence_title", lang, p=dec(answer.confidence, 2, lang)))}">"""\
            f"""{esc(text("confidence", lang, label=label))}</span>{note}</div>
  <ol class="answer-list">{items}</ol>
  <p class="answer-note">{esc(text("answer_note", lang))}</p>
</section>
<section class="sources"><h3 class="sec-title">{esc(text("sources", lang))}</h3><ul>{sources}</ul>"""\
            f"""{csl_button(citations, lang)}</section>
<section class="passages"><h3 class="sec-title">{esc(text("passages", lang, n=len(cards)))}</h3>"""\
            f"""{"".join(cards)}</section>
</div>""")


def fmt_int(n: int, lang: str = DEFAULT) -> str:
    return number(n, lang)


def _source(d: DocumentInfo, lang: str = DEFAULT) -> str:
    """« · rapport.pdf, 12 pages » for a document read from a PDF, Word or HTML file ("" for text)."""
    file = getattr(d, "file", "")
    if not file or file.lower().endswith((".md", ".txt")):
        return ""
    pages = len(getattr(d, "pages", ()) or ())
    return f' <span class="muted">· {esc(file)}{", " + text("n_pages", lang, n=pages) if pages else ""}</span>'


def render_documents(documents: Sequence[DocumentInfo], letters: dict[str, str], lang: str = DEFAULT) -> str:
    fr = ' lang="fr"' if lang != "fr" else ""  # the documents' own metadata stay in French
    rows = "".join(f"""<tr>
<td><span class="doc-badge doc-{esc(letters[d.doc_id])}">{esc(letters[d.doc_id])}</span></td>
<td><div class="card-title"{fr}>{esc(d.title)}</div><div class="muted"{fr}>{esc(d.notes)}</div>"""
                   f"""<code>{esc(d.doc_id)}</code>{_source(d, lang)}</td>
<td{fr}>{esc(d.body)}</td><td{fr}>{esc(d.kind)}</td><td{fr}>{esc(d.date)}</td>
<td class="num">{fmt_int(d.chars, lang)}</td><td class="num">{d.chunks}</td></tr>""" for d in documents)
    head = "".join(f"<th>{esc(text(k, lang))}</th>" for k in ("col_document", "col_body", "col_kind", "col_date",
                                                              "col_chars", "col_chunks"))
    return (f"""<div class="rag-result"><table class="docs">
<thead><tr><th></th>{head}</tr></thead>
<tbody>{rows}</tbody></table></div>""")


def render_reader(doc, info: DocumentInfo, span: tuple[int, int] | None = None, letter: str = "?",
                  lang: str = DEFAULT) -> str:
    """A document's clean text, block by block, with the clean range ``span`` marked (first mark has id reader-hit).

    A PDF's text shows where each page starts (« p. 12 », anchor ``page-12``), so that a passage opens at its page.
    The footnotes come last, under « Notes ».
    """
    parts, marked, notes_shown = [], False, False
    pages = tuple(getattr(info, "pages", ()) or ())
    shown_page = 0
    blocks = doc.blocks or ()
    if not blocks:
        from types import SimpleNamespace
        blocks = (SimpleNamespace(kind="text", start=0, end=len(doc.text), level=0),)
    for b in blocks:
        spans = []
        if span and span[0] < b.end and span[1] > b.start:
            spans = [(max(span[0], b.start) - b.start, min(span[1], b.end) - b.start)]
        if pages and b.end > b.start and b.kind != "note":
            first, last = page_span(pages, *doc.to_file(b.start, b.end))
            if first > shown_page:
                parts.append(f'<div class="page-mark" id="page-{first}">p. {first}</div>')
            shown_page = max(shown_page, last or first)
        body = render_marked(doc.text[b.start:b.end], spans, None if marked else "reader-hit")
        marked = marked or bool(spans)
        if b.kind == "note":  # the footnotes, after the body, like endnotes
            if not notes_shown:
                parts.append(f'<h2 class="reader-notes">{esc(text("reader_notes", lang))}</h2>')
                notes_shown = True
            parts.append(f'<p class="reader-note">{body}</p>')
        elif b.kind == "heading":
            level = min(max(int(b.level or 1), 1) + 1, 6)
            parts.append(f"<h{level}>{body}</h{level}>")
        else:
            parts.append(f"<p>{body}</p>")
    at = []
    if span:
        at.append(paragraph_label(doc, span[0]))
    if span and pages and span[1] > span[0]:
        at.append(page_label(*page_span(pages, *doc.to_file(span[0], min(span[1], len(doc.text))))))
    at_text = ", ".join(x for x in at if x)
    where = (f'<div class="reader-where">'
             f'{esc(text("reader_where", lang, at=", " + at_text if at_text else "", start=span[0], end=span[1]))}'
             f'</div>' if span else "")
    fr = ' lang="fr"' if lang != "fr" else ""
    return f"""<div class="rag-result"><div class="reader-head">
<span class="doc-badge doc-{esc(letter)}">{esc(letter)}</span>
<div><div class="card-title"{fr}>{esc(info.title)}</div>
<div class="card-meta"{fr}>{" · ".join(esc(x) for x in (info.body, info.kind, info.date) if x)}</div>
<div class="card-tags">{status_tag(getattr(info, "status", ""), lang)}</div></div></div>
{where}<div class="reader" id="reader-scroll" lang="fr">{"".join(parts)}</div></div>"""


UPLOAD_NOTE = "Envoyé dans cette session : "  # how rag.index.uploads notes an upload


def upload_note(notes: str, lang: str = DEFAULT) -> str:
    """An uploaded document's note as HTML, in ``lang``: the file's name, then the reader's own notes (French,
    marked so on an English page)."""
    if lang == "fr" or not notes.startswith(UPLOAD_NOTE):
        return esc(notes)
    name, *more = notes[len(UPLOAD_NOTE):].split(" ; ")
    return esc(text("uploaded_note", lang, name=name)) + "".join(f' ; <span lang="fr">{esc(m)}</span>' for m in more)


def render_my_documents(documents: Sequence[DocumentInfo], problems: Sequence[str] = (), limits: str = "",
                        lang: str = DEFAULT) -> str:
    """The « Mes documents » panel: this session's documents, the files just refused (one line each), the limits."""
    items = "".join(
        f'<li><span class="doc-badge doc-mine">{MINE_LETTER}</span> <span class="card-title">{esc(d.title)}</span> '
        f'<span class="muted">{upload_note(d.notes, lang)} · '
        f'{esc(text("my_doc_line", lang, chars=fmt_int(d.chars, lang), chunks=d.chunks))}</span></li>'
        for d in documents)
    refused = "".join(f'<li class="upload-refused">{esc(m)}</li>' for m in problems)
    body = (f'<ul class="my-docs">{items}</ul>' if items else
            f'<p class="muted">{esc(text("no_my_docs", lang))}</p>')
    return (f'<div class="rag-result" id="my-docs">{body}'
            + (f'<ul class="upload-problems" role="alert">{refused}</ul>' if refused else "")
            + f'<p class="muted upload-note">{esc(limits)}</p></div>')


def render_plot(path: Path) -> str:
    """An evaluation plot as an <img> with a data: URI (the page's CSP allows data: images)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<div class="rag-result eval-plot"><img alt="{esc(path.stem)}" style="max-width:100%" '
            f'src="data:image/png;base64,{data}"></div>')


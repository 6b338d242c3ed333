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
from rag.answering.extraction import INSTRUCTION_MESSAGE, LEVEL_LABELS, OTHER_LANGUAGE_MESSAGE
from rag.corpus.documents import STATUSES, UNOFFICIAL
from rag.corpus.readers import page_span
from rag.text.paragraphs import paragraph_label
from ui.why import render_why

FILES_ROUTE = "/corpus-file/"  # + document id: the original file, served from the corpus folder (ui.guard)


def dec(x: float, digits: int = 2) -> str:
    """A number the French way (decimal comma)."""
    return f"{x:.{digits}f}".replace(".", ",")


def esc(value) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def render_marked(text: str, spans: Iterable[tuple[int, int]], mark_id: str | None = None) -> str:
    """``text`` escaped, with ``spans`` (offsets into ``text``) wrapped in <mark>."""
    spans = sorted((max(0, a), min(len(text), b)) for a, b in spans if b > a)
    out, pos, first = [], 0, True
    for a, b in spans:
        if a < pos:
            a = pos
        if b <= a:
            continue
        out.append(esc(text[pos:a]))
        ident = f' id="{esc(mark_id)}"' if (first and mark_id) else ""
        out.append(f"<mark{ident}>{esc(text[a:b])}</mark>")
        first, pos = False, b
    out.append(esc(text[pos:]))
    return "".join(out)


def render_notice(message: str, kind: str = "info") -> str:
    icon = {"info": "i", "warning": "!", "error": "×"}.get(kind, "i")
    return (f'<div class="rag-result"><div class="notice notice-{esc(kind)}" role="status">'
            f'<span class="notice-icon" aria-hidden="true">{icon}</span><div>{esc(message)}</div></div></div>')




def confidence_label(answer: Answer) -> tuple[str, str]:
    """(css level, French label) of an answer's calibrated confidence."""
    return answer.level, LEVEL_LABELS.get(answer.level, "faible")


def doc_letters(documents: Sequence[DocumentInfo]) -> dict[str, str]:
    return {d.doc_id: chr(ord("A") + i) if i < 26 else str(i + 1) for i, d in enumerate(documents)}


def file_link(doc_id: str, file: str) -> str:
    """The card's link to download a document's original file (none for a markdown or text file: the reader
    shows all of it)."""
    kind = file.rsplit(".", 1)[-1].upper() if "." in file else ""
    if not file or kind in ("MD", "TXT"):
        return ""
    return (f'<a class="act file-link" href="{esc(FILES_ROUTE + quote(doc_id, safe=""))}" download="{esc(file)}" '
            f'rel="noopener">Télécharger l\'original ({esc(kind)})</a>')


MINE_LETTER = "M"
MINE_TAG = '<span class="tag tag-mine">Mon document</span>'


def status_tag(status: str) -> str:
    """What a document is, in words (« simulation de l'ONU, texte non officiel »): a plain tag, a warning one for a
    text that is not official; none for the visitor's own documents (« Mon document » says it)."""
    if status not in STATUSES or status == "upload":
        return ""
    label = STATUSES[status]
    warn = status in UNOFFICIAL
    return (f'<span class="tag tag-status{" tag-unofficial" if warn else ""}">'
            f'{"⚠ " if warn else ""}{esc(label[0].upper() + label[1:])}</span>')


def render_card(n: int, p: Passage, citation: Citation, top_score: float, letter: str, same_doc: list[int],
                in_answer: bool, low: bool, file: str = "", mine: bool = False,
                quoted: Sequence[tuple[int, int]] = (), why: Explanation | None = None, lang: str = "fr") -> str:
    """One passage's card; ``citation``: its reference (the excerpt it quotes); ``file``: the document's file name
    (a download link for a PDF, Word or HTML original); ``mine``: it comes from the visitor's own upload (badge
    « Mon document », no download link: its file is not kept; its reader is the session's own); ``quoted``: the
    spans of ``p.text`` the answer quotes, the only ones marked (a passage the answer does not quote is shown
    plain); ``why``: the signals that ranked it, under « Pourquoi ce passage ? »."""
    rel = max(0.0, min(1.0, p.score / top_score)) if top_score > 0 else 0.0
    level = "low" if low else ("high" if rel >= 0.8 else "medium")
    level_label = "faible confiance" if low else f"pertinence relative {round(rel * 100)} %"
    meta = " · ".join(esc(x) for x in (p.body, p.date) if x)
    page = page_label(p.page, p.page_end, p.ocr)
    page_tag = f'<span class="card-page">« {esc(page)} »</span> ' if page else ""
    where = " · ".join(x for x in (esc(citation.paragraph) if in_answer else "",
                                   "§ " + esc(section_path(p)) if section_path(p) else "") if x)
    tags = [MINE_TAG] if mine else []
    tags.append(status_tag(p.status))
    if in_answer:
        tags.append('<span class="tag tag-answer">cité dans la réponse</span>')
    if low:
        tags.append('<span class="tag tag-low">faible confiance</span>')
    if same_doc:
        others = ", ".join(f'<a href="#passage-{m}">[{m}]</a>' for m in same_doc)
        tags.append(f'<span class="tag tag-doc">même document que {others}</span>')
    return f"""
<article class="card" id="passage-{n}" data-doc="{esc(p.doc_id)}">
  <header class="card-head">
    <span class="card-num">[{n}]</span>
    <span class="doc-badge doc-{esc(letter)}" title="{esc(p.doc_id)}">{esc(letter)}</span>
    <div class="card-titles">
      <div class="card-title">{esc(p.title)}</div>
      <div class="card-meta">{meta}</div>
      <div class="card-section">{page_tag}{where}</div>
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
    <button type="button" class="act copy-ref" data-ref="{esc(citation.full)}">Copier la référence</button>
    <button type="button" class="act copy-ref copy-short" data-ref="{esc(citation.short)}"
            title="{esc(citation.short)}">Copier la référence courte</button>
    <button type="button" class="act read-link" data-doc="{esc(p.doc_id)}" data-start="{citation.start}"
            data-end="{citation.end}">Lire dans le document{" " + esc(page) if page else ""} ›</button>
    {"" if mine else file_link(p.doc_id, file)}
    <span class="offsets" title="les caractères de la citation dans le fichier, comme la référence">"""\
        f"""{esc(p.doc_id)}{" · " + esc(page) if page else ""} · caractères {citation.start}–{citation.end}</span>
  </footer>
  <details class="ref-box"><summary>Référence à copier</summary><p class="ref-short">{esc(citation.short)}</p>"""\
        f"""<pre class="ref-text">{esc(citation.full)}</pre></details>
</article>"""


def csl_button(citations: Sequence[Citation]) -> str:
    """A button that downloads the documents cited on the page as CSL-JSON (for Zotero and other reference
    managers); the page's script makes the file from ``data-csl``."""
    data = json.dumps(csl_items(list(citations)), ensure_ascii=False, indent=1)
    return (f'<button type="button" class="act csl-export" data-csl="{esc(data)}" '
            f'title="Pour Zotero, Mendeley et les autres gestionnaires de références">'
            f'Exporter les références (CSL-JSON)</button>')


def render_sources(passages: Sequence[Passage], by_doc: dict[str, list[int]], letters: dict[str, str],
                   mine: frozenset[str] | set[str]) -> str:
    """The « Sources » list: per document, its badge, title and links to its passages."""
    return "".join(
        f'<li><span class="doc-badge doc-{esc(letters.get(d, "?"))}">{esc(letters.get(d, "?"))}</span> '
        f'<span class="src-title">{esc(next(p.title for p in passages if p.doc_id == d))}</span> '
        + (MINE_TAG + " " if d in mine else "")
        + " ".join(f'<a class="cite" href="#passage-{m}">[{m}]</a>' for m in ns) + "</li>"
        for d, ns in by_doc.items())


def render_answer(answer: Answer, citations: Sequence[Citation], letters: dict[str, str],
                  files: dict[str, str] | None = None, mine: frozenset[str] | set[str] = frozenset()) -> str:
    """The whole result panel: extracted answer (or abstention notice), sources, passage cards (``citations``: per
    passage, its reference; ``files``: per document id its file name, for the download link of a PDF, Word or HTML
    original; ``mine``: the ids of the visitor's own documents, badge « Mon document »). Only the sentences the
    answer quotes are marked."""
    files = files or {}
    letters = {**letters, **{d: MINE_LETTER for d in mine}}
    if not answer.passages:
        return render_notice("Aucun passage du corpus ne correspond à cette question "
                             "(ni par le sens, ni par les mots).",
                             "warning")
    level, label = confidence_label(answer)
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
                         answer.explanations[i - 1] if i <= len(answer.explanations) else None)
             for i, p in enumerate(answer.passages, 1)]
    sources = render_sources(answer.passages, by_doc, letters, mine)
    question = f'<div class="asked">Question : <q>{esc(answer.question)}</q></div>'
    if answer.status == "related":
        return (f"""<div class="rag-result">
{question}
<div class="notice notice-warning abstain outcome-related" role="status">"""
                f"""<span class="notice-icon" aria-hidden="true">!</span><div>
<strong>Le corpus en parle, mais ne répond pas à cette question.</strong> {esc(answer.message)}
</div></div>
<details class="nearest"><summary>"""
                f"""Voir les {len(cards)} passages sur ce sujet (ils ne contiennent pas la réponse)</summary>
{"".join(cards)}
</details></div>""")
    if answer.abstained:
        # a refused order or language needs no other wording of the question, nor more documents
        hint = "" if answer.message in (INSTRUCTION_MESSAGE, OTHER_LANGUAGE_MESSAGE) else \
            " Reformulez la question ou élargissez les documents cherchés."
        return (f"""<div class="rag-result">
{question}
<div class="notice notice-info abstain outcome-off-topic" role="status">"""
                f"""<span class="notice-icon" aria-hidden="true">i</span><div>
{esc(answer.message)}{hint}
</div></div>
<details class="nearest"><summary>Voir les {len(cards)} passages les moins éloignés """
                f"""(hors sujet, ne constituent pas une réponse)</summary>
{"".join(cards)}
</details></div>""")
    note = f' <span class="conf-note">({esc(answer.level_note)})</span>' if answer.level_note else ""
    items = "".join(
        f'<li><span class="quote" lang="fr">« {esc(s.text.strip())} »</span> '
        f'<a class="cite" href="#passage-{s.passage + 1}" title="Aller au passage {s.passage + 1}">'
        f'[{s.passage + 1}]</a></li>'
        for s in answer.sentences)
    return (f"""<div class="rag-result">
{question}
<section class="answer" aria-label="Réponse extraite">
  <div class="answer-head"><h2>Réponse extraite</h2>
  <span class="conf conf-{level}" title="probabilité calibrée que la première phrase citée """
            f"""réponde : {dec(answer.confidence)}">confiance {esc(label)}</span>{note}</div>
  <ol class="answer-list">{items}</ol>
  <p class="answer-note">Phrases citées mot pour mot depuis le corpus ; aucun texte n'est généré. """
            f"""Chaque [n] renvoie au passage source.</p>
</section>
<section class="sources"><h3 class="sec-title">Sources</h3><ul>{sources}</ul>{csl_button(citations)}</section>
<section class="passages"><h3 class="sec-title">Passages ({len(cards)})</h3>{"".join(cards)}</section>
</div>""")


def fmt_int(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def _source(d: DocumentInfo) -> str:
    """« · rapport.pdf, 12 pages » for a document read from a PDF, Word or HTML file ("" for text)."""
    file = getattr(d, "file", "")
    if not file or file.lower().endswith((".md", ".txt")):
        return ""
    pages = len(getattr(d, "pages", ()) or ())
    return f' <span class="muted">· {esc(file)}{f", {pages} pages" if pages else ""}</span>'


def render_documents(documents: Sequence[DocumentInfo], letters: dict[str, str]) -> str:
    rows = "".join(f"""<tr>
<td><span class="doc-badge doc-{esc(letters[d.doc_id])}">{esc(letters[d.doc_id])}</span></td>
<td><div class="card-title">{esc(d.title)}</div><div class="muted">{esc(d.notes)}</div>"""
                   f"""<code>{esc(d.doc_id)}</code>{_source(d)}</td>
<td>{esc(d.body)}</td><td>{esc(d.kind)}</td><td>{esc(d.date)}</td>
<td class="num">{fmt_int(d.chars)}</td><td class="num">{d.chunks}</td></tr>""" for d in documents)
    return (f"""<div class="rag-result"><table class="docs">
<thead><tr><th></th><th>Document</th><th>Émetteur</th><th>Nature</th><th>Date</th>"""
            f"""<th>Caractères</th><th>Passages indexés</th></tr></thead>
<tbody>{rows}</tbody></table></div>""")


def render_reader(doc, info: DocumentInfo, span: tuple[int, int] | None = None, letter: str = "?") -> str:
    """A document's clean text, block by block, with the clean range ``span`` marked (first mark has id reader-hit).

    A PDF's text shows where each page starts (« p. 12 », anchor ``page-12``), so that a passage opens at its page.
    """
    parts, marked = [], False
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
        if pages and b.end > b.start:
            first, last = page_span(pages, *doc.to_file(b.start, b.end))
            if first > shown_page:
                parts.append(f'<div class="page-mark" id="page-{first}">p. {first}</div>')
            shown_page = max(shown_page, last or first)
        body = render_marked(doc.text[b.start:b.end], spans, None if marked else "reader-hit")
        marked = marked or bool(spans)
        if b.kind == "heading":
            level = min(max(int(b.level or 1), 1) + 1, 6)
            parts.append(f"<h{level}>{body}</h{level}>")
        else:
            parts.append(f"<p>{body}</p>")
    at = []
    if span:
        at.append(paragraph_label(doc, span[0]))
    if span and pages and span[1] > span[0]:
        at.append(page_label(*page_span(pages, *doc.to_file(span[0], min(span[1], len(doc.text))))))
    at_text = ", ".join(esc(x) for x in at if x)
    where = (f'<div class="reader-where">Passage cité surligné{", " + at_text if at_text else ""} '
             f'(caractères {span[0]}–{span[1]} du texte nettoyé).</div>' if span else "")
    return f"""<div class="rag-result"><div class="reader-head">
<span class="doc-badge doc-{esc(letter)}">{esc(letter)}</span>
<div><div class="card-title">{esc(info.title)}</div>
<div class="card-meta">{" · ".join(esc(x) for x in (info.body, info.kind, info.date) if x)}</div>
<div class="card-tags">{status_tag(getattr(info, "status", ""))}</div></div></div>
{where}<div class="reader" id="reader-scroll" lang="fr">{"".join(parts)}</div></div>"""


def render_my_documents(documents: Sequence[DocumentInfo], problems: Sequence[str] = (), limits: str = "") -> str:
    """The « Mes documents » panel: this session's documents, the files just refused (one line each), the limits."""
    items = "".join(
        f'<li><span class="doc-badge doc-mine">{MINE_LETTER}</span> <span class="card-title">{esc(d.title)}</span> '
        f'<span class="muted">{esc(d.notes)} · {fmt_int(d.chars)} caractères · {d.chunks} passages</span></li>'
        for d in documents)
    refused = "".join(f'<li class="upload-refused">{esc(m)}</li>' for m in problems)
    body = (f'<ul class="my-docs">{items}</ul>' if items else
            '<p class="muted">Aucun document envoyé dans cette session.</p>')
    return (f'<div class="rag-result" id="my-docs">{body}'
            + (f'<ul class="upload-problems" role="alert">{refused}</ul>' if refused else "")
            + f'<p class="muted upload-note">{esc(limits)}</p></div>')


def render_plot(path: Path) -> str:
    """An evaluation plot as an <img> with a data: URI (the page's CSP allows data: images)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<div class="rag-result eval-plot"><img alt="{esc(path.stem)}" style="max-width:100%" '
            f'src="data:image/png;base64,{data}"></div>')


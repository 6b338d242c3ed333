"""Gradio app: a citation-first question-answering assistant over the corpus.

    python app.py            # serves on http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT)

Nothing on the page is generated: the answer is made of sentences quoted
verbatim from the corpus, each pointing to the passage it comes from. Every
string that comes from the corpus or from the user goes through
``html.escape`` before it reaches a ``gr.HTML`` component.

Layout of this module:
    * pure rendering functions (``render_*``) turning engine results into HTML;
    * ``App``: the event handlers, bound to one ``Retriever``;
    * ``build_app(retriever) -> gr.Blocks`` (tests launch it in-process with
      ``launch(demo, ...)``);
    * ``main()``: loads or builds the index, then serves.

On a public Space, ``launch`` puts ``guard.Guard`` in front of Gradio (request sizes, a per-client cap,
invalid input refused before it is queued, security headers) and ``build_app`` makes the queue the only
way to the engine (``api_open=False``, one concurrency group, served lightest client first).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import gradio as gr
from starlette.middleware import Middleware

import guard
from rag import MAX_K, MAX_QUESTION_CHARS, MODES, Answer, DocumentInfo, Passage, QueryError, Retriever, Settings
from rag.retriever import QUESTION_TOKENS, normalize_question

log = logging.getLogger("app")

ROOT = Path(__file__).resolve().parent
EVAL_RESULTS = ROOT / "eval" / "results"

DEFAULT_K = 5
# 2 vCPU on a free Space: a few answers at a time, a bounded waiting line.
CONCURRENCY = int(os.environ.get("RAG_APP_CONCURRENCY", "4"))
QUEUE_SIZE = int(os.environ.get("RAG_APP_QUEUE_SIZE", "128"))
# A public Space's limits (guard.py): runs queued or running per browser session and per address, request
# bodies, uploads (the app has no upload feature; Gradio's route stays, bounded) and Gradio's temp folder.
LIMITS = guard.Limits(
    max_body=int(os.environ.get("RAG_APP_MAX_BODY", str(64 * 1024))),
    max_upload=int(os.environ.get("RAG_APP_MAX_UPLOAD", str(1024 * 1024))),
    temp_budget=int(os.environ.get("RAG_APP_TEMP_BUDGET", str(64 * 1024 * 1024))),
    per_session=int(os.environ.get("RAG_APP_PER_SESSION", "2")),
    per_ip=int(os.environ.get("RAG_APP_PER_IP", "8")),
)
DELETE_CACHE = (300, 900)  # every 5 minutes, Gradio deletes its temp files older than 15 minutes
ENGINE = "engine"  # one concurrency group for every handler that runs the engine

EXAMPLES = [
    "Que signifie un contrôle humain significatif ?",
    "What does meaningful human control mean?",
    "Qu'est-ce que REAIM et quel type d'acteurs ce processus rassemble-t-il ?",
    "Quelles phases du cycle de vie des outils d'IA militaire l'Assemblée générale énumère-t-elle ?",
    "On what date did the General Assembly adopt resolution 79/239?",
    "Que désigne le sigle SALA dans la note de l'UIP ?",
    "What legal nature does the US draft give to the guidelines it proposes on autonomous weapons oversight?",
    "Quel dirigeant a affirmé en 2017 que la maîtrise de l'IA conférerait la domination mondiale ?",
    "Why does the Ifri author argue that AI governance must be able to adapt over time?",
]

MODE_LABELS = {
    "hybrid": "Hybride : sens + mots-clés (recommandé)",
    "dense": "Sémantique seule (plongements)",
    "keyword": "Mots-clés seuls (BM25)",
}

MSG_EMPTY = "Posez une question sur la gouvernance de l'IA militaire, par exemple : « Que signifie un contrôle humain significatif ? »"
MSG_EMPTY_API = "La question est vide."
MSG_NO_DOCS = "Sélectionnez au moins un document dans les options de recherche."
MSG_CUT = ("Question longue : seul son début (« {start} ») a été lu, la limite étant de {tokens} unités de texte "
           "(jetons) du modèle.")
MSG_STALE = ("Index plus ancien que le corpus : des fichiers ont changé depuis sa construction. Les passages "
             "cités sont ceux de l'index ; redémarrez l'application pour le reconstruire.")


def msg_too_long(n: int) -> str:
    return f"Question trop longue : {n} caractères. La limite est de {MAX_QUESTION_CHARS} caractères."


MSG_INTERNAL = "La requête n'a pas pu être traitée (erreur interne) ; réessayez ou reformulez la question."
PARAMETER = {"not_text": "question", "empty": "question", "too_long": "question", "bad_k": "k", "bad_mode": "mode"}


def french(exc: QueryError, documents: Sequence[str] = ()) -> str:
    """The French message for an engine error, by its code (the engine's own message is English)."""
    code, detail = getattr(exc, "code", ""), getattr(exc, "detail", "")
    known = ", ".join(documents)
    return {
        "not_text": "La question doit être du texte.",
        "empty": MSG_EMPTY_API,
        "too_long": msg_too_long(int(detail)) if detail.isdigit() else msg_too_long(MAX_QUESTION_CHARS + 1),
        "bad_k": f"k doit être un nombre entier de 1 à {MAX_K} (reçu : {detail}).",
        "bad_mode": f"Mode de recherche inconnu ({detail}) ; modes possibles : {', '.join(MODES)}.",
        "bad_docs": "docs doit être une liste d'identifiants de documents (ou null pour tous les documents).",
        "no_docs": "docs ne nomme aucun document : donnez au moins un identifiant, ou null pour tous les documents.",
        "too_many_docs": f"docs nomme plus de documents que l'index n'en contient ({detail}).",
        "unknown_docs": f"Document(s) inconnu(s) : {detail}. Documents : {known}.",
    }.get(code, "Requête invalide.")


def dec(x: float, digits: int = 2) -> str:
    """A number the French way (decimal comma)."""
    return f"{x:.{digits}f}".replace(".", ",")


def esc(value) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------- input checks
def check_question(question) -> str:
    """The question, spaces folded; raises QueryError with a French message when empty or too long."""
    if question is None:
        question = ""
    if not isinstance(question, str):
        raise QueryError(f"la question doit être du texte, pas {type(question).__name__}", "not_text")
    text = " ".join(question.split())
    if not text:
        raise QueryError(MSG_EMPTY_API, "empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise QueryError(msg_too_long(len(text)), "too_long", str(len(text)))
    return text


# --------------------------------------------------------------------------- citations
@dataclass(frozen=True)
class Excerpt:
    """The quoted excerpt of a passage card: its text and exact file offsets."""

    text: str
    start: int
    end: int


def passage_excerpts(retriever: Retriever, answer: Answer) -> list[Excerpt]:
    """For each passage, the sentence to quote in its reference (the best highlight), with file offsets.

    Falls back to the whole passage when it has no highlight.
    """
    out = []
    for p in answer.passages:
        if not p.highlights:
            out.append(Excerpt(p.text, p.start, p.end))
            continue
        own = [s for s in answer.sentences if answer.passages[s.passage] is p]
        if own:
            s = own[0]
            out.append(Excerpt(s.text, s.start, s.end))
            continue
        a, b = p.highlights[0]
        out.append(Excerpt(p.text[a:b], *retriever.file_offsets(p, a, b)))
    return out


def reference_text(p: Passage, excerpt: Excerpt) -> str:
    """A ready-to-paste citation (plain text)."""
    parts = [f"« {excerpt.text.strip()} »", f"{p.title}."]
    meta = ", ".join(x for x in (p.body, p.date) if x)
    if meta:
        parts.append(meta + ".")
    if section_path(p):
        parts.append(f"Section : {section_path(p)}.")
    parts.append(f"Source : {p.doc_id}, caractères {excerpt.start}–{excerpt.end}.")
    return "\n".join([parts[0], " ".join(parts[1:])])


# --------------------------------------------------------------------------- rendering (pure)
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


LEVEL_LABELS = {"high": "élevée", "medium": "moyenne", "low": "faible"}


def confidence_label(answer: Answer) -> tuple[str, str]:
    """(css level, French label) of an answer's calibrated confidence."""
    return answer.level, LEVEL_LABELS.get(answer.level, "faible")


def doc_letters(documents: Sequence[DocumentInfo]) -> dict[str, str]:
    return {d.doc_id: chr(ord("A") + i) if i < 26 else str(i + 1) for i, d in enumerate(documents)}


def section_path(p: Passage) -> str:
    """The passage's section path without the document title when it only repeats it."""
    parts = [x.strip() for x in p.section.split(" > ")] if p.section else []
    if len(parts) > 1 and parts[0].casefold() == p.title.strip().casefold():
        parts = parts[1:]
    return " › ".join(parts)


def render_card(n: int, p: Passage, excerpt: Excerpt, top_score: float, letter: str, same_doc: list[int],
                in_answer: bool, low: bool) -> str:
    rel = max(0.0, min(1.0, p.score / top_score)) if top_score > 0 else 0.0
    level = "low" if low else ("high" if rel >= 0.8 else "medium")
    level_label = "faible confiance" if low else f"pertinence relative {round(rel * 100)} %"
    ref = reference_text(p, excerpt)
    meta = " · ".join(esc(x) for x in (p.body, p.date) if x)
    tags = []
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
      <div class="card-section">§ {esc(section_path(p)) or "—"}</div>
    </div>
    <div class="meter meter-{level}" title="score {p.score:.4f}">
      <div class="meter-bar"><span style="width:{round(rel * 100)}%"></span></div>
      <div class="meter-label">{esc(level_label)}</div>
    </div>
  </header>
  <div class="card-tags">{"".join(tags)}</div>
  <blockquote class="passage" lang="fr">{render_marked(p.text, p.highlights)}</blockquote>
  <footer class="card-actions">
    <button type="button" class="act copy-ref" data-ref="{esc(ref)}">Copier la référence</button>
    <button type="button" class="act read-link" data-doc="{esc(p.doc_id)}" data-start="{p.start}" data-end="{p.end}">Lire dans le document ›</button>
    <span class="offsets">{esc(p.doc_id)} · caractères {p.start}–{p.end}</span>
  </footer>
  <details class="ref-box"><summary>Référence à copier</summary><pre class="ref-text">{esc(ref)}</pre></details>
</article>"""


def render_answer(answer: Answer, excerpts: Sequence[Excerpt], letters: dict[str, str]) -> str:
    """The whole result panel: extracted answer (or abstention notice), sources, passage cards."""
    if not answer.passages:
        return render_notice("Aucun passage du corpus ne correspond à cette question (ni par le sens, ni par les mots).",
                             "warning")
    level, label = confidence_label(answer)
    top = max((p.score for p in answer.passages), default=0.0)
    cited = {s.passage for s in answer.sentences}
    by_doc: dict[str, list[int]] = {}
    for i, p in enumerate(answer.passages, 1):
        by_doc.setdefault(p.doc_id, []).append(i)
    cards = [render_card(i, p, excerpts[i - 1], top, letters.get(p.doc_id, "?"),
                         [m for m in by_doc[p.doc_id] if m != i], i - 1 in cited, answer.abstained)
             for i, p in enumerate(answer.passages, 1)]
    first = answer.passages
    sources = "".join(
        f'<li><span class="doc-badge doc-{esc(letters.get(d, "?"))}">{esc(letters.get(d, "?"))}</span> '
        f'<span class="src-title">{esc(next(p.title for p in first if p.doc_id == d))}</span> '
        + " ".join(f'<a class="cite" href="#passage-{m}">[{m}]</a>' for m in ns) + "</li>"
        for d, ns in by_doc.items())
    question = f'<div class="asked">Question : <q>{esc(answer.question)}</q></div>'
    if answer.status == "related":
        return f"""<div class="rag-result">
{question}
<div class="notice notice-warning abstain outcome-related" role="status"><span class="notice-icon" aria-hidden="true">!</span><div>
<strong>Le corpus en parle, mais ne répond pas à cette question.</strong> {esc(answer.message)}
</div></div>
<details class="nearest"><summary>Voir les {len(cards)} passages sur ce sujet (ils ne contiennent pas la réponse)</summary>
{"".join(cards)}
</details></div>"""
    if answer.abstained:
        return f"""<div class="rag-result">
{question}
<div class="notice notice-info abstain outcome-off-topic" role="status"><span class="notice-icon" aria-hidden="true">i</span><div>
{esc(answer.message)} Reformulez la question ou élargissez les documents cherchés.
</div></div>
<details class="nearest"><summary>Voir les {len(cards)} passages les moins éloignés (hors sujet, ne constituent pas une réponse)</summary>
{"".join(cards)}
</details></div>"""
    items = "".join(
        f'<li><span class="quote">« {esc(s.text.strip())} »</span> '
        f'<a class="cite" href="#passage-{s.passage + 1}" title="Aller au passage {s.passage + 1}">[{s.passage + 1}]</a></li>'
        for s in answer.sentences)
    return f"""<div class="rag-result">
{question}
<section class="answer" aria-label="Réponse extraite">
  <div class="answer-head"><h2>Réponse extraite</h2>
  <span class="conf conf-{level}" title="probabilité calibrée que la première phrase citée réponde : {dec(answer.confidence)}">confiance {esc(label)}</span></div>
  <ol class="answer-list">{items}</ol>
  <p class="answer-note">Phrases citées mot pour mot depuis le corpus ; aucun texte n'est généré. Chaque [n] renvoie au passage source.</p>
</section>
<section class="sources"><h3 class="sec-title">Sources</h3><ul>{sources}</ul></section>
<section class="passages"><h3 class="sec-title">Passages ({len(cards)})</h3>{"".join(cards)}</section>
</div>"""


def fmt_int(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def render_documents(documents: Sequence[DocumentInfo], letters: dict[str, str]) -> str:
    rows = "".join(f"""<tr>
<td><span class="doc-badge doc-{esc(letters[d.doc_id])}">{esc(letters[d.doc_id])}</span></td>
<td><div class="card-title">{esc(d.title)}</div><div class="muted">{esc(d.notes)}</div><code>{esc(d.doc_id)}</code></td>
<td>{esc(d.body)}</td><td>{esc(d.kind)}</td><td>{esc(d.date)}</td>
<td class="num">{fmt_int(d.chars)}</td><td class="num">{d.chunks}</td></tr>""" for d in documents)
    return f"""<div class="rag-result"><table class="docs">
<thead><tr><th></th><th>Document</th><th>Émetteur</th><th>Nature</th><th>Date</th><th>Caractères</th><th>Passages indexés</th></tr></thead>
<tbody>{rows}</tbody></table></div>"""


def render_reader(doc, info: DocumentInfo, span: tuple[int, int] | None = None, letter: str = "?") -> str:
    """A document's clean text, block by block, with the clean range ``span`` marked (first mark has id reader-hit)."""
    parts, marked = [], False
    blocks = doc.blocks or ()
    if not blocks:
        from types import SimpleNamespace
        blocks = (SimpleNamespace(kind="text", start=0, end=len(doc.text), level=0),)
    for b in blocks:
        spans = []
        if span and span[0] < b.end and span[1] > b.start:
            spans = [(max(span[0], b.start) - b.start, min(span[1], b.end) - b.start)]
        body = render_marked(doc.text[b.start:b.end], spans, None if marked else "reader-hit")
        marked = marked or bool(spans)
        if b.kind == "heading":
            level = min(max(int(b.level or 1), 1) + 1, 6)
            parts.append(f"<h{level}>{body}</h{level}>")
        else:
            parts.append(f"<p>{body}</p>")
    where = (f'<div class="reader-where">Passage cité surligné (caractères {span[0]}–{span[1]} du texte nettoyé).</div>'
             if span else "")
    return f"""<div class="rag-result"><div class="reader-head">
<span class="doc-badge doc-{esc(letter)}">{esc(letter)}</span>
<div><div class="card-title">{esc(info.title)}</div>
<div class="card-meta">{" · ".join(esc(x) for x in (info.body, info.kind, info.date) if x)}</div></div></div>
{where}<div class="reader" id="reader-scroll" lang="fr">{"".join(parts)}</div></div>"""


IMAGE_LINK = re.compile(r"^\s*!\[[^\]]*\]\(([^)\s]+)\)\s*$", re.MULTILINE)


def eval_plots(markdown: str, folder: Path = EVAL_RESULTS) -> list[Path]:
    """The images a summary links to that exist inside ``folder`` (shown with gr.Image, never by path)."""
    found = []
    for link in IMAGE_LINK.findall(markdown):
        for base in (folder, ROOT):
            path = (base / link).resolve()
            if path.is_file() and path.is_relative_to(folder.resolve()) and path not in found:
                found.append(path)
                break
    return found


def render_plot(path: Path) -> str:
    """An evaluation plot as an <img> with a data: URI (the page's CSP allows data: images)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<div class="rag-result eval-plot"><img alt="{esc(path.stem)}" style="max-width:100%" '
            f'src="data:image/png;base64,{data}"></div>')


def load_eval_summary(folder: Path = EVAL_RESULTS) -> tuple[str, str]:
    """('markdown', text) from summary.md (image links removed), ('metrics', html) from metrics.json, or ('none', '')."""
    summary, metrics = folder / "summary.md", folder / "metrics.json"
    try:
        if summary.is_file():
            return "markdown", IMAGE_LINK.sub("", summary.read_text(encoding="utf-8"))
        if metrics.is_file():
            data = json.loads(metrics.read_text(encoding="utf-8"))
            rows = []

            def walk(prefix, value):
                if isinstance(value, dict):
                    for k, v in value.items():
                        walk(f"{prefix}.{k}" if prefix else str(k), v)
                elif isinstance(value, (int, float, str, bool)) and len(rows) < 80:
                    shown = f"{value:.3f}" if isinstance(value, float) else str(value)
                    rows.append(f"<tr><td><code>{esc(prefix)}</code></td><td class='num'>{esc(shown)}</td></tr>")

            walk("", data)
            return "metrics", f"<table class='docs'><tbody>{''.join(rows)}</tbody></table>"
    except (OSError, ValueError):
        log.exception("could not read the evaluation results in %s", folder)
    return "none", ""


def render_about(info: dict, threshold: float) -> str:
    created = str(info.get("created") or "?").replace("T", " ").replace("+0000", " UTC")
    size = info.get("bytes") or 0
    size_text = f"{dec(size / 1e6, 1)} Mo" if size >= 1e6 else f"{dec(size / 1e3, 0)} ko"
    return f"""<div class="rag-result about">
<h2>Comment ça marche</h2>
<ul>
<li><strong>Aucune génération.</strong> Les réponses sont des phrases citées telles quelles depuis les {esc(info.get("documents"))} documents
du corpus (textes officiels, études, presse) ; l'interface n'ajoute que des libellés fixes.</li>
<li><strong>Recherche hybride.</strong> Chaque passage (≈ 160 jetons) est classé par similarité sémantique (plongements
multilingues : une question en anglais trouve du texte français), par mots-clés (BM25) et par la similarité de sa
meilleure phrase ; les trois classements sont fusionnés (fusion des rangs réciproques).</li>
<li><strong>Lecture de la question.</strong> Langue, type de réponse attendu (personne, organisation, lieu, date, nombre,
définition, raison…) et termes sur lesquels porte la question.</li>
<li><strong>Réponse extraite.</strong> Une phrase des meilleurs passages n'est citée que si elle contient une expression du
type attendu (une date pour « quand », un nombre pour « combien », un nom pour « qui », un lieu pour « où ») et si un
modèle calibré sur des questions d'essai lui donne une probabilité de répondre d'au moins {dec(threshold)}. La confiance
affichée (élevée, moyenne, faible) est cette probabilité. Chaque phrase est reliée à son passage et à ses positions
exactes dans le fichier source.</li>
<li><strong>Trois issues.</strong> Une réponse citée ; ou « le corpus en parle, mais ne répond pas à cette question »,
avec les passages sur le sujet repliés ; ou « le corpus ne traite pas de cette question ».</li>
</ul>
<h3 class="sec-title">Index</h3>
<table class="docs"><tbody>
<tr><td>Modèle de plongements</td><td><code>{esc(info.get("embedder"))}</code></td></tr>
<tr><td>Index vectoriel</td><td><code>{esc(info.get("vector_index"))}</code></td></tr>
<tr><td>Construit le</td><td>{esc(created)}</td></tr>
<tr><td>Documents · passages · phrases</td><td>{esc(info.get("documents"))} · {esc(info.get("chunks"))} · {esc(info.get("sentences"))}</td></tr>
<tr><td>Taille sur disque</td><td>{esc(size_text)}</td></tr>
</tbody></table>
</div>"""


# --------------------------------------------------------------------------- handlers
class App:
    """Event handlers bound to one retriever."""

    def __init__(self, retriever: Retriever) -> None:
        self.r = retriever
        self.documents = list(retriever.documents)
        self.doc_ids = [d.doc_id for d in self.documents]
        self.letters = doc_letters(self.documents)
        self.threshold = float(retriever.settings.answer_threshold)
        retriever.warm_up()  # spaCy and the embedder load now, not at the first visitor's question

    # ------------------------------------------------------------- checks
    def _docs(self, docs) -> list[str] | None:
        """``None`` (all documents) or the ids asked for; ``[]`` stays ``[]`` and is refused by the engine."""
        if docs is None:
            return None
        if isinstance(docs, str):
            docs = [docs] if docs.strip() else []
        if not isinstance(docs, (list, tuple)):
            raise QueryError("docs must be a list of document ids", "bad_docs")
        docs = list(docs)
        if len(docs) == len(self.doc_ids) and all(isinstance(d, str) for d in docs) and set(docs) == set(self.doc_ids):
            return None
        return docs

    @staticmethod
    def _k(k):
        if isinstance(k, float) and math.isfinite(k) and k.is_integer():
            return int(k)
        return k

    def check_search(self, values: list) -> tuple[str, str] | None:
        """Pre-queue check of the API's inputs (guard.py): ``(parameter, French message)`` or None."""
        question, k, mode, docs = (list(values) + [None] * 4)[:4]
        k = DEFAULT_K if k is None else k
        mode = "hybrid" if mode is None else mode
        try:
            self.r.check(check_question(question), self._k(k), mode, self._docs(docs))
        except QueryError as exc:
            return PARAMETER.get(exc.code, "docs"), french(exc, self.doc_ids)
        return None

    def check_ask(self, values: list) -> tuple[str, str] | None:
        """Pre-queue check of the page's question: refuses only what the page itself cannot send (the page's
        own mistakes, an empty or too long question, get their notice from ``ask``)."""
        question, k, mode, docs = (list(values) + [None] * 4)[:4]
        if question is not None and (not isinstance(question, str) or len(question) > 2 * MAX_QUESTION_CHARS):
            return "question", msg_too_long(len(question)) if isinstance(question, str) else "La question doit être du texte."
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not math.isfinite(k) or not 1 <= k <= MAX_K:
            return "k", f"Nombre de passages invalide : de 1 à {MAX_K}."
        if mode not in MODES:
            return "mode", "Mode de recherche inconnu."
        if docs is not None and (not isinstance(docs, list) or len(docs) > len(self.doc_ids)
                                 or not all(isinstance(d, str) and d in self.doc_ids for d in docs)):
            return "docs", "Documents inconnus."
        return None

    def check_reader(self, values: list) -> tuple[str, str] | None:
        doc_id = (list(values) + [None])[0]
        if doc_id is not None and not (isinstance(doc_id, str) and len(doc_id) <= 200):
            return "doc_id", "Document inconnu."
        return None

    def check_open_reader(self, values: list) -> tuple[str, str] | None:
        request = (list(values) + [None])[0]
        if request is not None and not (isinstance(request, str) and len(request) <= 1000):
            return "request", "Demande de lecture invalide."
        return None

    # ------------------------------------------------------------- handlers
    def run(self, question, k, mode, docs) -> Answer:
        """Check the inputs and ask the engine. Raises QueryError (with its code)."""
        text = check_question(question)
        t0 = time.perf_counter()
        answer = self.r.answer(text, k=self._k(k), mode=mode, docs=self._docs(docs))
        log.info("answer in %.0f ms (k=%s, mode=%s, status=%s, confidence=%.2f)",
                 (time.perf_counter() - t0) * 1000, k, mode, answer.status, answer.confidence)
        return answer

    def notes(self, question: str, answer: Answer) -> list[str]:
        """French notes on an answer: the question was cut to its token budget; the index is older than the corpus."""
        out = []
        if answer.question != normalize_question(check_question(question)):
            out.append(MSG_CUT.format(start=answer.question[:60] + ("…" if len(answer.question) > 60 else ""),
                                      tokens=QUESTION_TOKENS))
        if self.r.corpus_changed():
            out.append(MSG_STALE)
        return out

    def ask(self, question, k, mode, docs) -> str:
        """UI handler: HTML of the result panel (never raises)."""
        try:
            if question is None or isinstance(question, str) and not " ".join(question.split()):
                return render_notice(MSG_EMPTY, "info")
            if isinstance(docs, (list, tuple)) and not docs:
                return render_notice(MSG_NO_DOCS, "info")
            answer = self.run(question, k, mode, docs)
            notes = "".join(render_notice(n, "warning") for n in self.notes(question, answer))
            return notes + render_answer(answer, passage_excerpts(self.r, answer), self.letters)
        except QueryError as exc:
            return render_notice(french(exc, self.doc_ids), "error")
        except Exception:  # noqa: BLE001 (a visitor sees a sentence, the log has the trace)
            log.exception("ask failed")
            return render_notice(MSG_INTERNAL, "error")

    def search(self, question: str, k: int = DEFAULT_K, mode: str = "hybrid",
               docs: list[str] | None = None) -> dict:
        """API: the Answer as JSON. Bad input raises gr.Error with a French reason (no stack trace)."""
        try:
            answer = self.run(question, k, mode, docs)
            notes = self.notes(question, answer)
        except QueryError as exc:
            raise gr.Error(french(exc, self.doc_ids), print_exception=False) from None
        except Exception:  # noqa: BLE001
            log.exception("search failed")
            raise gr.Error(MSG_INTERNAL, print_exception=False) from None
        out = answer.to_dict()
        out["notes"] = notes
        out["index_older_than_corpus"] = MSG_STALE in notes
        return out

    def reader(self, doc_id, span: tuple[int, int] | None = None) -> str:
        if not isinstance(doc_id, str) or doc_id not in self.doc_ids:
            return render_notice("Choisissez un document à lire.", "info")
        doc = self.r.clean_document(doc_id)
        info = next(d for d in self.documents if d.doc_id == doc_id)
        return render_reader(doc, info, span, self.letters.get(doc_id, "?"))

    def open_reader(self, request: str):
        """From a card's 'Lire dans le document': switch to the corpus tab, select the document, mark the passage."""
        try:
            req = json.loads(request or "{}") if isinstance(request, str) and len(request) <= 1000 else None
            doc_id, start, end = str(req["doc"]), int(req["start"]), int(req["end"])
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError):  # Infinity, deep JSON, not a dict
            return gr.update(), gr.update(), gr.update()
        if doc_id not in self.doc_ids:
            return gr.update(), gr.update(), gr.update()
        span = self.r.clean_document(doc_id).to_clean(start, end)
        return gr.Tabs(selected="corpus"), gr.update(value=doc_id), self.reader(doc_id, span)


# --------------------------------------------------------------------------- page assets
CSS = """
.gradio-container { max-width: 1120px !important; margin: 0 auto !important; }
#app-header h1 { font-size: 1.7rem; margin: 0.2rem 0 0.1rem; }
#app-header p { margin: 0; color: var(--body-text-color-subdued); }
.hidden-control { display: none !important; }
.rag-result { font-size: 15px; line-height: 1.55; color: var(--body-text-color); }
.rag-result .asked { color: var(--body-text-color-subdued); margin: 0.2rem 0 0.6rem; font-size: 0.92rem; }
.rag-result .answer { border: 1px solid #c7d2fe; background: linear-gradient(180deg, #eef2ff 0%, #f8faff 100%);
  border-radius: 12px; padding: 14px 18px 10px; margin-bottom: 14px; }
.dark .rag-result .answer { background: #1e2340; border-color: #3b4680; }
.rag-result .answer-head { display: flex; align-items: center; justify-content: space-between; gap: 12px; }
.rag-result .answer h2 { font-size: 1.15rem; margin: 0; color: #3730a3; }
.dark .rag-result .answer h2 { color: #c7d2fe; }
.rag-result .answer-list { margin: 0.6rem 0 0.4rem 1.2rem; padding: 0; }
.rag-result .answer-list li { margin: 0.35rem 0; }
.rag-result .answer-list .quote { font-size: 1.02rem; }
.rag-result .answer-note { font-size: 0.82rem; color: var(--body-text-color-subdued); margin: 0.3rem 0 0; }
.rag-result a.cite, .rag-result .card-tags a { font-weight: 600; text-decoration: none; color: #4338ca; white-space: nowrap; }
.dark .rag-result a.cite { color: #a5b4fc; }
.rag-result a.cite:hover { text-decoration: underline; }
.rag-result .conf { font-size: 0.8rem; border-radius: 999px; padding: 2px 10px; font-weight: 600; white-space: nowrap; }
.rag-result .conf-high { background: #dcfce7; color: #166534; }
.rag-result .conf-medium { background: #fef9c3; color: #854d0e; }
.rag-result .conf-low { background: #fee2e2; color: #991b1b; }
.rag-result h3.sec-title { font-size: 0.95rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--body-text-color-subdued);
  margin: 1rem 0 0.5rem; }
.rag-result .sources ul { list-style: none; margin: 0; padding: 0; }
.rag-result .sources li { margin: 0.25rem 0; display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.rag-result .src-title { font-weight: 500; }
.rag-result .card { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 12px 16px; margin: 0 0 12px;
  background: var(--background-fill-primary); scroll-margin-top: 80px; transition: box-shadow .3s, border-color .3s; }
.rag-result .card:target { border-color: #6366f1; box-shadow: 0 0 0 3px rgba(99,102,241,.25); }
.rag-result .card-head { display: flex; gap: 10px; align-items: flex-start; }
.rag-result .card-num { font-weight: 700; color: #4338ca; min-width: 2.2em; padding-top: 1px; }
.rag-result .card-titles { flex: 1; min-width: 0; }
.rag-result .card-title { font-weight: 600; line-height: 1.35; }
.rag-result .card-meta, .rag-result .muted { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.rag-result .card-section { font-size: 0.82rem; color: var(--body-text-color-subdued); font-style: italic; margin-top: 2px; }
.rag-result .doc-badge { display: inline-flex; align-items: center; justify-content: center; width: 1.6em; height: 1.6em;
  border-radius: 6px; font-weight: 700; font-size: 0.85rem; color: #fff; background: #64748b; flex: none; }
.rag-result .doc-A { background: #2563eb; } .rag-result .doc-B { background: #059669; } .rag-result .doc-C { background: #d97706; }
.rag-result .doc-D { background: #7c3aed; } .rag-result .doc-E { background: #db2777; } .rag-result .doc-F { background: #0891b2; }
.rag-result .meter { width: 180px; flex: none; text-align: right; white-space: nowrap; }
.rag-result .meter-bar { height: 6px; border-radius: 3px; background: var(--border-color-primary); overflow: hidden; margin-top: 6px; }
.rag-result .meter-bar span { display: block; height: 100%; border-radius: 3px; }
.rag-result .meter-high .meter-bar span { background: #16a34a; } .rag-result .meter-medium .meter-bar span { background: #ca8a04; }
.rag-result .meter-low .meter-bar span { background: #dc2626; }
.rag-result .meter-label { font-size: 0.75rem; color: var(--body-text-color-subdued); margin-top: 3px; }
.rag-result .card-tags { margin: 6px 0 0 2.9em; display: flex; gap: 6px; flex-wrap: wrap; }
.rag-result .card-tags:empty { display: none; }
.rag-result .tag { font-size: 0.75rem; border-radius: 999px; padding: 1px 8px; background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); }
.rag-result .tag-answer { background: #e0e7ff; border-color: #c7d2fe; color: #3730a3; }
.rag-result .tag-low { background: #fee2e2; border-color: #fecaca; color: #991b1b; }
.rag-result blockquote.passage { margin: 10px 0 8px 2.9em; padding: 0 0 0 12px; border-left: 3px solid var(--border-color-primary);
  white-space: pre-wrap; font-size: 0.95rem; color: var(--body-text-color); }
.rag-result mark { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
.dark .rag-result mark { background: #854d0e; }
.rag-result .card-actions { margin-left: 2.9em; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.rag-result button.act { font-size: 0.82rem; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 3px 10px;
  background: var(--background-fill-secondary); cursor: pointer; color: var(--body-text-color); }
.rag-result button.act:hover { border-color: #6366f1; }
.rag-result button.act.done { border-color: #16a34a; color: #166534; }
.rag-result .offsets { font-size: 0.75rem; color: var(--body-text-color-subdued); margin-left: auto; font-family: var(--font-mono); }
.rag-result .ref-box { margin: 6px 0 0 2.9em; font-size: 0.82rem; }
.rag-result .ref-box summary { cursor: pointer; color: var(--body-text-color-subdued); }
.rag-result .ref-text { white-space: pre-wrap; font-size: 0.8rem; background: var(--background-fill-secondary); padding: 8px; border-radius: 6px; }
.rag-result .notice-icon { flex: none; width: 1.5em; height: 1.5em; border-radius: 50%; display: inline-flex;
  align-items: center; justify-content: center; font-weight: 700; color: #fff; background: #3b82f6; }
.rag-result .notice-warning .notice-icon { background: #d97706; } .rag-result .notice-error .notice-icon { background: #dc2626; }
.rag-result .notice { display: flex; gap: 10px; border-radius: 10px; padding: 12px 16px; margin: 4px 0 12px;
  border: 1px solid #bfdbfe; background: #eff6ff; }
.rag-result .notice-warning { border-color: #fcd34d; background: #fffbeb; }
.rag-result .notice-error { border-color: #fca5a5; background: #fef2f2; }
.dark .rag-result .notice { background: transparent; }
.rag-result details.nearest > summary { cursor: pointer; font-weight: 600; margin: 6px 0 12px; color: var(--body-text-color-subdued); }
.rag-result table.docs { width: 100%; border-collapse: collapse; font-size: 0.9rem; }
.rag-result table.docs { border-style: hidden !important; box-shadow: none !important; }
.rag-result table.docs thead, .rag-result table.docs tbody, .rag-result table.docs tr { border: none !important; }
.rag-result table.docs th, .rag-result table.docs td { border: none !important; border-bottom: 1px solid var(--border-color-primary) !important;
  padding: 8px 6px; text-align: left; vertical-align: top; background: transparent; }
.rag-result table.docs th { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.03em; color: var(--body-text-color-subdued); }
.rag-result table.docs td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.rag-result .reader-head { display: flex; gap: 10px; align-items: flex-start; margin: 6px 0 8px; }
.rag-result .reader-where { font-size: 0.82rem; color: var(--body-text-color-subdued); margin-bottom: 6px; }
.rag-result .reader { max-height: 70vh; overflow-y: auto; border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: 8px 22px; background: var(--background-fill-primary); }
.rag-result .reader p { margin: 0.5rem 0; white-space: pre-wrap; }
.rag-result .reader h2, .rag-result .reader h3, .rag-result .reader h4, .rag-result .reader h5, .rag-result .reader h6 {
  margin: 1rem 0 0.4rem; font-size: 1.02rem; }
.rag-result .reader h2 { font-size: 1.15rem; }
.rag-result.about ul { padding-left: 1.2rem; } .rag-result.about li { margin: 0.35rem 0; }
#eval-summary table { font-size: 0.9rem; }
footer.app-footer { font-size: 0.8rem; color: var(--body-text-color-subdued); }
"""

# Delegated click handlers for the buttons inside the HTML panels (copy a reference; open the reader).
JS = """
() => {
  if (window.__ragWired) return; window.__ragWired = true;
  const copy = async (text, btn) => {
    let ok = false;
    try { await navigator.clipboard.writeText(text); ok = true; } catch (e) {
      const ta = document.createElement('textarea'); ta.value = text; ta.setAttribute('readonly', '');
      ta.style.position = 'fixed'; ta.style.opacity = '0'; document.body.appendChild(ta); ta.select();
      try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
      ta.remove();
    }
    const label = btn.dataset.label || btn.textContent; btn.dataset.label = label;
    btn.textContent = ok ? '✓ Référence copiée' : 'Copie impossible : voir « Référence à copier »';
    btn.classList.toggle('done', ok);
    if (!ok) { const d = btn.closest('.card')?.querySelector('details.ref-box'); if (d) d.open = true; }
    setTimeout(() => { btn.textContent = label; btn.classList.remove('done'); }, 2500);
  };
  document.addEventListener('click', (ev) => {
    const c = ev.target.closest('button.copy-ref');
    if (c) { ev.preventDefault(); copy(c.dataset.ref || '', c); return; }
    const r = ev.target.closest('button.read-link');
    if (r) {
      ev.preventDefault();
      window.__ragReaderRequest = JSON.stringify({doc: r.dataset.doc, start: Number(r.dataset.start), end: Number(r.dataset.end)});
      const go = document.querySelector('#reader-go button, button#reader-go');
      if (go) go.click();
    }
  });
}
"""

SCROLL_TO_HIT = """
() => {
  const tryScroll = (n) => {
    const hit = document.querySelector('#reader-hit');
    if (hit) { hit.scrollIntoView({block: 'center'}); return; }
    if (n > 0) setTimeout(() => tryScroll(n - 1), 100);
  };
  setTimeout(() => tryScroll(20), 50);
}
"""


def theme() -> gr.themes.Base:
    # System fonts only: the page loads nothing from outside the app.
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", neutral_hue="slate",
                          font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans",
                                "DejaVu Sans", "sans-serif"],
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "DejaVu Sans Mono", "monospace"])


def launch_options() -> dict:
    """What ``launch`` needs besides host and port (theme, CSS, page script)."""
    return {"theme": theme(), "css": CSS, "js": JS}


# --------------------------------------------------------------------------- layout
def build_app(retriever: Retriever, concurrency: int = CONCURRENCY, queue_size: int = QUEUE_SIZE) -> gr.Blocks:
    """The Gradio app over ``retriever`` (queue configured; launch it with ``launch(demo, ...)``)."""
    app = App(retriever)
    info = retriever.info()
    choices = [(f"{app.letters[d.doc_id]} · {d.title}", d.doc_id) for d in app.documents]

    with gr.Blocks(title="IA militaire : corpus de gouvernance — questions-réponses citées",
                   delete_cache=DELETE_CACHE) as demo:
        gr.HTML(
            '<div id="app-header"><h1>Gouvernance de l\'IA militaire — questions-réponses citées</h1>'
            f'<p>Réponses extraites mot pour mot des {len(app.documents)} documents du corpus, chaque phrase reliée à '
            'sa source. Questions en français ou en anglais.</p></div>',
            padding=False)
        with gr.Tabs(selected="ask") as tabs:
            with gr.Tab("Question", id="ask"):
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        label="Votre question", placeholder="Ex. : Que signifie un contrôle humain significatif ?",
                        lines=1, max_lines=4, scale=5, autofocus=True, elem_id="question",
                        max_length=MAX_QUESTION_CHARS * 2, submit_btn=False)
                    ask_btn = gr.Button("Rechercher", variant="primary", scale=1, min_width=140, elem_id="ask-btn")
                with gr.Accordion("Options de recherche", open=False):
                    with gr.Row():
                        k = gr.Slider(1, min(20, MAX_K), value=DEFAULT_K, step=1, label="Nombre de passages")
                        mode = gr.Radio([(MODE_LABELS.get(m, m), m) for m in MODES], value="hybrid",
                                        label="Mode de recherche")
                    docs = gr.CheckboxGroup(choices, value=list(app.doc_ids), label="Documents interrogés")
                examples = gr.Examples(EXAMPLES, inputs=[question], label="Exemples (cliquer pour poser la question)",
                                       examples_per_page=len(EXAMPLES))
                result = gr.HTML(render_notice(MSG_EMPTY, "info"), elem_id="result", padding=False)
            with gr.Tab("Corpus", id="corpus"):
                gr.HTML(render_documents(app.documents, app.letters), padding=False)
                reader_doc = gr.Dropdown([(t, d) for t, d in choices], value=app.doc_ids[0] if app.doc_ids else None,
                                         label="Lire un document (texte nettoyé)", elem_id="reader-doc")
                reader = gr.HTML(app.reader(app.doc_ids[0]) if app.doc_ids else "", elem_id="reader", padding=False)
            with gr.Tab("À propos", id="about"):
                gr.HTML(render_about(info, app.threshold), padding=False)
                gr.HTML('<div class="rag-result"><h3 class="sec-title">Évaluation</h3></div>', padding=False)
                kind, text = load_eval_summary()
                if kind == "markdown":
                    gr.Markdown(text, elem_id="eval-summary")  # Markdown sanitises any HTML it contains
                    raw = (EVAL_RESULTS / "summary.md").read_text(encoding="utf-8")
                    for plot in eval_plots(raw):  # inline: no copy in Gradio's temp folder, no server path in /config
                        gr.HTML(render_plot(plot), padding=False)
                elif kind == "metrics":
                    gr.HTML(f'<div class="rag-result">{text}</div>', padding=False)
                else:
                    gr.HTML('<div class="rag-result"><p class="muted">Les résultats d\'évaluation ne sont pas encore '
                            'disponibles (eval/results/summary.md absent).</p></div>', padding=False)

        # Hidden bridge used by the "Lire dans le document" buttons.
        reader_req = gr.Textbox(elem_id="reader-request", elem_classes=["hidden-control"], show_label=False)
        reader_go = gr.Button("open", elem_id="reader-go", elem_classes=["hidden-control"])

        inputs = [question, k, mode, docs]
        ask_kw = dict(fn=app.ask, inputs=inputs, outputs=[result], api_visibility="private",
                      show_progress="minimal", concurrency_id=ENGINE)
        question.submit(**ask_kw)
        ask_btn.click(**ask_kw)
        examples.load_input_event.then(**ask_kw)
        reader_doc.input(app.reader, inputs=[reader_doc], outputs=[reader], api_visibility="private")
        reader_go.click(app.open_reader, inputs=[reader_req], outputs=[tabs, reader_doc, reader],
                        js="(x) => window.__ragReaderRequest || x", api_visibility="private",
                        show_progress="hidden").then(None, js=SCROLL_TO_HIT)

        gr.api(app.search, api_name="search", concurrency_id=ENGINE,
               api_description="Answer a question from the corpus. Returns the Answer as JSON: status (answered, "
                               "related or off_topic), abstained (status != answered), confidence and level, message, "
                               "sentences (verbatim, with passage index and file offsets), passages, and notes (French: "
                               "the question was cut to its token budget; the index is older than the corpus). "
                               "docs: null means every document; a list names some ([] is refused, as in the page). "
                               "Bad input is refused before queueing (HTTP 422, French message).")
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size, api_open=False)
    guard.fair_queue(demo)
    demo.guard_routes = guard.Routes(
        blocks=demo, group=ENGINE,
        checks={app.search: app.check_search, app.ask: app.check_ask, app.reader: app.check_reader,
                app.open_reader: app.check_open_reader},
        names={app.search: ["question", "k", "mode", "docs"], app.ask: ["question", "k", "mode", "docs"],
               app.reader: ["doc_id"], app.open_reader: ["request"]})
    return demo


def launch(demo: gr.Blocks, limits: guard.Limits = LIMITS, **kwargs):
    """``demo.launch`` with the app's theme, CSS and script, behind ``guard.Guard`` (sizes, per-client caps,
    pre-queue checks, headers), uploads bounded, run history off, and no extra allowed file paths."""
    routes = getattr(demo, "guard_routes", None) or guard.Routes(blocks=demo)
    middleware = Middleware(guard.Guard, routes=routes, limits=limits, temp_dir=gr.utils.get_upload_folder())
    app_kwargs = dict(kwargs.pop("app_kwargs", None) or {})
    app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), middleware]
    kwargs.setdefault("max_file_size", limits.max_upload)
    kwargs.setdefault("run_history", False)
    return demo.launch(**launch_options(), app_kwargs=app_kwargs, **kwargs)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    log.info("corpus %s, index %s, embedder %s: loading the index (a first build takes several minutes)",
             settings.corpus_dir, settings.index_dir, settings.embedder)
    t0 = time.perf_counter()
    retriever = Retriever.from_settings(settings, progress=True)
    info = retriever.info()
    log.info("index ready in %.1f s: %s documents, %s passages, embedder %s, built %s",
             time.perf_counter() - t0, info["documents"], info["chunks"], info["embedder"], info["created"])
    demo = build_app(retriever)
    launch(demo, server_name=os.environ.get("GRADIO_SERVER_NAME"),
           server_port=int(os.environ["GRADIO_SERVER_PORT"]) if os.environ.get("GRADIO_SERVER_PORT") else None)


if __name__ == "__main__":
    main()

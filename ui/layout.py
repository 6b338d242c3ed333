"""The page: Gradio Blocks over one ``Retriever``, its queue, and ``launch`` behind ``ui.guard.Guard``.

``build_app(retriever, app_settings) -> gr.Blocks`` (tests launch it in-process with ``launch(demo, ...)``). On a
public Space, ``launch`` puts ``guard.Guard`` in front of Gradio (request sizes, a per-client cap, invalid input refused
before it is queued, security headers) and ``build_app`` makes the queue the only way to the engine (``api_open=False``,
one concurrency group, served lightest client first). The queue's size and the guard's limits are the fields of
``rag.settings.AppSettings``, which ``app.py`` reads once at start (``RAG_APP_*``); importing this module reads no
environment variable.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import sys
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from rag import MAX_K, MAX_QUESTION_CHARS, MODES, AppSettings, Retriever, Settings
from rag.index.uploads import UPLOAD_SUFFIXES
from ui import feedback, guard, my_documents, page_language
from ui.about import EVAL_RESULTS, eval_plots, load_eval_summary, render_about, summary_in
from ui.handlers import DEFAULT_K, App
from ui.i18n import STRINGS, text
from ui.page_language import label
from ui.render import render_documents, render_notice, render_plot
from ui.sessions import Sessions

ASSETS = Path(__file__).resolve().parent / "assets"

DELETE_CACHE = (300, 900)  # every 5 minutes, Gradio deletes its temp files older than 15 minutes
ENGINE = "engine"  # one concurrency group for every handler that answers or searches
UPLOADS = "uploads"  # « Mes documents »: reading and embedding in a lane of their own, so questions keep theirs

# Example questions, each in its own language (marked so on the page).
FRENCH_EXAMPLES = [
    "Que signifie un contrôle humain significatif ?",
    "Où se sont tenus les sommets REAIM précédents ?",
    "Quelles phases du cycle de vie des outils d'IA militaire l'Assemblée générale énumère-t-elle ?",
    "Quand la Convention-cadre du Conseil de l'Europe sur l'IA a-t-elle été adoptée ?",
    "Quel dirigeant a affirmé en 2017 que la maîtrise de l'IA conférerait la domination mondiale ?",
]
EXAMPLES = [
    FRENCH_EXAMPLES[0],
    "What does meaningful human control mean?",
    FRENCH_EXAMPLES[1],
    FRENCH_EXAMPLES[2],
    "On what date did the General Assembly adopt resolution 79/239?",
    FRENCH_EXAMPLES[3],
    "What legal nature does the US draft give to the guidelines it proposes on autonomous weapons oversight?",
    FRENCH_EXAMPLES[4],
    "Why does the Ifri author argue that AI governance must be able to adapt over time?",
]


def mode_choices(lang: str = "fr") -> list[tuple[str, str]]:
    return [(text(f"mode_{m}", lang) if f"mode_{m}" in STRINGS else m, m) for m in MODES]


MODE_LABELS = {m: label for label, m in mode_choices()}
# The page's style, and its script: delegated click handlers for the buttons inside the HTML panels (copy a
# reference; open the reader); then the reader's scroll to the marked passage.
CSS = (ASSETS / "app.css").read_text(encoding="utf-8")
JS = (ASSETS / "app.js").read_text(encoding="utf-8")
SCROLL_TO_HIT = (ASSETS / "scroll_to_hit.js").read_text(encoding="utf-8")
SHOW_ANSWER = (ASSETS / "show_answer.js").read_text(encoding="utf-8")


def theme() -> gr.themes.Base:
    # System fonts only: the page loads nothing from outside the app.
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", neutral_hue="slate",
                          font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans",
                                "DejaVu Sans", "sans-serif"],
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "DejaVu Sans Mono", "monospace"]
                          ).set(  # WCAG AA contrast (4.5:1) for text, which the theme's indigo 500 misses on white
        body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
        button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
        block_label_text_color="*primary_700", block_title_text_color="*primary_700", color_accent="*primary_700")


def app_limits(app_settings: AppSettings | None = None, settings: Settings | None = None) -> guard.Limits:
    """A public Space's limits (``guard.Limits``) from ``app_settings``; an upload request's from ``settings`` (its
    « Mes documents » size limit) unless ``RAG_APP_MAX_UPLOAD`` is set. Either missing: read from the environment."""
    app_settings = AppSettings.from_env() if app_settings is None else app_settings
    settings = Settings.from_env() if settings is None else settings
    return guard.Limits(max_body=app_settings.max_body, max_upload=app_settings.upload_request(settings),
                        temp_budget=app_settings.temp_budget, per_session=app_settings.per_session,
                        per_ip=app_settings.per_ip, trusted_proxies=app_settings.trusted_proxies)


def launch_options() -> dict:
    """What ``launch`` needs besides host and port (theme, CSS, page script, the language picked before Gradio
    starts), and Gradio's monitoring page off (a public app has no use for it; see :func:`without_traffic_summary`)."""
    return {"theme": theme(), "css": CSS, "js": JS, "head": page_language.head(), "enable_monitoring": False}


# --------------------------------------------------------------------------- layout
API_DESCRIPTION = ("Answer a question from the corpus. Returns the Answer as JSON: status (answered, "
                   "related or off_topic), abstained (status != answered), confidence and level, message, "
                   "sentences (verbatim, with passage index and file offsets), passages, and notes (French: "
                   "the question was cut to its token budget; the index is older than the corpus), references (one "
                   "ready-to-paste citation per passage, as the page's « Copier la référence »), citations and "
                   "sentence_citations (per passage and per quoted sentence: short and full reference, symbol, "
                   "status, paragraph, page), explanations (per passage, the signals that ranked it: similarity and "
                   "ranks, the question's words found, the expected answer type and whether the sentence has it). "
                   "docs: null means every document; a list names some ([] is refused, as in the page). "
                   "Bad input is refused before queueing (HTTP 422, French message).")


def ask_tab(app: App, choices: list[tuple[str, str]]) -> dict:
    """The « Question » tab's components: question, button, options, examples, result panel."""
    with gr.Row(equal_height=True):
        question = gr.Textbox(
            label=text("question_label"), placeholder=text("question_placeholder"),
            lines=1, max_lines=4, scale=5, autofocus=True, elem_id="question",
            max_length=MAX_QUESTION_CHARS * 2, submit_btn=False)
        ask_btn = gr.Button(text("ask_button"), variant="primary", scale=1, min_width=140, elem_id="ask-btn")
    with gr.Accordion(text("options"), open=False) as options:
        with gr.Row():
            k = gr.Slider(1, min(20, MAX_K), value=DEFAULT_K, step=1, label=text("k_label"))
            mode = gr.Radio(mode_choices(), value="hybrid", label=text("mode_label"))
        docs = gr.CheckboxGroup(choices, value=list(app.doc_ids), label=text("docs_label"), elem_id="docs-filter")
    examples = gr.Examples(EXAMPLES, inputs=[question], label=text("examples_label"),
                           examples_per_page=len(EXAMPLES), elem_id="examples")
    mine = my_documents_panel(app) if app.sessions is not None else {}
    # A follow-up's reading (« Compris comme : … ») and the button that asks the question as typed instead.
    with gr.Row(visible=False, elem_id="understood-row", equal_height=True) as understood_row:
        understood = gr.HTML("", elem_id="understood", padding=False)
        alone = gr.Button(text("ask_alone"), size="sm", variant="secondary", elem_id="ask-alone", scale=0,
                          min_width=200)
    result = gr.HTML(render_notice(text("empty"), "info"), elem_id="result", padding=False)
    verdicts = feedback.feedback_panel() if app.feedback.enabled else {}  # off unless the operator names a file
    previous = gr.State(None)  # the question before, as it was read: per browser tab
    return dict(question=question, ask_btn=ask_btn, options=options, k=k, mode=mode, docs=docs, examples=examples,
                result=result, understood_row=understood_row, understood=understood, ask_alone=alone,
                previous=previous, **mine, **verdicts)


def my_documents_panel(app: App) -> dict:
    """The « Mes documents » panel: files of this browser session only, searched with the corpus."""
    with gr.Accordion(text("my_docs_title"), open=False, elem_id="my-docs-panel") as accordion:
        # No file_types: Gradio would refuse another type with an English error; rag.index.uploads refuses it in French.
        files = gr.File(label=text("upload_label", kinds=UPLOAD_KINDS), file_count="multiple", type="filepath",
                        elem_id="upload-files", height=120)
        panel = gr.HTML(app.my_documents(), elem_id="my-docs-list", padding=False)
        with gr.Row():
            cancel = gr.Button(text("upload_cancel"), size="sm", variant="secondary", elem_id="cancel-upload")
            clear = gr.Button(text("clear_docs"), size="sm", variant="secondary", elem_id="clear-docs")
    return dict(my_docs_panel=accordion, upload_files=files, my_docs=panel, clear_docs=clear, cancel_upload=cancel)


UPLOAD_KINDS = ", ".join(s[1:].upper() for s in UPLOAD_SUFFIXES)


def corpus_tab(app: App, choices: list[tuple[str, str]]) -> dict:
    """The « Corpus » tab's components: the documents' table and the reader."""
    documents = gr.HTML(render_documents(app.documents, app.letters), padding=False)
    reader_doc = gr.Dropdown([(t, d) for t, d in choices], value=app.doc_ids[0] if app.doc_ids else None,
                             label=text("reader_label"), elem_id="reader-doc")
    reader = gr.HTML(app.reader(app.doc_ids[0], lang="fr") if app.doc_ids else "", elem_id="reader", padding=False)
    return dict(documents=documents, reader_doc=reader_doc, reader=reader)


def evaluation_title(lang: str = "fr") -> str:
    return f'<div class="rag-result"><h3 class="sec-title">{text("evaluation", lang)}</h3></div>'


def no_evaluation(lang: str = "fr") -> str:
    return f'<div class="rag-result"><p class="muted">{text("no_eval", lang)}</p></div>'


def about_tab(info: dict, threshold: float) -> dict:
    """The « À propos » tab: how it works, the index, the evaluation results."""
    out = {"about": gr.HTML(render_about(info, threshold), padding=False),
           "eval_title": gr.HTML(evaluation_title(), padding=False)}
    kind, summary = load_eval_summary()
    if kind == "markdown":
        # Markdown sanitises any HTML it contains
        out["eval_summary"] = gr.Markdown(summary_in(summary, "fr"), elem_id="eval-summary")
        out["eval_summary"].english = summary
        raw = (EVAL_RESULTS / "summary.md").read_text(encoding="utf-8")
        for plot in eval_plots(raw):  # inline: no copy in Gradio's temp folder, no server path in /config
            gr.HTML(render_plot(plot), padding=False)
    elif kind == "metrics":
        gr.HTML(f'<div class="rag-result">{summary}</div>', padding=False)
    else:
        out["no_eval"] = gr.HTML(no_evaluation(), padding=False)
    return out


def wire(app: App, c: dict, tabs: gr.Tabs, upload_slots: int = 1) -> None:
    """The events: ask (submit, button, example), the reader (dropdown, a card's link), the API, and uploads
    (``upload_slots`` at a time, in their own concurrency group)."""
    # Hidden bridge used by the "Lire dans le document" buttons.
    reader_req = gr.Textbox(elem_id="reader-request", elem_classes=["hidden-control"], show_label=False)
    reader_go = gr.Button("open", elem_id="reader-go", elem_classes=["hidden-control"])

    inputs = [c["question"], c["k"], c["mode"], c["docs"]]
    outputs = [c["result"], c["previous"], c["understood"], c["understood_row"]]
    ask_kw = dict(fn=app.ask_turn, inputs=[*inputs, c["previous"]], outputs=outputs, api_visibility="private",
                  show_progress="minimal", concurrency_id=ENGINE)
    alone_kw = dict(ask_kw, fn=app.ask_alone, inputs=inputs)
    asked = [c["question"].submit(**ask_kw), c["ask_btn"].click(**ask_kw),
             c["examples"].load_input_event.then(**ask_kw), c["ask_alone"].click(**alone_kw)]
    for event in asked:
        event.then(None, js=SHOW_ANSWER)  # the answer scrolled into view, focused and announced
    c["reader_doc"].input(app.reader, inputs=[c["reader_doc"]], outputs=[c["reader"]], api_visibility="private")
    reader_go.click(app.open_reader, inputs=[reader_req], outputs=[tabs, c["reader_doc"], c["reader"]],
                    js="(x) => window.__ragReaderRequest || x", api_visibility="private",
                    show_progress="hidden").then(None, js=SCROLL_TO_HIT)

    gr.api(app.search, api_name="search", concurrency_id=ENGINE, api_description=API_DESCRIPTION)

    cleared = []
    if app.sessions is not None:  # « Mes documents »: read and embedded in their own lane, with progress
        uploaded = c["upload_files"].upload(
            app.upload, inputs=[c["upload_files"]], outputs=[c["my_docs"], c["upload_files"]],
            api_visibility="private", show_progress="full", concurrency_id=UPLOADS, concurrency_limit=upload_slots)
        cleared.append(c["clear_docs"].click(app.clear_documents,
                                             outputs=[c["my_docs"], c["result"], c["understood_row"]],
                                             api_visibility="private"))
        for event in (uploaded, cleared[0]):  # the reader's list: the corpus's documents and the session's own
            event.then(app.reader_list, outputs=[c["reader_doc"]], api_visibility="private", show_progress="hidden")
        c["cancel_upload"].click(app.cancel_upload, outputs=[c["my_docs"]], api_visibility="private",
                                 concurrency_id=my_documents.CANCEL_GROUP, show_progress="hidden")
    if app.feedback.enabled:
        feedback.wire_feedback(app.feedback, c, asked, cleared)


def wire_language(demo: gr.Blocks, app: App, c: dict, info: dict) -> None:
    """At page load, every static label in the visitor's language (``ui.page_language``), then the page's title,
    ``<html lang>`` and the examples' own languages."""
    n = len(app.documents)
    targets = {
        "header": (c["header"], lambda lang, _r: {"value": page_language.header(n, lang)}),
        "tab_ask": (c["tab_ask"], label("tab_ask")), "tab_corpus": (c["tab_corpus"], label("tab_corpus")),
        "tab_about": (c["tab_about"], label("tab_about")),
        "question": (c["question"], label("question_label", placeholder=lambda lang: text("question_placeholder",
                                                                                          lang))),
        "ask_btn": (c["ask_btn"], lambda lang, _r: {"value": text("ask_button", lang)}),
        "options": (c["options"], label("options")), "k": (c["k"], label("k_label")),
        "mode": (c["mode"], label("mode_label", choices=mode_choices)), "docs": (c["docs"], label("docs_label")),
        "examples": (c["examples"].dataset, label("examples_label")),
        "ask_alone": (c["ask_alone"], lambda lang, _r: {"value": text("ask_alone", lang)}),
        "documents": (c["documents"], lambda lang, _r: {"value": render_documents(app.documents, app.letters, lang)}),
        "reader_doc": (c["reader_doc"], label("reader_label")),
        "reader": (c["reader"], lambda lang, _r: {"value": app.reader(app.doc_ids[0], lang=lang) if app.doc_ids
                                                  else ""}),
        "about": (c["about"], lambda lang, _r: {"value": render_about(info, app.threshold, lang)}),
        "eval_title": (c["eval_title"], lambda lang, _r: {"value": evaluation_title(lang)}),
    }
    if "eval_summary" in c:
        english = c["eval_summary"].english
        targets["eval_summary"] = (c["eval_summary"], lambda lang, _r: {"value": summary_in(english, lang)})
    if "no_eval" in c:
        targets["no_eval"] = (c["no_eval"], lambda lang, _r: {"value": no_evaluation(lang)})
    if "upload_files" in c:
        targets.update({
            "my_docs_panel": (c["my_docs_panel"], label("my_docs_title")),
            "upload_files": (c["upload_files"], lambda lang, _r: {"label": text("upload_label", lang,
                                                                                kinds=UPLOAD_KINDS)}),
            "my_docs": (c["my_docs"], lambda _lang, request: {"value": app.my_documents(request)}),
            "clear_docs": (c["clear_docs"], lambda lang, _r: {"value": text("clear_docs", lang)}),
            "cancel_upload": (c["cancel_upload"], lambda lang, _r: {"value": text("upload_cancel", lang)}),
        })
    if "feedback_buttons" in c:  # « Juste / Faux / Il manque quelque chose » (ui.feedback's own strings)
        targets.update(feedback.relabel_targets(c))
    on_load, outputs = page_language.relabel(targets)
    chosen = gr.Textbox(visible=False)
    french = gr.Textbox(json.dumps(FRENCH_EXAMPLES, ensure_ascii=False), visible=False)
    c["page_lang"] = chosen
    demo.load(on_load, outputs=[*outputs, chosen], api_visibility="private", show_progress="hidden").then(
        None, inputs=[chosen, french], js=page_language.AFTER_LOAD)


def build_app(retriever: Retriever, app_settings: AppSettings | None = None, *, concurrency: int | None = None,
              queue_size: int | None = None, feedback_file: str | None = None) -> gr.Blocks:
    """The Gradio app over ``retriever`` (queue configured; launch it with ``launch(demo, ...)``).

    ``app_settings`` (default: ``AppSettings.from_env()``, read now) sets the queue and, kept as
    ``demo.app_settings``, the limits ``launch`` applies; ``concurrency`` and ``queue_size`` override its fields.
    With ``retriever.settings.uploads == "on"`` (the default), the page has the « Mes documents » panel; each
    session's files live in ``demo.upload_sessions`` (``ui.sessions.Sessions``) until the session ends. With a
    feedback file (``feedback_file``, else ``retriever.settings.feedback_file``), each answer gets the « Juste / Faux /
    Il manque quelque chose » panel (``ui.feedback``; ``demo.feedback``)."""
    overrides = {k: v for k, v in (("concurrency", concurrency), ("queue_size", queue_size)) if v is not None}
    app_settings = dataclasses.replace(AppSettings.from_env() if app_settings is None else app_settings, **overrides)
    sessions = Sessions(retriever) if retriever.settings.uploads == "on" else None
    if sessions is not None:
        atexit.register(sessions.close)
    verdicts = feedback.Feedback(retriever.settings.feedback_file if feedback_file is None else feedback_file,
                                 retriever.settings.feedback_max_bytes)
    app = App(retriever, sessions, trusted_proxies=app_settings.trusted_proxies, feedback=verdicts)
    info = retriever.info()
    choices = [(f"{app.letters[d.doc_id]} · {d.title}", d.doc_id) for d in app.documents]

    with gr.Blocks(title=text("page_title"), delete_cache=DELETE_CACHE) as demo:
        components = {"header": gr.HTML(page_language.header(len(app.documents)), padding=False)}
        with gr.Tabs(selected="ask") as tabs:
            with gr.Tab(text("tab_ask"), id="ask") as tab_ask:
                components.update(ask_tab(app, choices))
            with gr.Tab(text("tab_corpus"), id="corpus") as tab_corpus:
                components.update(corpus_tab(app, choices))
            with gr.Tab(text("tab_about"), id="about") as tab_about:
                components.update(about_tab(info, app.threshold))
        components.update(tab_ask=tab_ask, tab_corpus=tab_corpus, tab_about=tab_about)
        wire(app, components, tabs, app_settings.upload_concurrency)
        wire_language(demo, app, components, info)
        if sessions is not None:
            demo.unload(app.end_session)
    demo.upload_sessions, demo.feedback = sessions, verdicts
    demo.app_settings, demo.engine_settings = app_settings, retriever.settings
    demo.queue(default_concurrency_limit=app_settings.concurrency, max_size=app_settings.queue_size, api_open=False)
    without_traffic_summary(demo)
    app.upload_waiting = lambda session: any(  # « Annuler l'envoi » of an upload still waiting for its turn
        e.session_hash == session and getattr(e.fn, "fn", None) == app.upload
        for e in list(getattr(getattr(demo, "_queue", None), "event_ids_to_events", {}).values()))
    guard.fair_queue(demo)
    verdict_checks, verdict_names = feedback.guard_entries(verdicts)
    demo.guard_routes = guard.Routes(
        blocks=demo, groups=(ENGINE, UPLOADS, feedback.GROUP, my_documents.CANCEL_GROUP),
        checks={app.search: app.check_search, app.ask_turn: app.check_turn, app.ask_alone: app.check_ask,
                app.reader: app.check_reader, app.open_reader: app.check_open_reader, app.upload: app.check_upload,
                **verdict_checks},
        names={app.search: ["question", "k", "mode", "docs"],
               app.ask_turn: ["question", "k", "mode", "docs", "previous"],
               app.ask_alone: ["question", "k", "mode", "docs"], app.reader: ["doc_id"], app.open_reader: ["request"],
               app.upload: ["files"], **verdict_names},
        files=app.original)
    return demo


def without_traffic_summary(demo: gr.Blocks) -> None:
    """Stop Gradio's queue from summarising its traffic after every event.

    Gradio keeps the last 10,000 events and, after each one, builds a pandas table of them all for its monitoring
    dashboard, which this app turns off (``launch_options``): 3 to 4 ms of the GIL per event from the start, about
    9 ms once ten thousand events are kept (more than the answer step's own Python work; in a profile of the app
    under load it was a quarter of the time the GIL was held). The queue then keeps one event's record and never
    recomputes the summary."""
    queue = demo._queue
    queue.ANALYTICS_MAX_EVENTS = 1
    queue.ANAYLTICS_CACHE_FREQUENCY = sys.maxsize  # sic: Gradio's spelling


def launch(demo: gr.Blocks, limits: guard.Limits | None = None, app_settings: AppSettings | None = None, **kwargs):
    """``demo.launch`` with the app's theme, CSS and script, behind ``guard.Guard`` (sizes, per-client caps,
    pre-queue checks, headers), uploads bounded, run history off, and no extra allowed file paths.

    ``limits`` default to ``app_limits`` of ``app_settings``, else of the settings ``build_app`` kept on ``demo``
    (a demo made elsewhere: read from the environment now)."""
    if limits is None:
        limits = app_limits(app_settings or getattr(demo, "app_settings", None), getattr(demo, "engine_settings", None))
    routes = getattr(demo, "guard_routes", None) or guard.Routes(blocks=demo)
    middleware = Middleware(guard.Guard, routes=routes, limits=limits, temp_dir=gr.utils.get_upload_folder())
    app_kwargs = dict(kwargs.pop("app_kwargs", None) or {})
    app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), middleware]
    kwargs.setdefault("max_file_size", limits.max_upload)
    kwargs.setdefault("run_history", False)
    guard.take_proxy_trust()
    return demo.launch(**launch_options(), app_kwargs=app_kwargs, **kwargs)

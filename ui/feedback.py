"""« Juste », « Faux », « Il manque quelque chose »: a visitor's verdict on the answer on screen, as a JSON line.

Off unless the operator names a file (``Settings.feedback_file``, ``RAG_FEEDBACK_FILE``): without one the page shows
no buttons. With one, a panel under the result offers the three verdicts and an optional comment (at most
``COMMENT_CHARS`` characters: a longer one is refused with a message and stays in its box). Each verdict appends one
line to the file::

    {"time": "2026-12-06T20:31:07Z", "question": "…", "mode": "hybrid", "k": 5, "docs": null,
     "outcome": "answered", "confidence": 0.62, "level": "medium",
     "quotes": [{"doc": "…", "start": 11094, "end": 11445, "text": "…"}],
     "passages": [{"doc": "…", "start": 10990, "end": 11600}], "verdict": "wrong", "comment": ""}

The line describes the answer the session was shown (kept in memory per session when it was given, never taken
from the request), so a client cannot make up quotes. Nothing identifies the visitor: no address, no session id,
and the text of a visitor's own uploaded document is never written (its quotes keep their id and offsets).
A file that cannot be written (missing folder, read-only or full disk) or that has reached ``feedback_max_bytes``
refuses the verdict with a message; the answer on screen is never touched. ``python -m eval.feedback FILE`` turns
the lines into candidate test cases.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

import gradio as gr

from rag.index.uploads import DOC_PREFIX
from ui.i18n import request_lang, text
from ui.render import esc, render_notice
from ui.sessions import session_of

log = logging.getLogger("app")

COMMENT_CHARS = 500
COMMENT_BOX = 4 * COMMENT_CHARS  # what the box takes (and the guard lets through): past COMMENT_CHARS, a message
SESSIONS_KEPT = 2000  # sessions whose last answer is remembered (the oldest forgotten first)
GROUP = "feedback"  # the concurrency group of the verdicts (one file, written one line at a time)
VERDICTS = ("right", "wrong", "missing")



def answer_record(answer, k, mode, docs) -> dict:
    """What a feedback line says of an answer (``rag.Answer``): the question as read, the options, the outcome, the
    quoted sentences and the passages shown (doc id and file offsets; the text of a corpus quote, never that of
    a visitor's own document)."""
    def own(doc_id: str) -> bool:
        return doc_id.startswith(DOC_PREFIX)

    quotes = []
    for s in answer.sentences:
        doc = answer.passages[s.passage].doc_id
        quotes.append({"doc": doc, "start": s.start, "end": s.end, "text": None if own(doc) else s.text.strip(),
                       **({"upload": True} if own(doc) else {})})
    passages = [{"doc": p.doc_id, "start": p.start, "end": p.end, **({"upload": True} if own(p.doc_id) else {})}
                for p in answer.passages]
    return {"question": answer.question, "mode": mode, "k": k, "docs": docs, "outcome": answer.status,
            "confidence": round(float(answer.confidence), 4), "level": answer.level, "quotes": quotes,
            "passages": passages}


class Feedback:
    """The feedback file, and each session's last answer (what a verdict is about). Thread-safe."""

    def __init__(self, path: str | Path | None, max_bytes: int = 50 * 1024 * 1024) -> None:
        self.path = Path(path) if path else None
        self.max_bytes = max_bytes
        self._last: OrderedDict[str, tuple[tuple, dict]] = OrderedDict()  # session -> (inputs, record)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.path is not None

    # ------------------------------------------------------------- the answer shown
    def remember(self, session: str | None, inputs: tuple, record: dict) -> None:
        """The answer ``session`` is shown, for the inputs ``(question, k, mode, docs)`` it was asked with."""
        if not self.enabled or not session:
            return
        with self._lock:
            self._last[session] = (_key(inputs), record)
            self._last.move_to_end(session)
            while len(self._last) > SESSIONS_KEPT:
                self._last.popitem(last=False)

    def forget(self, session: str | None) -> None:
        with self._lock:
            self._last.pop(session, None)

    def shown(self, session: str | None, inputs: tuple | None = None) -> dict | None:
        """The record of ``session``'s last answer (None: none, or one asked with other ``inputs``)."""
        with self._lock:
            found = self._last.get(session) if session else None
        if found is None or (inputs is not None and found[0] != _key(inputs)):
            return None
        return found[1]

    # ------------------------------------------------------------- the file
    def write(self, line: dict) -> str | None:
        """Append ``line`` to the file. Returns None, or why not: ``full`` (past ``max_bytes``) or ``unwritable``."""
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError as exc:
                log.warning("feedback: %s cannot be opened (%s)", self.path, exc.strerror or exc)
                return "unwritable"
            try:
                before = os.fstat(fd).st_size
                if before + len(data) > self.max_bytes:
                    log.warning("feedback: %s has reached its %d bytes; verdict refused", self.path, self.max_bytes)
                    return "full"
                try:
                    written = os.write(fd, data)
                    if written != len(data):
                        raise OSError(28, "short write")
                except OSError as exc:
                    log.warning("feedback: %s cannot be written (%s)", self.path, exc.strerror or exc)
                    try:  # no half line left behind
                        os.ftruncate(fd, before)
                    except OSError:
                        pass
                    return "unwritable"
            finally:
                os.close(fd)
        return None

    # ------------------------------------------------------------- handlers
    def check(self, values: list) -> tuple[str, str] | None:
        """Pre-queue check of a verdict's input (``ui.guard``): a comment is text, of a bounded size."""
        comment = (list(values) + [None])[0]
        if comment is not None and not (isinstance(comment, str) and len(comment) <= COMMENT_BOX):
            return "comment", text("feedback_too_long", n=len(comment) if isinstance(comment, str) else "?",
                                                       limit=COMMENT_CHARS)
        return None

    def submit(self, verdict: str, comment, request=None, lang: str | None = None) -> str:
        """Record ``verdict`` on the answer the session was shown. Returns the panel's message in ``lang`` or the
        visitor's language (never raises)."""
        lang = lang or request_lang(request)
        comment = (comment if isinstance(comment, str) else "").strip()
        if len(comment) > COMMENT_CHARS:
            return render_notice(text("feedback_too_long", lang, n=len(comment), limit=COMMENT_CHARS), "warning")
        record = self.shown(session_of(request))
        if record is None:
            return render_notice(text("feedback_no_answer", lang), "info")
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **record, "verdict": verdict,
                "comment": comment}
        try:
            problem = self.write(line)
        except Exception:  # noqa: BLE001 (a verdict never breaks the page; the log has the trace)
            log.exception("feedback failed")
            problem = "unwritable"
        if problem == "full":
            return render_notice(text("feedback_full", lang, mb=self.max_bytes // (1024 * 1024)), "warning")
        if problem:
            return render_notice(text("feedback_unwritable", lang), "warning")
        return render_notice(text("feedback_thanks", lang, verdict=text(f"feedback_{verdict}", lang)), "info")

    def right(self, comment, request: gr.Request = None, lang: str | None = None) -> str:
        return self.submit("right", comment, request, lang)

    def wrong(self, comment, request: gr.Request = None, lang: str | None = None) -> str:
        return self.submit("wrong", comment, request, lang)

    def missing(self, comment, request: gr.Request = None, lang: str | None = None) -> str:
        return self.submit("missing", comment, request, lang)

    def after_answer(self, question, k, mode, docs, request: gr.Request = None):
        """After a question: the panel shows when an answer to exactly these inputs is on screen, with an empty
        comment and no message."""
        shown = self.shown(session_of(request), (question, k, mode, docs)) is not None
        return gr.update(visible=shown), gr.update(value=""), ""

    def hide(self, request: gr.Request = None):
        """The answer is gone (« Effacer mes documents »): nothing left to judge."""
        self.forget(session_of(request))
        return gr.update(visible=False), ""


def _key(inputs: tuple) -> str:
    question, k, mode, docs = (list(inputs) + [None] * 4)[:4]
    k = int(k) if isinstance(k, float) and k.is_integer() else k
    return json.dumps([question, k, mode, sorted(docs) if isinstance(docs, list) else docs], ensure_ascii=False,
                      default=str)


# --------------------------------------------------------------------------- the page
def feedback_panel(lang: str = "fr") -> dict:
    """The panel under the result (hidden until an answer is on screen): the three verdicts and the comment."""
    with gr.Group(visible=False, elem_id="feedback") as group:
        title = gr.HTML(panel_title(lang), padding=False)
        with gr.Row(equal_height=True):
            buttons = {v: gr.Button(text(f"feedback_{v}", lang), size="sm", variant="secondary",
                                    elem_id=f"feedback-{v}", min_width=120) for v in VERDICTS}
        comment = gr.Textbox(**comment_labels(lang), lines=2, max_lines=6, max_length=COMMENT_BOX,
                             elem_id="feedback-comment")
        status = gr.HTML("", elem_id="feedback-status", padding=False)
        privacy = gr.HTML(panel_privacy(lang), padding=False)
    return dict(feedback_group=group, feedback_buttons=buttons, feedback_comment=comment, feedback_status=status,
                feedback_title=title, feedback_privacy=privacy)


def comment_labels(lang: str) -> dict:
    """The comment box's label and placeholder in ``lang``."""
    return {"label": text("feedback_comment", lang, limit=COMMENT_CHARS),
            "placeholder": text("feedback_placeholder", lang)}


def panel_title(lang: str = "fr") -> str:
    return f'<h2 class="sec-title feedback-title" id="feedback-title">{esc(text("feedback_title", lang))}</h2>'


def panel_privacy(lang: str = "fr") -> str:
    return f'<p class="muted feedback-privacy">{esc(text("feedback_privacy", lang))}</p>'


def relabel_targets(c: dict) -> dict:
    """The panel's labels for ``ui.page_language.relabel``: (component, a function of (lang, request) giving its
    update's fields) by name."""
    out = {f"feedback_{v}": (button, lambda lang, _r, v=v: {"value": text(f"feedback_{v}", lang)})
           for v, button in c["feedback_buttons"].items()}
    out.update(feedback_title=(c["feedback_title"], lambda lang, _r: {"value": panel_title(lang)}),
               feedback_privacy=(c["feedback_privacy"], lambda lang, _r: {"value": panel_privacy(lang)}),
               feedback_comment=(c["feedback_comment"], lambda lang, _r: comment_labels(lang)))
    return out


def wire_feedback(fb: Feedback, c: dict, answered: list, cleared: list) -> None:
    """The verdicts' events; the panel shown or hidden after each of the ``answered`` events (a question asked),
    hidden after the ``cleared`` ones (the answer taken off the page)."""
    for verdict, button in c["feedback_buttons"].items():
        button.click(getattr(fb, verdict), inputs=[c["feedback_comment"]], outputs=[c["feedback_status"]],
                     api_visibility="private", concurrency_id=GROUP, concurrency_limit=1, show_progress="hidden")
    inputs = [c["question"], c["k"], c["mode"], c["docs"]]
    outputs = [c["feedback_group"], c["feedback_comment"], c["feedback_status"]]
    for event in answered:
        event.then(fb.after_answer, inputs=inputs, outputs=outputs, api_visibility="private", concurrency_id=GROUP,
                   concurrency_limit=1, show_progress="hidden")
    for event in cleared:
        event.then(fb.hide, outputs=[c["feedback_group"], c["feedback_status"]], api_visibility="private",
                   concurrency_id=GROUP, concurrency_limit=1, show_progress="hidden")


def guard_entries(fb: Feedback) -> tuple[dict, dict]:
    """The verdict handlers' pre-queue checks and parameter names, for ``ui.guard.Routes``."""
    handlers = (fb.right, fb.wrong, fb.missing)
    return {h: fb.check for h in handlers}, {h: ["comment"] for h in handlers}

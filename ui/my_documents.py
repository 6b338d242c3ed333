"""« Mes documents »: the handlers of a session's own documents (sent, cancelled, cleared), their strings, and the
small pieces the reader's handlers share.

A session's own documents open in the Corpus tab's reader like the corpus's (the card's « Lire dans le document »
and the reader's list, where they are labelled « M · titre (vos documents) »); only the session that uploaded a
document can read it: another is told it is not available. An upload under way can be cancelled: its files are taken
back out, so the session's documents are exactly what they were before it (``ui.sessions.Sessions``).
"""

from __future__ import annotations

import logging
import time

import gradio as gr

from rag.index.uploads import DOC_PREFIX, UploadError, display_name
from ui import i18n
from ui.guard import request_ip
from ui.i18n import request_lang
from ui.messages import french_upload, upload_limits, upload_progress
from ui.render import MINE_LETTER, render_my_documents, render_notice
from ui.sessions import session_of

log = logging.getLogger("app")

CANCEL_WAIT = 20.0  # seconds « Annuler l'envoi » waits for the upload to have stopped before it answers
CANCEL_GROUP = "cancel"  # its concurrency group: never behind the uploads it cancels



def is_upload_id(doc_id) -> bool:
    return isinstance(doc_id, str) and doc_id.startswith(DOC_PREFIX)


def reader_choices(corpus: list[tuple[str, str]], mine, lang: str = "fr") -> list[tuple[str, str]]:
    """The reader's list: the corpus's documents, then the session's own (``DocumentInfo``), labelled as such."""
    return list(corpus) + [(i18n.text("my_doc_mine", lang, letter=MINE_LETTER, title=d.title), d.doc_id) for d in mine]


class MyDocumentsHandlers:
    """The « Mes documents » handlers of :class:`ui.handlers.App` (which gives ``r``, ``sessions``,
    ``trusted_proxies`` and ``upload_waiting``)."""

    def check_upload(self, values: list) -> tuple[str, str] | None:
        """Pre-queue check of an upload event: at most ``upload_max_files`` file references."""
        files = (list(values) + [None])[0]
        limit = self.r.settings.upload_max_files
        if files is not None and not (isinstance(files, list) and len(files) <= limit
                                      and all(isinstance(f, dict) for f in files)):
            return "files", f"Au plus {limit} fichiers par session."
        return None

    def my_documents(self, request: gr.Request = None, problems=()) -> str:
        """The « Mes documents » panel of this session, in the visitor's language."""
        lang = request_lang(request)
        docs = self.sessions.documents(session_of(request)) if self.sessions is not None else []
        return render_my_documents(docs, problems, upload_limits(self.r.settings, lang), lang)

    def upload(self, files, request: gr.Request = None, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
        """UI handler: store and index the files just uploaded, one line per refused file (never raises).

        Returns the panel's HTML and an empty file box (ready for the next files)."""
        session, problems, lang = session_of(request), [], request_lang(request)
        visitor = request_ip(request, self.trusted_proxies)  # as the guard reads it
        if self.sessions is not None and self.sessions.was_evicted(session):
            problems.append(i18n.text("evicted", lang))
        paths = [f for f in (files if isinstance(files, list) else [files] if files else []) if isinstance(f, str)]
        job = self.sessions.begin_upload(session) if self.sessions is not None and session else None
        added: list[str] = []
        try:
            for i, path in enumerate(paths):
                name = display_name(path)
                if job is not None and job.cancel.is_set():  # « Annuler l'envoi »: the rest is not read
                    self.sessions.discard(path)
                    continue

                def tell(fraction: float, what: str, i=i, name=name) -> None:
                    progress((i + fraction) / len(paths), desc=upload_progress(what, name, lang))

                try:
                    t0 = time.perf_counter()
                    info = self.sessions.add(session, path, name, tell, visitor=visitor,
                                             cancelled=job.cancel.is_set if job is not None else None)
                    added.append(info.doc_id)
                    log.info("uploads: %s indexed in %.1f s (%d characters, %d passages)", info.doc_id,
                             time.perf_counter() - t0, info.chars, info.chunks)
                except UploadError as exc:
                    if exc.code != "cancelled":
                        problems.append(french_upload(exc, lang))
                except Exception:  # noqa: BLE001 (a visitor sees a sentence, the log has the trace)
                    log.exception("upload failed")
                    problems.append(french_upload(UploadError("internal", name), lang))
            if job is not None and job.cancel.is_set():  # the files this upload added go too: nothing half done
                self.sessions.remove(session, added)
                problems = [i18n.text("upload_cancelled", lang)]
                log.info("uploads: an upload was cancelled (%d file(s) taken back out)", len(added))
        finally:
            if job is not None:
                self.sessions.end_upload(session, job)
        return self.my_documents(request, problems), None

    def cancel_upload(self, request: gr.Request = None, lang: str | None = None) -> str:
        """UI handler of « Annuler l'envoi »: stop this session's upload under way (or still waiting for its turn in
        the queue); once it has stopped (or after ``CANCEL_WAIT`` seconds), the « Mes documents » panel, saying so."""
        session, stopped, lang = session_of(request), None, lang or request_lang(request)
        if self.sessions is not None:
            waiting = bool(session) and self.upload_waiting(session)
            stopped = self.sessions.cancel_upload(session, CANCEL_WAIT, waiting=waiting)
        key = "upload_none" if stopped is None else "upload_cancelled" if stopped else "upload_cancelling"
        return self.my_documents(request, [i18n.text(key, lang)])

    def clear_documents(self, request: gr.Request = None):
        """UI handler: delete this session's documents now; the answer on screen, which may quote them, goes too,
        and the « Compris comme » note above it.

        Returns the panel's HTML, the result panel's, and the note's row hidden."""
        if self.sessions is not None:
            self.sessions.end(session_of(request))
        return (self.my_documents(request), render_notice(i18n.text("cleared", request_lang(request)), "info"),
                gr.update(visible=False))

    def end_session(self, request: gr.Request = None) -> None:
        """The page's ``unload`` event (the tab closed): delete this session's documents and folder."""
        if self.sessions is not None:
            self.sessions.end(session_of(request))

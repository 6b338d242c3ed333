"""The event handlers of the page and the API, bound to one ``Retriever``."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time

import gradio as gr

from rag import MAX_K, MAX_QUESTION_CHARS, MODES, Answer, QueryError, Retriever
from rag.answering.citation import answer_json, citations
from rag.corpus.documents import CorpusError, original_file
from rag.retrieval.request import QUESTION_TOKENS, normalize_question
from rag.text.followup import read_with
from ui import my_documents
from ui.feedback import Feedback, answer_record
from ui.i18n import DEFAULT, request_lang, text
from ui.messages import (
    MSG_INTERNAL,
    MSG_STALE,
    PARAMETER,
    french,
    msg_too_long,
)
from ui.my_documents import MyDocumentsHandlers
from ui.render import doc_letters, render_answer, render_notice, render_reader
from ui.sessions import Sessions, session_of
from ui.why import render_understood

log = logging.getLogger("app")

DEFAULT_K = 5


def check_question(question) -> str:
    """The engine's ``normalize_question``; ``None`` (a cleared text box) counts as an empty question.

    Raises:
        QueryError: with the engine's code (``french`` gives the page's message).
    """
    return normalize_question("" if question is None else question)


class App(MyDocumentsHandlers):
    """Event handlers bound to one retriever, and to each session's own documents (``sessions``, None when
    uploads are off)."""

    def __init__(self, retriever: Retriever, sessions: Sessions | None = None, trusted_proxies: int = 0,
                 feedback: Feedback | None = None) -> None:
        self.r = retriever
        self.sessions = sessions
        self.feedback = feedback or Feedback(None)  # « Juste / Faux / Il manque » (off without a file)
        self.upload_waiting = lambda session: False  # has this session an upload waiting in the queue? (the page's)
        self.trusted_proxies = trusted_proxies  # as the guard's: whose address a visitor's uploads count against
        self.documents = list(retriever.documents)
        self.doc_ids = [d.doc_id for d in self.documents]
        self.letters = doc_letters(self.documents)
        self.files = {d.doc_id: d.file for d in self.documents if d.file}
        self.threshold = float(retriever.settings.answer_threshold)

    # ------------------------------------------------------------- checks
    def _docs(self, docs) -> list[str] | None:
        """``None`` when every document is ticked, else ``docs`` as given: the engine checks them (``[]`` and a
        blank string are refused there as naming no document)."""
        if isinstance(docs, str) and not docs.strip():
            return []
        if (isinstance(docs, (list, tuple)) and len(docs) == len(self.doc_ids) and all(isinstance(d, str) for d in docs)
                and set(docs) == set(self.doc_ids)):
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
            return "question", (msg_too_long(len(question)) if isinstance(question, str)
                                else "La question doit être du texte.")
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
    def retriever_for(self, session: str | None) -> Retriever:
        """The shared retriever, or the one over the shared corpus and this session's own documents."""
        return self.sessions.retriever_for(session) if self.sessions is not None else self.r

    def mine(self, retriever: Retriever) -> frozenset[str]:
        """The ids of the session's own documents in ``retriever`` (one of ``retriever_for``)."""
        return frozenset(d.doc_id for d in retriever.documents) - frozenset(self.doc_ids)

    def run(self, question, k, mode, docs, session: str | None = None) -> Answer:
        """Check the inputs and ask the engine. Raises QueryError (with its code)."""
        return self.answer(question, k, mode, docs, session)[0]

    def answer(self, question, k, mode, docs, session: str | None = None) -> tuple[Answer, Retriever]:
        """``run``, and the retriever that answered (the session's own documents, when it has some, are always
        searched with the ticked ones). Raises QueryError (with its code)."""
        asked = (question, k, mode, docs)
        text = check_question(question)
        t0 = time.perf_counter()
        retriever = self.retriever_for(session)
        docs, mine = self._docs(docs), self.mine(retriever)
        if docs is not None and mine and isinstance(docs, (list, tuple)) and docs:
            docs = [*docs, *sorted(mine)]
        answer = retriever.answer(text, k=self._k(k), mode=mode, docs=docs)
        log.info("answer in %.0f ms (k=%s, mode=%s, status=%s, confidence=%.2f)",
                 (time.perf_counter() - t0) * 1000, k, mode, answer.status, answer.confidence)
        self.feedback.remember(session, asked, answer_record(answer, self._k(k), mode, self._docs(asked[3])))
        return answer, retriever

    def notes(self, question: str, answer: Answer, lang: str = DEFAULT) -> list[str]:
        """Notes on an answer (French by default): the question was cut to its token budget; the index is older than
        the corpus."""
        out = []
        if answer.question != check_question(question):
            out.append(text("cut", lang, start=answer.question[:60] + ("…" if len(answer.question) > 60 else ""),
                            tokens=QUESTION_TOKENS))
        if self.r.corpus_changed():
            out.append(text("stale", lang))
        return out

    def searched_titles(self, docs) -> list[str] | None:
        """The titles of the ticked documents, None when all are (what a decline says was searched)."""
        chosen = self._docs(docs)
        if not isinstance(chosen, (list, tuple)):
            return None
        return [d.title for d in self.documents if d.doc_id in chosen]

    def ask(self, question, k, mode, docs, request: gr.Request = None) -> str:
        """UI handler: HTML of the result panel in the visitor's language (never raises)."""
        session, lang = session_of(request), request_lang(request)
        try:
            try:
                check_question(question)
            except QueryError as exc:
                if exc.code == "empty":  # a blank box (spaces or invisible marks only) gets the invitation
                    return render_notice(text("empty", lang), "info")
                raise
            if isinstance(docs, (list, tuple)) and not docs:
                return render_notice(text("no_docs", lang), "info")
            answer, retriever = self.answer(question, k, mode, docs, session)
            notes = "".join(render_notice(n, "warning") for n in self.notes(question, answer, lang))
            if self.sessions is not None and self.sessions.was_evicted(session):
                notes = render_notice(text("evicted", lang), "warning") + notes
            return notes + render_answer(answer, citations(retriever, answer), self.letters, self.files,
                                         self.mine(retriever), lang, self.searched_titles(docs))
        except QueryError as exc:
            return render_notice(french(exc, self.doc_ids, lang), "error")
        except Exception:  # noqa: BLE001 (a visitor sees a sentence, the log has the trace)
            log.exception("ask failed")
            return render_notice(text("internal", lang), "error")

    def check_turn(self, values: list) -> tuple[str, str] | None:
        """Pre-queue check of a question of the page with the previous one (``ask_turn``): ``check_ask``, and a
        previous question that is text of a question's size, or nothing."""
        previous = (list(values) + [None] * 5)[4]
        if previous is not None and not (isinstance(previous, str) and len(previous) <= 2 * MAX_QUESTION_CHARS):
            return "previous", "Question précédente invalide."
        return self.check_ask(values)

    def ask_turn(self, question, k, mode, docs, previous=None, request: gr.Request = None, lang: str | None = None):
        """UI handler of a question in the conversation: a follow-up (« Et la Chine ? ») is read with ``previous``
        (``rag.text.followup``). Returns the result panel, the question to remember as the previous one (how this
        one was read; ``previous`` unchanged when nothing was asked), the « Compris comme » note and whether it and
        its button show (never raises)."""
        read, lang = None, lang or request_lang(request)
        try:
            read = read_with(question, previous) if isinstance(previous, str) else None
        except Exception:  # noqa: BLE001 (a reading that fails leaves the question as typed)
            log.exception("follow-up reading failed")
        page = self.ask(read or question, k, mode, docs, request)
        if read:  # the feedback panel looks for the answer by the inputs on the page: the question as typed
            session = session_of(request)
            record = self.feedback.shown(session, (read, k, mode, docs))
            if record is not None:
                self.feedback.remember(session, (question, k, mode, docs), record)
        try:
            asked = read or check_question(question)
        except QueryError:
            asked = previous
        return page, asked, render_understood(read, lang) if read else "", gr.update(visible=bool(read))

    def ask_alone(self, question, k, mode, docs, request: gr.Request = None, lang: str | None = None):
        """UI handler of « Poser la question seule »: the question as typed, not read with the previous one (the
        outputs of ``ask_turn``, the note hidden)."""
        return self.ask_turn(question, k, mode, docs, None, request, lang)

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
        out = answer_json(self.r, answer)
        out["notes"] = notes
        out["index_older_than_corpus"] = MSG_STALE in notes
        return out

    def own_document(self, doc_id, session: str | None):
        """``(clean text, DocumentInfo)`` of one of ``session``'s own documents, or None (another session's,
        or gone)."""
        s = self.sessions.get(session) if self.sessions is not None and my_documents.is_upload_id(doc_id) else None
        info = next((d for d in s.collection.documents if d.doc_id == doc_id), None) if s is not None else None
        doc = s.collection.clean.get(doc_id) if info is not None else None
        return (doc, info) if doc is not None else None

    def reader(self, doc_id, span: tuple[int, int] | None = None, request: gr.Request = None,
               lang: str | None = None) -> str:
        """The reader's HTML, in ``lang`` or the visitor's language: a corpus document, or one of the session's
        own (another session's is refused)."""
        lang = lang or request_lang(request)
        if my_documents.is_upload_id(doc_id) and doc_id not in self.doc_ids:
            own = self.own_document(doc_id, session_of(request))
            if own is None:
                return render_notice(text("my_doc_not_yours", lang), "warning")
            return render_reader(own[0], own[1], span, my_documents.MINE_LETTER, lang)
        if not isinstance(doc_id, str) or doc_id not in self.doc_ids:
            return render_notice(text("choose_document", lang), "info")
        doc = self.r.clean_document(doc_id)
        info = next(d for d in self.documents if d.doc_id == doc_id)
        return render_reader(doc, info, span, self.letters.get(doc_id, "?"), lang)

    def reader_list(self, request: gr.Request = None, lang: str | None = None):
        """The reader's list of documents for this session: the corpus's, then its own (« (vos documents) », in
        ``lang`` or the visitor's language)."""
        lang = lang or request_lang(request)
        corpus = [(f"{self.letters[d.doc_id]} · {d.title}", d.doc_id) for d in self.documents]
        mine = self.sessions.documents(session_of(request)) if self.sessions is not None else []
        return gr.update(choices=my_documents.reader_choices(corpus, mine, lang))

    def original(self, doc_id: str) -> tuple[str, bytes] | None:
        """The original file of an indexed document, as it was indexed: ``(file name, bytes)``, or None (an
        unknown id; a file that is missing, refused, or changed since the index was built). Only files named
        by the index are served, and only from the corpus folder (``rag.corpus.documents.original_file``)."""
        name = self.files.get(doc_id) if isinstance(doc_id, str) else None
        if not name:
            return None
        try:
            data = original_file(self.r.settings.corpus_dir, name)
        except CorpusError as exc:
            log.warning("original file refused: %s", exc)
            return None
        if self.r.manifest.get("corpus", {}).get(name) != hashlib.sha256(data).hexdigest():
            log.warning("original file %s changed since the index was built: not served", name)
            return None
        return name, data

    def open_reader(self, request: str, http: gr.Request = None):
        """From a card's 'Lire dans le document': switch to the corpus tab, select the document, mark the passage
        (one of the session's own documents too; another session's is refused)."""
        try:
            req = json.loads(request or "{}") if isinstance(request, str) and len(request) <= 1000 else None
            doc_id, start, end = str(req["doc"]), int(req["start"]), int(req["end"])
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError):  # Infinity, deep JSON, not a dict
            return gr.update(), gr.update(), gr.update()
        if my_documents.is_upload_id(doc_id) and doc_id not in self.doc_ids:
            own = self.own_document(doc_id, session_of(http))
            if own is None:
                return gr.Tabs(selected="corpus"), gr.update(), self.reader(doc_id, None, http)
            return (gr.Tabs(selected="corpus"), self.reader_list(http) | {"value": doc_id},
                    self.reader(doc_id, own[0].to_clean(start, end), http))
        if doc_id not in self.doc_ids:
            return gr.update(), gr.update(), gr.update()
        span = self.r.clean_document(doc_id).to_clean(start, end)
        return gr.Tabs(selected="corpus"), gr.update(value=doc_id), self.reader(doc_id, span, http)

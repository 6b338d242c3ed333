"""The event handlers of the page and the API, bound to one ``Retriever``."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time

import gradio as gr

from rag import MAX_K, MAX_QUESTION_CHARS, MODES, Answer, QueryError, Retriever
from rag.request import QUESTION_TOKENS, normalize_question
from rag.citation import passage_excerpts, references
from rag.corpus import CorpusError, original_file
from ui.messages import MSG_CUT, MSG_EMPTY, MSG_INTERNAL, MSG_NO_DOCS, MSG_STALE, PARAMETER, french, msg_too_long
from ui.render import doc_letters, render_answer, render_notice, render_reader

log = logging.getLogger("app")

DEFAULT_K = 5


def check_question(question) -> str:
    """The engine's ``normalize_question``; ``None`` (a cleared text box) counts as an empty question.

    Raises:
        QueryError: with the engine's code (``french`` gives the page's message).
    """
    return normalize_question("" if question is None else question)


class App:
    """Event handlers bound to one retriever."""

    def __init__(self, retriever: Retriever) -> None:
        self.r = retriever
        self.documents = list(retriever.documents)
        self.doc_ids = [d.doc_id for d in self.documents]
        self.letters = doc_letters(self.documents)
        self.files = {d.doc_id: d.file for d in self.documents if d.file}
        self.threshold = float(retriever.settings.answer_threshold)
        retriever.warm_up()  # spaCy and the embedder load now, not at the first visitor's question

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
        if answer.question != check_question(question):
            out.append(MSG_CUT.format(start=answer.question[:60] + ("…" if len(answer.question) > 60 else ""),
                                      tokens=QUESTION_TOKENS))
        if self.r.corpus_changed():
            out.append(MSG_STALE)
        return out

    def ask(self, question, k, mode, docs) -> str:
        """UI handler: HTML of the result panel (never raises)."""
        try:
            try:
                check_question(question)
            except QueryError as exc:
                if exc.code == "empty":  # a blank box (spaces or invisible marks only) gets the invitation
                    return render_notice(MSG_EMPTY, "info")
                raise
            if isinstance(docs, (list, tuple)) and not docs:
                return render_notice(MSG_NO_DOCS, "info")
            answer = self.run(question, k, mode, docs)
            notes = "".join(render_notice(n, "warning") for n in self.notes(question, answer))
            return notes + render_answer(answer, passage_excerpts(self.r, answer), self.letters, self.files)
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
        out["references"] = references(self.r, answer)
        out["notes"] = notes
        out["index_older_than_corpus"] = MSG_STALE in notes
        return out

    def reader(self, doc_id, span: tuple[int, int] | None = None) -> str:
        if not isinstance(doc_id, str) or doc_id not in self.doc_ids:
            return render_notice("Choisissez un document à lire.", "info")
        doc = self.r.clean_document(doc_id)
        info = next(d for d in self.documents if d.doc_id == doc_id)
        return render_reader(doc, info, span, self.letters.get(doc_id, "?"))

    def original(self, doc_id: str) -> tuple[str, bytes] | None:
        """The original file of an indexed document, as it was indexed: ``(file name, bytes)``, or None (an
        unknown id; a file that is missing, refused, or changed since the index was built). Only files named
        by the index are served, and only from the corpus folder (``rag.corpus.original_file``)."""
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

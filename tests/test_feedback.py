"""« Juste / Faux / Il manque quelque chose » (ui.feedback, eval.feedback), and « Mes documents » in the reader and
cancelled (ui.handlers, ui.sessions, rag.index.uploads): without a browser."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from corpora import MINE_ANSWER

from eval.feedback import candidates, fold
from rag.index.uploads import Collection, UploadError
from ui.feedback import COMMENT_BOX, COMMENT_CHARS, Feedback
from ui.handlers import App

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Quel budget pour l'intelligence artificielle de défense en 2030 ?"
OTHER = "# La flotte\n\nLa flotte compte douze frégates de défense aérienne, livrées entre 2027 et 2029.\n"
VISITOR = "203.0.113.77"
LINE_KEYS = {"time", "question", "mode", "k", "docs", "outcome", "confidence", "level", "quotes", "passages",
             "verdict", "comment"}


def visitor(session: str):
    """A request as Gradio gives it: a session, a client address, headers that name the address again."""
    return SimpleNamespace(session_hash=session, client=SimpleNamespace(host=VISITOR, port=5555),
                           headers={"x-forwarded-for": VISITOR, "user-agent": "Mozilla/5.0 test"})


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


# --------------------------------------------------------------------------- the feedback line
def test_a_verdict_writes_one_line_with_the_answer_shown_and_nothing_about_the_visitor(tiny_retriever, tmp_path):
    file = tmp_path / "avis.jsonl"
    app = App(tiny_retriever, feedback=Feedback(file))
    page = app.ask(QUESTION, 5, "hybrid", ["note-budget", "rapport-drones"], visitor("session-secrete"))
    answer = tiny_retriever.answer(QUESTION, k=5, docs=["note-budget", "rapport-drones"])
    assert answer.status == "answered" and "Réponse extraite" in page
    message = app.feedback.wrong("  La bonne réponse est ailleurs.  ", visitor("session-secrete"))
    assert "Merci" in message and "« Faux »" in html.unescape(message)
    [line] = lines(file)
    assert set(line) == LINE_KEYS
    assert line["question"] == QUESTION and line["mode"] == "hybrid" and line["k"] == 5
    assert sorted(line["docs"]) == ["note-budget", "rapport-drones"]
    assert line["outcome"] == "answered" and line["verdict"] == "wrong"
    assert line["comment"] == "La bonne réponse est ailleurs."
    assert line["quotes"] == [{"doc": answer.passages[s.passage].doc_id, "start": s.start, "end": s.end,
                               "text": s.text.strip()} for s in answer.sentences]
    for q in line["quotes"]:  # the offsets are the file's: the quote is there (its line breaks cleaned)
        file_name = next(d.file for d in tiny_retriever.documents if d.doc_id == q["doc"])
        raw = (Path(tiny_retriever.settings.corpus_dir) / file_name).read_text(encoding="utf-8")
        assert " ".join(raw[q["start"]:q["end"]].split()) == " ".join(q["text"].split())
    assert [p["doc"] for p in line["passages"]] == [p.doc_id for p in answer.passages]
    raw_line = file.read_text(encoding="utf-8")
    for personal in ("session-secrete", VISITOR, "Mozilla", "5555"):
        assert personal not in raw_line
    # all documents ticked: no filter
    app.ask(QUESTION, 5, "dense", list(app.doc_ids), visitor("s2"))
    app.feedback.right("", visitor("s2"))
    assert lines(file)[1]["docs"] is None and lines(file)[1]["mode"] == "dense"


def test_the_text_of_a_visitors_own_document_is_never_written(tiny_retriever, sessions, upload, tmp_path):
    file = tmp_path / "avis.jsonl"
    app = App(tiny_retriever, sessions, feedback=Feedback(file))
    sessions.add("s", upload("note.md"), "note.md")
    app.ask("Combien coûte le projet Héliotrope ?", 5, "hybrid", None, visitor("s"))
    app.feedback.missing("", visitor("s"))
    [line] = lines(file)
    assert "42 millions" not in file.read_text(encoding="utf-8")
    mine = [q for q in line["quotes"] if q["doc"].startswith("mon-document-")]
    assert mine and all(q["text"] is None and q["upload"] for q in mine)


def test_no_answer_on_screen_means_nothing_to_judge(tiny_retriever, tmp_path):
    file = tmp_path / "avis.jsonl"
    app = App(tiny_retriever, feedback=Feedback(file))
    assert "Posez d'abord une question" in html.unescape(app.feedback.right("", visitor("s")))
    app.ask(QUESTION, 5, "hybrid", None, visitor("a"))
    assert "Posez d'abord" in html.unescape(app.feedback.right("", visitor("b")))  # another session's answer
    assert not file.exists()
    # the panel shows only for the answer to exactly the inputs on screen
    assert app.feedback.after_answer(QUESTION, 5, "hybrid", None, visitor("a"))[0]["visible"] is True
    assert app.feedback.after_answer(QUESTION, 5.0, "hybrid", None, visitor("a"))[0]["visible"] is True
    assert app.feedback.after_answer("", 5, "hybrid", None, visitor("a"))[0]["visible"] is False
    assert app.feedback.after_answer(QUESTION, 5, "dense", None, visitor("a"))[0]["visible"] is False
    assert app.feedback.after_answer(QUESTION, 5, "hybrid", None, visitor("b"))[0]["visible"] is False


@pytest.mark.parametrize("where", ["missing folder", "a folder", "full disk"])
def test_a_feedback_file_that_cannot_be_written_never_breaks_the_answer(tiny_retriever, tmp_path, where):
    path = {"missing folder": tmp_path / "absent" / "avis.jsonl", "a folder": tmp_path,
            "full disk": Path("/dev/full")}[where]
    if where == "full disk" and not path.exists():
        pytest.skip("no /dev/full here")
    app = App(tiny_retriever, feedback=Feedback(path))
    page = app.ask(QUESTION, 5, "hybrid", None, visitor("s"))
    assert "Réponse extraite" in page  # the answer is given as without feedback
    message = html.unescape(app.feedback.wrong("commentaire", visitor("s")))
    assert "n'a pas pu être enregistré" in message and "La réponse reste affichée" in message
    assert not (tmp_path / "absent").exists()


def test_a_read_only_feedback_file_is_told_not_raised(tiny_retriever, tmp_path):
    file = tmp_path / "avis.jsonl"
    file.write_text("", encoding="utf-8")
    file.chmod(0o444)
    app = App(tiny_retriever, feedback=Feedback(file))
    app.ask(QUESTION, 5, "hybrid", None, visitor("s"))
    message = html.unescape(app.feedback.right("", visitor("s")))
    import os
    if os.geteuid() == 0:  # root writes anyway: the line is there, whole
        assert "Merci" in message and len(lines(file)) == 1
    else:
        assert "n'a pas pu être enregistré" in message and file.read_text(encoding="utf-8") == ""


def test_the_file_is_capped_in_size(tiny_retriever, tmp_path):
    file = tmp_path / "avis.jsonl"
    app = App(tiny_retriever, feedback=Feedback(file, max_bytes=1000))
    app.ask(QUESTION, 5, "hybrid", None, visitor("s"))
    assert "Merci" in app.feedback.right("", visitor("s"))
    size = file.stat().st_size
    assert size < 1000 < 2 * size  # a second line would pass the cap
    message = html.unescape(app.feedback.wrong("", visitor("s")))
    assert "taille maximale" in message and "La réponse reste affichée" in message
    assert file.stat().st_size == size and len(lines(file)) == 1


def test_a_comment_past_its_limit_is_refused_with_a_message_and_nothing_written(tiny_retriever, tmp_path):
    file = tmp_path / "avis.jsonl"
    app = App(tiny_retriever, feedback=Feedback(file))
    app.ask(QUESTION, 5, "hybrid", None, visitor("s"))
    long = "x" * (COMMENT_CHARS + 1)
    message = html.unescape(app.feedback.missing(long, visitor("s")))
    assert f"{COMMENT_CHARS + 1} caractères, {COMMENT_CHARS} au plus" in message and "conservé" in message
    assert not file.exists()
    # the guard lets such a comment through to the handler (which keeps the box), refuses only a flood
    assert app.feedback.check([long]) is None and app.feedback.check([None]) is None
    assert app.feedback.check(["x" * (COMMENT_BOX + 1)])[0] == "comment"
    assert app.feedback.check([["not", "text"]])[0] == "comment"
    assert "Merci" in app.feedback.missing("x" * COMMENT_CHARS, visitor("s"))
    assert len(lines(file)) == 1


def test_feedback_is_off_by_default_and_its_buttons_are_not_on_the_page(tiny_retriever):
    from ui.layout import build_app

    assert tiny_retriever.settings.feedback_file == ""
    demo = build_app(tiny_retriever)
    assert not demo.feedback.enabled
    assert "feedback-wrong" not in json.dumps(demo.get_config_file(), default=str)
    on = build_app(tiny_retriever, feedback_file="/tmp/avis-test.jsonl")
    config = json.dumps(on.get_config_file(), default=str)
    assert "feedback-wrong" in config and "Il manque quelque chose" in config
    names = {getattr(f.fn, "__name__", "") for f in on.fns.values() if f.concurrency_id == "feedback"}
    assert {"right", "wrong", "missing", "after_answer", "hide"} <= names
    assert all(on.guard_routes.checks.get(h) is not None for h in (on.feedback.right, on.feedback.wrong,
                                                                   on.feedback.missing))
    assert "feedback" in on.guard_routes.groups and "cancel" in on.guard_routes.groups


# --------------------------------------------------------------------------- eval.feedback
def feedback_line(question, verdict, quotes, outcome="answered", comment=""):
    return {"time": "2026-12-06T20:00:00Z", "question": question, "mode": "hybrid", "k": 5, "docs": None,
            "outcome": outcome, "confidence": 0.5, "level": "medium", "passages": [], "verdict": verdict,
            "comment": comment, "quotes": quotes}


WRONG_QUOTE = {"doc": "note-budget", "start": 10, "end": 40, "text": "Une phrase qui ne répond pas."}


def test_eval_feedback_turns_verdicts_into_deduplicated_candidates_for_review():
    rows = [
        feedback_line("Quel budget en 2030 ?", "wrong", [WRONG_QUOTE], comment="pas ça"),
        feedback_line("quel BUDGET en 2030", "wrong", [WRONG_QUOTE], comment="toujours pas"),  # the same, merged
        feedback_line("Quel budget en 2030 ?", "missing", [WRONG_QUOTE]),
        feedback_line("Who signed the treaty?", "wrong", [], outcome="off_topic"),
        feedback_line("Combien coûte Héliotrope ?", "right",
                      [{"doc": "mon-document-1", "start": 0, "end": 9, "text": None, "upload": True}]),
        {"question": "", "verdict": "wrong"}, None, {"question": "x", "verdict": "peut-être"},
    ]
    found, counts = candidates(rows, {fold("Who signed the treaty?"): "q042"})
    assert counts == {"lines": 8, "unreadable": 3, "uploads_only": 1}
    assert [c["id"] for c in found] == ["fb001", "fb002", "fb003"]
    wrong, missing, declined = found
    assert wrong["count"] == 2 and wrong["comments"] == ["pas ça", "toujours pas"]
    assert wrong["answers"] == [] and wrong["not_answers"] == [{"doc": "note-budget",
                                                                "quote": "Une phrase qui ne répond pas."}]
    assert "ne répond pas" in wrong["review"] and wrong["answerable"] is True and wrong["lang"] == "fr"
    assert missing["answers"] == wrong["not_answers"] and "réponse attendue manque" in missing["review"]
    assert declined["lang"] == "en" and declined["in_testset"] == "q042" and declined["answers"] == []
    for c in found:  # the test set's own fields are there
        assert {"id", "question", "lang", "answerable", "kind", "answers", "review"} <= set(c)


def test_eval_feedback_command_prints_or_writes_and_never_writes_the_test_set(tmp_path):
    source = tmp_path / "avis.jsonl"
    source.write_text(json.dumps(feedback_line("Quel budget ?", "wrong", [WRONG_QUOTE])) + "\nnot json\n",
                      encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "eval.feedback", str(source)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    [case] = [json.loads(x) for x in run.stdout.splitlines()]
    assert case["question"] == "Quel budget ?" and "1 unreadable" in run.stderr
    out = tmp_path / "candidats.jsonl"
    run = subprocess.run([sys.executable, "-m", "eval.feedback", str(source), "-o", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and json.loads(out.read_text(encoding="utf-8"))["id"] == "fb001"
    testset = ROOT / "eval" / "testset.jsonl"
    before = testset.read_bytes()
    run = subprocess.run([sys.executable, "-m", "eval.feedback", str(source), "-o", str(testset)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "never written into the test set" in run.stderr
    assert testset.read_bytes() == before


# --------------------------------------------------------------------------- « Mes documents » in the reader
def test_an_upload_opens_in_the_reader_of_its_session_only(tiny_retriever, sessions, upload):
    app = App(tiny_retriever, sessions)
    info = sessions.add("a", upload("note.md"), "note.md")
    page = app.reader(info.doc_id, None, visitor("a"))
    assert "Le projet Héliotrope" in page and html.escape(MINE_ANSWER) in page
    refused = html.unescape(app.reader(info.doc_id, None, visitor("b")))
    assert "Héliotrope" not in refused and "que dans la session" in refused
    assert "Héliotrope" not in app.reader(info.doc_id)  # no session at all
    # the card's link: the reader at the quoted sentence, the list naming it as the visitor's
    answer = sessions.retriever_for("a").answer("Combien coûte le projet Héliotrope ?")
    s = answer.sentences[0]
    request = json.dumps({"doc": info.doc_id, "start": s.start, "end": s.end})
    tabs, listed, reader = app.open_reader(request, visitor("a"))
    assert listed["value"] == info.doc_id
    assert ("M · Le projet Héliotrope (vos documents)", info.doc_id) in listed["choices"]
    assert f'<mark id="reader-hit">{html.escape(MINE_ANSWER)}</mark>' in reader
    _, listed_b, reader_b = app.open_reader(request, visitor("b"))
    assert "Héliotrope" not in reader_b and "Héliotrope" not in json.dumps(listed_b, default=str)
    assert all("vos documents" not in label for label, _ in app.reader_list(visitor("b"))["choices"])
    # the card of an uploaded passage has its « Lire dans le document » link
    assert f'data-doc="{info.doc_id}"' in app.ask("Combien coûte le projet Héliotrope ?", 5, "hybrid", None,
                                                  visitor("a"))


# --------------------------------------------------------------------------- cancelling an upload
def test_a_collection_without_one_document_answers_as_if_it_never_had_it(tiny_retriever, upload):
    c = Collection(tiny_retriever)
    a = c.add(upload("a.md", OTHER), "a.md")
    b = c.add(upload("b.md"), "b.md")
    last = c.add(upload("c.md", "# Sous-marins\n\nLe sous-marin Nautile plonge à 3000 mètres de profondeur.\n"),
                 "c.md")
    assert [d.doc_id for d in c.remove([b.doc_id])] == [b.doc_id]
    assert [d.doc_id for d in c.documents] == [a.doc_id, last.doc_id] and b.doc_id not in c.clean
    retriever = c.retriever()
    for question, doc in (("Combien de frégates compte la flotte ?", a.doc_id),
                          ("À quelle profondeur plonge le Nautile ?", last.doc_id)):
        answer = retriever.answer(question)
        assert answer.status == "answered" and answer.passages[answer.sentences[0].passage].doc_id == doc
        for s in answer.sentences:  # the renumbered sentence rows still quote exactly
            p = answer.passages[s.passage]
            assert p.text[s.passage_start:s.passage_end] == s.text
    assert all("Héliotrope" not in p.text for p in retriever.answer("Combien coûte le projet Héliotrope ?").passages)


def test_cancelled_at_the_last_moment_the_collection_is_unchanged(tiny_retriever, upload):
    c = Collection(tiny_retriever)
    c.add(upload("a.md", OTHER), "a.md")
    asked = []

    def cancelled() -> bool:  # asked at every step; says yes only at the last one, under the lock
        asked.append(1)
        return c._lock.locked()

    with pytest.raises(UploadError) as info:
        c.add(upload("b.md"), "b.md", cancelled=cancelled)
    assert info.value.code == "cancelled" and len(asked) >= 3
    assert len(c) == 1 and len(c.chunks) == len(c.sentence_rows) and len(c.vectors) == 1


def test_cancel_takes_every_file_of_the_upload_back_out(tiny_retriever, sessions, upload):
    app = App(tiny_retriever, sessions)
    before = sessions.add("s", upload("avant.md", OTHER), "avant.md")
    held = sessions.held()
    files = [str(upload("un.md")), str(upload("deux.md", OTHER.replace("flotte", "escadre"))),
             str(upload("trois.md"))]

    def progress(fraction, desc=""):  # the visitor clicks « Annuler l'envoi » while the second file is embedded
        if "deux.md" in desc and "plongements" in desc:
            assert sessions.cancel_upload("s", wait=0) is False  # under way: asked to stop, not stopped yet

    panel, box = app.upload(files, visitor("s"), progress=progress)
    assert "Envoi annulé" in html.unescape(panel) and box is None
    assert [d.doc_id for d in sessions.documents("s")] == [before.doc_id] and sessions.held() == held
    assert not any(Path(f).exists() for f in files)  # Gradio's copies are gone, read or not
    answer = sessions.retriever_for("s").answer("Combien coûte le projet Héliotrope ?")
    assert all("Héliotrope" not in p.text for p in answer.passages)
    assert "Aucun envoi en cours" in html.unescape(app.cancel_upload(visitor("s")))
    # the next upload is not cancelled by the earlier click
    panel, _ = app.upload([str(upload("quatre.md"))], visitor("s"), progress=lambda *a, **k: None)
    assert "Envoi annulé" not in html.unescape(panel) and len(sessions.documents("s")) == 2


def test_an_upload_cancelled_while_it_waits_in_the_queue_reads_none_of_its_files(tiny_retriever, sessions, upload):
    app = App(tiny_retriever, sessions)
    assert "Aucun envoi en cours" in html.unescape(app.cancel_upload(visitor("s")))  # nothing waits: nothing kept
    app.upload_waiting = lambda session: session == "s"  # as the page's queue says: one upload of "s" waits
    assert "Annulation demandée" in html.unescape(app.cancel_upload(visitor("s")))
    files = [str(upload("un.md")), str(upload("deux.md", OTHER))]
    panel, _ = app.upload(files, visitor("s"), progress=lambda *a, **k: None)
    assert "Envoi annulé" in html.unescape(panel) and sessions.documents("s") == []
    assert not any(Path(f).exists() for f in files)
    panel, _ = app.upload([str(upload("trois.md"))], visitor("s"), progress=lambda *a, **k: None)  # said once
    assert "Envoi annulé" not in html.unescape(panel) and len(sessions.documents("s")) == 1

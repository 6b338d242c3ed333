"""Follow-up questions: a question without its own subject is read with the previous one; others are left alone."""

from __future__ import annotations

import json

import pytest
from corpora import ROOT

from rag.text.followup import antecedent, read_with

POSITION = "Quelle est la position de la France sur les SALA ?"
RESOLUTION = "Que dit la résolution 79/239 ?"
SUMMIT = "Quand le sommet REAIM 2026 s'est-il tenu ?"


@pytest.mark.parametrize("question, previous, read", [
    ("Et la Chine ?", POSITION, "Quelle est la position de la Chine sur les SALA ?"),
    ("Et le Japon ?", POSITION, "Quelle est la position du Japon sur les SALA ?"),
    ("Et les États-Unis ?", POSITION, "Quelle est la position des États-Unis sur les SALA ?"),
    ("Et pour la Chine ?", POSITION, "Quelle est la position de la Chine sur les SALA ?"),
    ("Et l'OTAN ?", "Quel rôle joue l'UE dans REAIM ?", "Quel rôle joue l'OTAN dans REAIM ?"),
    ("Qui l'a adoptée ?", RESOLUTION, "Qui a adopté la résolution 79/239 ?"),
    ("Quand a-t-elle été adoptée ?", RESOLUTION, "Quand la résolution 79/239 a-t-elle été adoptée ?"),
    ("Où s'est-il tenu ?", SUMMIT, "Où le sommet REAIM 2026 s'est-il tenu ?"),
    ("Et où ?", SUMMIT, "Où le sommet REAIM 2026 s'est-il tenu ?"),
    ("Et quand ?", "Qui a adopté la résolution 79/239 ?", "Quand la résolution 79/239 a-t-elle été adoptée ?"),
    ("Que demande-t-elle ?", RESOLUTION, "Que demande la résolution 79/239 ?"),
    ("Et en 2024 ?", SUMMIT, "Quand le sommet REAIM 2024 s'est-il tenu ?"),
    ("Et en 2024 ?", POSITION, "Quelle est la position de la France sur les SALA en 2024 ?"),
    ("And when?", "Who adopted resolution 79/239?", "When was resolution 79/239 adopted?"),
    ("And when?", "Where was the REAIM 2026 summit held?", "When was the REAIM 2026 summit held?"),
    ("What about China?", "What is France's position on autonomous weapons?",
     "What is China's position on autonomous weapons?"),
    ("And China?", "What is the position of France on LAWS?", "What is the position of China on LAWS?"),
    ("And in 2024?", "Where was the REAIM 2026 summit held?", "Where was the REAIM 2024 summit held?"),
    ("Who adopted it?", "What does resolution 79/239 say?", "Who adopted resolution 79/239?"),
    ("When was it held?", "Who attended the REAIM 2026 summit?", "When was the REAIM 2026 summit held?"),
])
def test_a_question_without_its_own_subject_is_read_with_the_previous_one(question, previous, read):
    assert read_with(question, previous) == read


@pytest.mark.parametrize("question, previous", [
    ("Et la Chine ?", None),  # no previous question: answered on its own
    ("Et la Chine ?", ""),
    ("Qui l'a adoptée ?", "   "),
    ("Et alors ?", POSITION),  # nothing to put in the previous question's place
    ("Que signifie un contrôle humain significatif ?", POSITION),  # a full question
    ("Quelle est la position de la Chine sur les SALA ?", POSITION),
    ("Qui a adopté la résolution 79/239 ?", RESOLUTION),
    ("What does meaningful human control mean?", "Who adopted resolution 79/239?"),
    (POSITION, POSITION),
    ("Et la Chine ?", "Que signifie un contrôle humain significatif ?"),  # no name to replace
    ("Et qui ?", SUMMIT),  # « Qui le sommet s'est-il tenu ? » would not be a question
    ("Et combien ?", "Qui a adopté la résolution 79/239 ?"),
    ("And who?", "When was the REAIM 2026 summit held?"),
])
def test_a_full_question_or_one_without_a_previous_is_left_alone(question, previous):
    assert read_with(question, previous) is None


def test_odd_input_is_left_alone():
    assert read_with(None, POSITION) is None
    assert read_with(12, POSITION) is None
    assert read_with("Et " + "la Chine " * 2000 + "?", POSITION) is None  # too long to be a follow-up
    assert read_with("Et la Chine ?", "?" * 5000) is None


def test_the_subject_of_a_previous_question():
    assert antecedent(RESOLUTION) == "la résolution 79/239"
    assert antecedent(SUMMIT) == "le sommet REAIM 2026"
    assert antecedent("Qu'est-ce que REAIM ?") == "REAIM"
    assert antecedent("Who attended the REAIM 2026 summit?") == "the REAIM 2026 summit"
    assert antecedent("What does resolution 79/239 say?") == "resolution 79/239"


def test_no_question_of_the_test_set_or_example_of_the_page_is_rewritten_after_any_other():
    from ui.layout import EXAMPLES

    questions = [json.loads(line)["question"] for line in
                 (ROOT / "eval" / "testset.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(questions) > 500
    questions += EXAMPLES
    rewritten = [(q, p) for q in questions for p in questions if p != q and read_with(q, p) is not None]
    assert rewritten == []


def test_in_the_app_a_follow_up_is_read_shown_judged_and_asked_alone(tiny_retriever, tmp_path):
    """The page's handlers: the reading and its note, the previous question to keep, the feedback panel (it finds
    the answer by the question as typed) and its line (the question as read), « Poser la question seule »."""
    from types import SimpleNamespace

    from ui.feedback import Feedback
    from ui.handlers import App

    file = tmp_path / "avis.jsonl"
    app = App(tiny_retriever, feedback=Feedback(file))
    request = SimpleNamespace(session_hash="tab-1", client=SimpleNamespace(host="10.0.0.1", port=1), headers={})
    first = "Quel est le budget de la défense ?"
    page, kept, note, row = app.ask_turn(first, 5, "hybrid", None, None, request)
    assert kept == first and note == "" and row["visible"] is False
    page, kept, note, row = app.ask_turn("Et en 2030 ?", 5, "hybrid", None, kept, request)
    read = "Quel est le budget de la défense en 2030 ?"
    assert kept == read and row["visible"] is True
    assert "Compris comme :" in note and read in note.replace("&#x27;", "'") and read in page.replace("&#x27;", "'")
    assert app.feedback.after_answer("Et en 2030 ?", 5, "hybrid", None, request)[0]["visible"] is True
    app.feedback.wrong("", request)
    assert json.loads(file.read_text(encoding="utf-8").splitlines()[0])["question"] == read
    page, kept, note, row = app.ask_alone("Et en 2030 ?", 5, "hybrid", None, request)
    assert kept == "Et en 2030 ?" and note == "" and row["visible"] is False
    assert "Et en 2030 ?" in page
    # a blank question keeps the previous one; the page's own odd values never raise
    assert app.ask_turn("   ", 5, "hybrid", None, read, request)[1] == read
    assert app.ask_turn({"a": 1}, 5, "hybrid", None, ["x"], request)[1] == ["x"]

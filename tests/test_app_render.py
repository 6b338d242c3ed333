"""Pure functions of ui/ and rag.answering.citation: escaping, highlights, citations, the evaluation summary, the
question check (the engine's, with French messages)."""

from __future__ import annotations

from rag import Answer, Passage, QueryError, Sentence
from rag.answering.citation import Excerpt, cite, reference_text
from ui import about, handlers, render
from ui.messages import french

XSS = "<img src=x onerror=alert(1)> <script>alert(2)</script>"


def passage(text=f"Avant. {XSS} Phrase clé. Après.", **kw):
    a = text.index("Phrase clé.")
    base = dict(doc_id="doc-a", title=f"Titre {XSS}", section=f"Titre {XSS} > Partie <b>1</b>", start=10,
                end=10 + len(text), text=text, score=0.05, chunk_id="doc-a#0", body="Corps <i>x</i>", date="2025",
                highlights=((a, a + len("Phrase clé.")),))
    base.update(kw)
    return Passage(**base)


def test_marks_escape_everything():
    out = render.render_marked("a <b> c & d", [(2, 5)])
    assert out == "a <mark>&lt;b&gt;</mark> c &amp; d"
    assert render.render_marked("abc", [(5, 9), (2, 1)]) == "abc"


def test_answer_panel_is_escaped_and_linked():
    p = passage()
    a, b = p.highlights[0]
    s = Sentence(text=p.text[a:b], passage=0, start=p.start + a, end=p.start + b, score=0.9, passage_start=a,
                 passage_end=b)
    answer = Answer(question=f"Q {XSS}", abstained=False, confidence=7.0, sentences=(s,), passages=(p, passage()))
    cited = [cite(q, Excerpt(s.text, s.start, s.end)) for q in answer.passages]
    html_ = render.render_answer(answer, cited, {"doc-a": "A"})
    assert "<script" not in html_ and "<img" not in html_ and "<b>" not in html_ and "<i>" not in html_
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html_
    assert 'href="#passage-1"' in html_ and 'id="passage-1"' in html_ and 'id="passage-2"' in html_
    assert "Réponse extraite" in html_ and "<mark>Phrase clé.</mark>" in html_
    assert "même document que" in html_


def test_the_three_outcomes_look_different():
    p = passage()
    a, b = p.highlights[0]
    s = Sentence(text=p.text[a:b], passage=0, start=p.start + a, end=p.start + b, score=0.9, passage_start=a,
                 passage_end=b)
    answered = Answer(question="Q ?", abstained=False, confidence=0.93, sentences=(s,), passages=(p,), level="high")
    related = Answer(question="Qui a présidé ?", abstained=True, confidence=0.1, sentences=(), passages=(p,),
                     status="related", message=f"Les documents évoquent « sommet {XSS} », mais ne disent pas qui.")
    off = Answer(question="Recette ?", abstained=True, confidence=0.0, sentences=(), passages=(p,), status="off_topic",
                 message="Le corpus ne traite pas de cette question.")
    html_ = {a.status: render.render_answer(a, [cite(a.passages[0], Excerpt("x", 0, 1))], {"doc-a": "A"})
             for a in (answered, related, off)}
    assert "Réponse extraite" in html_["answered"] and "confiance élevée" in html_["answered"]
    assert "Le corpus en parle, mais ne répond pas à cette question" in html_["related"]
    assert "&lt;script&gt;" in html_["related"] and "<script" not in html_["related"]
    assert "Le corpus ne traite pas de cette question" in html_["off_topic"]
    for status in ("related", "off_topic"):
        assert "<details class=\"nearest\">" in html_[status] and "faible confiance" in html_[status]
        assert "Réponse extraite" not in html_[status]
    assert "outcome-related" in html_["related"] and "outcome-off-topic" in html_["off_topic"]


def test_the_reader_shows_the_footnotes_last_under_notes_with_the_quoted_one_marked():
    from types import SimpleNamespace

    from rag.text.cleaning import clean_document

    raw = "# Étude\n\nLe texte cite une étude<sup>1</sup> qui\n\n---\n\n1. J. Dupont, Revue, 2021.\n\nconclut.\n"
    doc = clean_document(raw)
    a = doc.text.index("J. Dupont")
    info = SimpleNamespace(title="Étude", pages=(), body="", kind="", date="")
    html = render.render_reader(doc, info, (a, a + 9), "A")
    body, notes = html.split('<h2 class="reader-notes">Notes</h2>')
    assert "Le texte cite une étude qui conclut." in body and "Dupont" not in body
    assert '<p class="reader-note">1. <mark' in notes and "reader-hit" in notes


def test_reference_text():
    p = passage()
    ref = reference_text(p, Excerpt("Phrase clé.", 40, 51))
    assert ref.startswith("« Phrase clé. »")
    assert "Corps <i>x</i>, 2025." in ref and "caractères 40–51" in ref and "Section : Partie <b>1</b>" in ref


def test_eval_summary(tmp_path):
    assert about.load_eval_summary(tmp_path) == ("none", "")
    (tmp_path / "metrics.json").write_text('{"hybrid": {"recall@5": 0.9}, "note": "<b>x</b>"}', encoding="utf-8")
    kind, html_ = about.load_eval_summary(tmp_path)
    assert kind == "metrics" and "0.900" in html_ and "&lt;b&gt;" in html_
    (tmp_path / "plot.png").write_bytes(b"png")
    (tmp_path / "summary.md").write_text("### Eval\n\n| a | b |\n\n![plot](plot.png)\n\n![x](../../etc/passwd)\n",
                                         encoding="utf-8")
    kind, text = about.load_eval_summary(tmp_path)
    assert kind == "markdown" and "![" not in text and "| a | b |" in text
    assert about.eval_plots((tmp_path / "summary.md").read_text(), tmp_path) == [(tmp_path / "plot.png").resolve()]


def test_check_question_is_the_engines_with_french_messages():
    assert handlers.check_question("  a \n b ") == "a b"
    for bad, code, msg in (("", "empty", "vide"), (None, "empty", "vide"), ("\u200b", "empty", "vide"),
                           (" \u200b\u2060 ", "empty", "vide"), ("x" * 2001, "too_long", "2001"),
                           (5, "not_text", "texte")):
        try:
            handlers.check_question(bad)
        except QueryError as exc:
            assert exc.code == code and msg in french(exc), (bad, exc.code, french(exc))
        else:
            raise AssertionError(f"no error for {bad!r}")


def test_a_passage_without_section_shows_no_empty_section_mark():
    from rag.answering.citation import Excerpt
    from rag.core.types import Passage
    from ui.render import render_card

    p = Passage(doc_id="note", title="Note", section="", start=0, end=10, text="Une phrase.", score=1.0, page=2)
    html = render_card(1, p, cite(p, Excerpt(text="Une phrase.", start=0, end=10)), 1.0, "A", [], False, False)
    assert "§" not in html and "« p. 2 »" in html


def test_a_refused_order_or_language_is_not_told_to_widen_the_documents():
    from rag.answering.messages import INSTRUCTION_MESSAGE, OFF_TOPIC_MESSAGE, OTHER_LANGUAGE_MESSAGE

    p = passage()
    pages = {m: render.render_answer(Answer(question="?", abstained=True, confidence=0.0, sentences=(), passages=(p,),
                                            status="off_topic", message=m), [cite(p, Excerpt("x", 0, 1))],
                                     {"doc-a": "A"})
             for m in (INSTRUCTION_MESSAGE, OTHER_LANGUAGE_MESSAGE, OFF_TOPIC_MESSAGE)}
    assert "élargissez" not in pages[INSTRUCTION_MESSAGE] and "élargissez" not in pages[OTHER_LANGUAGE_MESSAGE]
    assert "élargissez les documents cherchés" in pages[OFF_TOPIC_MESSAGE]

"""The answering phrase inside a quoted sentence (rag.answering.phrases): found where the expected answer type
allows, mapped to the sentence's own characters, shown in bold on the page, given in the JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag import Answer, Sentence
from rag.answering.citation import citations
from rag.answering.phrases import answer_phrases, spans_of
from rag.text.question import analyze
from ui.render import render_answer, render_phrases


def test_spans_are_found_folded_and_given_in_the_texts_own_characters():
    text = "Adoptée le 24 décembre 2024, après ﬁnalisation."  # « ﬁ » folds to two letters, before nothing asked
    assert [text[a:b] for a, b in spans_of(text, ["24 decembre 2024"])] == ["24 décembre 2024"]
    text = "La ﬁche du 3 mai 2023 et celle du 12 mai 2023."
    assert [text[a:b] for a, b in spans_of(text, ["12 mai 2023"])] == ["12 mai 2023"]
    assert spans_of("En 20245 puis en 2024.", ["2024"]) == ((17, 21),)  # whole words only
    assert spans_of("le 4 au 5 février", ["4 au 5 fevrier", "5 fevrier"]) == ((3, 17),)  # overlaps merged
    assert spans_of("rien", ["", "  ", "autre"]) == ()


@given(st.text(alphabet="aeéèçœﬁ ÉA-'’1", max_size=30), st.text(alphabet="aeéèçœﬁA1", min_size=1, max_size=5))
def test_a_span_always_covers_text_that_folds_to_what_was_looked_for(prefix, word):
    from rag.text.folding import fold

    text = f"{prefix} {word} fin"
    for a, b in spans_of(text, [word]):
        assert 0 <= a < b <= len(text)
        assert fold(word).strip(" .,;:") in fold(text[a:b])


@pytest.mark.parametrize("question, sentence, phrases", [
    ("Quand la déclaration a-t-elle été adoptée ?", "La déclaration a été adoptée le 5 février 2026 à La Corogne.",
     ["5 février 2026"]),
    ("Combien de recommandations compte le document ?", "Le document présente 28 recommandations en 2026.", ["28"]),
    # a number that does not count what is asked is no answer phrase
    ("Combien de pays ont signé ?", "Le document présente 28 recommandations.", []),
    ("When was the declaration adopted?", "La déclaration a été adoptée le 5 février 2026.", ["5 février 2026"]),
    # what the question already says is not what answers it
    ("Que s'est-il passé le 5 février 2026 ?", "La déclaration a été adoptée le 5 février 2026.", []),
    # an untyped question has no phrase
    ("Pourquoi la déclaration insiste-t-elle sur le contrôle humain ?",
     "Le 5 février 2026, la déclaration insiste sur le contrôle humain.", []),
])
def test_the_phrase_of_the_expected_type(question, sentence, phrases):
    spans = answer_phrases(sentence, analyze(question))
    assert [sentence[a:b] for a, b in spans] == phrases


def test_a_sentence_listing_many_dates_has_no_phrase():
    sentence = "Réunions le 1er mars 2024, le 2 avril 2024, le 3 mai 2024 et le 4 juin 2024."
    assert answer_phrases(sentence, analyze("Quand le groupe s'est-il réuni ?")) == ()


@pytest.mark.parametrize("question, phrase", [
    ("On what date did the General Assembly adopt resolution 79/239?", "24 décembre 2024"),
    ("Combien de recommandations compte la déclaration Pathways to Action ?", "28"),
    ("Où s'est tenu le sommet REAIM 2026 ?", "PALEXCO"),
    ("Who is the author of the Ifri study?", "Laure de Roucy-Rochegonde"),
])
def test_the_real_corpus_answers_show_their_phrase(real_retriever, question, phrase):
    answer = real_retriever.answer(question)
    assert answer.status == "answered", answer.message
    first = answer.sentences[0]
    assert phrase in [first.text[a:b] for a, b in first.phrases], (first.text, first.phrases)
    assert {"phrases"} <= set(answer.to_dict()["sentences"][0])
    page = render_answer(answer, citations(real_retriever, answer), {})
    assert f'<strong class="answer-phrase">{phrase}</strong>' in page


def test_a_name_among_others_is_not_the_answer_phrase(real_retriever):
    # the resolution invites international organisations, the ICRC, civil society…: the ICRC alone is not the answer
    answer = real_retriever.answer("Qui la résolution 79/239 invite-t-elle à faire part de leurs vues ?")
    assert answer.status == "answered" and "Croix-Rouge" in answer.sentences[0].text
    assert answer.sentences[0].phrases == ()


def test_the_phrase_is_bold_inside_the_escaped_quote():
    text = "  <b>Le 5 février</b> & après"
    a = text.index("5 février")
    assert render_phrases(text, [(a, a + len("5 février"))]) == \
        '&lt;b&gt;Le <strong class="answer-phrase">5 février</strong>&lt;/b&gt; &amp; après'
    assert render_phrases("sans phrase", []) == "sans phrase"
    s = Sentence(text=text, passage=0, start=0, end=len(text), score=0.9, phrases=((a, a + 9),))
    assert json.loads(json.dumps(Answer("q", False, 0.9, (s,), ()).to_dict()))["sentences"][0]["phrases"] == \
        [[a, a + 9]]


def test_the_command_line_prints_the_phrase_under_its_quote(capsys):
    from rag.__main__ import main

    assert main(["ask", "When was resolution 79/239 adopted?", "-k", "1"]) == 0
    out = capsys.readouterr().out
    quote = out.index("« Résolution adoptée par l'Assemblée générale le 24 décembre 2024 »")
    assert out.index("→ 24 décembre 2024") > quote

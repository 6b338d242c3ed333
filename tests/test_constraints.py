"""What a question names and the corpus, or a passage, does not: no sentence answers it (issue 23, item 3).

The questions here were written for these tests from what the documents do and do not say; none is from the
evaluation's test set.
"""

from __future__ import annotations

import pytest

from rag import Answer
from rag.answering import constraints
from rag.answering.constraints import unnamed_by_all
from rag.answering.explain import describe
from rag.answering.messages import ABSENT_NAMES, UNNAMED_COUNTRIES, related_message
from rag.retrieval.ranking import Ranked
from rag.stores.bm25 import KeywordIndex
from rag.text.countries import named_in_question, names, unnamed
from rag.text.question import analyze
from ui.declines import decline_message


# --------------------------------------------------------------------------- countries
@pytest.mark.parametrize("question, expected", [
    ("Quelle est la position du Brésil sur les armes autonomes ?", ["Brésil"]),
    ("What does Brazil think of autonomous weapons?", ["Brésil"]),
    ("What did the US propose to the Security Council?", ["États-Unis"]),
    ("Quel rôle jouent les Pays-Bas et la Corée du Sud ?", ["Pays-Bas", "Corée du Sud"]),
    ("Why was Romania's election cancelled?", ["Roumanie"]),
    ("Quelle est la mise en œuvre prévue au Maroc ?", ["Maroc"]),  # « œ » folds to two letters
    ("Le texte existe-t-il en version française ?", []),  # an adjective in a question is not a country asked
    ("Can you tell us what the resolution says?", []),  # « us » is not the US
])
def test_the_countries_a_question_names(question, expected):
    assert named_in_question(question) == expected


@pytest.mark.parametrize("country, text, named", [
    ("Chine", "les entreprises chinoises", True),
    ("Pays-Bas", "les autorités néerlandaises", True),
    ("États-Unis", "la rivalité sino-américaine", True),
    ("États-Unis", "Soumis par : The United States of America", True),
    ("Corée du Sud", "la République de Corée", True),
    ("Roumanie", "l'élection présidentielle roumaine", True),
    ("Ukraine", "le conflit ukrainien", True),
    ("Inde", "un organe indépendant", False),  # « inde » is not the start of every word
    ("Brésil", "la Chine et l'Inde", False),
    ("Chine", "sinon, rien", False),
])
def test_a_text_names_a_country_by_its_names_and_adjectives(country, text, named):
    assert names(text, country) is named


# --------------------------------------------------------------------------- names the corpus lacks
@pytest.fixture(scope="module")
def keyword():
    return KeywordIndex.build([
        "Les entreprises chinoises et le gouvernement de la Chine investissent dans l'IA militaire.",
        "L'ONU et ses États membres débattent des armes autonomes.",
        "La Roumanie et le Pakistan ont approuvé la déclaration.",
        "Le Comité international de la Croix-Rouge s'inquiète des armes autonomes.",
        "Le cor sonne la fin de l'art de la guerre.",  # words of three letters
    ])


@pytest.mark.parametrize("question, absent", [
    ("Quelles sont les lignes directrices de l'OTAN sur l'IA militaire ?", ["OTAN"]),
    ("What do NATO's guidelines say about military AI?", ["OTAN"]),  # the glossary's French name
    ("Que dit l'ONU des armes autonomes ?", []),
    ("Que pense la Chine des armes autonomes ?", []),
    ("Que pensent les Chinois des armes autonomes ?", []),  # a word of the family of « Chine »…
    ("Qu'a-t-on dit à La Corogne des armes autonomes ?", ["Corogne"]),  # …« Corogne » none of « cor »'s
    ("Que dit Artémis des armes autonomes ?", ["Artémis"]),  # nor « Artémis » of « art »'s
    ("Why was Romania's election cancelled?", []),  # a country: asked of each passage, not of the vocabulary
    ("What does the Pentagon say about autonomous weapons?", []),  # an English word a French text may translate
    ("Who won the NBA finals in 2023?", ["NBA"]),  # an English acronym is written alike in French…
    ("What does the ICRC say about autonomous weapons?", []),  # …or the glossary gives its French names
    ("Que dit la résolution 79/239 ?", []),  # numbers and symbols are not names…
    ("Que prévoit le titre XIII de la déclaration de l'ONU ?", []),  # …nor Roman numerals
    ("What does chapter IV say about autonomous weapons?", []),
])
def test_a_name_no_document_holds_is_found(keyword, question, absent):
    assert constraints.absent_names(analyze(question), keyword) == absent


def test_a_passage_that_does_not_name_the_country_asked_about_does_not_answer():
    query = analyze("Quelle est la position du Brésil sur les armes autonomes ?")
    assert unnamed(query.countries, "Les États débattent des armes autonomes.") == ["Brésil"]
    assert unnamed(query.countries, "La diplomatie brésilienne défend une interdiction.") == []


# --------------------------------------------------------------------------- the answers of the real corpus
@pytest.mark.parametrize("question, country", [
    ("Quelle est la position du Brésil sur les armes autonomes ?", "Brésil"),
    ("What does Brazil think of lethal autonomous weapons?", "Brésil"),
    ("Quelle est la position de l'Inde sur les armes autonomes ?", "Inde"),
])
def test_a_country_whose_position_the_corpus_never_gives_is_not_answered(real_retriever, question, country):
    """The corpus names Brazil and India elsewhere (a passage naming them is ranked first), never their position on
    autonomous weapons: nothing is quoted."""
    answer = real_retriever.answer(question)
    assert answer.status == "related" and not answer.sentences and answer.passages
    # within the documents searched, no passage names the country: the message says so first
    within = real_retriever.answer(question, docs=["uip-2025-reglementation-ia-militaire"])
    assert within.status == "related" and not within.sentences
    assert within.message.startswith(f"{UNNAMED_COUNTRIES} {country}. Aucune phrase")


@pytest.mark.parametrize("question, name", [
    ("What do NATO's principles say about military AI?", "OTAN"),
    ("What did FIFA decide about referees assisted by AI?", "FIFA"),
])
def test_a_name_the_corpus_never_uses_gets_related_and_says_so(real_retriever, question, name):
    answer = real_retriever.answer(question)
    assert answer.status in ("related", "off_topic") and not answer.sentences and answer.passages
    assert answer.status == "off_topic" or answer.message.startswith(f"{ABSENT_NAMES} {name}. Aucune phrase")


@pytest.mark.parametrize("question, expected", [
    # the passage names the country by another word (« IndiaAI », « russo-ukrainienne », « américaine »), or its
    # document does (the draft is submitted on behalf of the United States: its clauses name no country)
    ("Quelle stratégie l'Inde a-t-elle lancée en mars 2024 ?", "IndiaAI Mission"),
    ("Comment le magazine Time a-t-il présenté la guerre en Ukraine ?", "russo-ukrainienne"),
    ("Which magazine called the war in Ukraine the first AI war?", "russo-ukrainienne"),
    ("Quel agent conversationnel lancé aux États-Unis en 2016 a dû être retiré ?", "Tay"),
    ("Que demande le projet de résolution des États-Unis sur la cybersécurité ?", "cybersécurité"),
])
def test_a_country_a_passage_names_otherwise_is_still_answered(real_retriever, question, expected):
    answer = real_retriever.answer(question)
    assert answer.status == "answered" and expected in answer.sentences[0].text


# --------------------------------------------------------------------------- the message, in French and English
def test_the_related_message_says_first_what_is_named_nowhere():
    query = analyze("Que pense le Brésil des drones ?")
    shown = [Ranked(0, 0.1, 0.8, 0.0, 0.8, unnamed=("Brésil",)), Ranked(1, 0.1, 0.8, 0.0, 0.8, unnamed=("Brésil",))]
    assert related_message(query, unnamed=unnamed_by_all(shown)).startswith(
        f"{UNNAMED_COUNTRIES} Brésil. Aucune phrase")
    assert related_message(query, absent=["OTAN"], unnamed=unnamed_by_all(shown)).startswith(
        f"{ABSENT_NAMES} OTAN. Aucune")
    named = [*shown, Ranked(2, 0.1, 0.8, 0.0, 0.8)]  # a passage that names Brazil
    assert related_message(query, unnamed=unnamed_by_all(named)).startswith("Aucune phrase")


def test_an_english_page_says_which_name_is_missing():
    for french, english in ((ABSENT_NAMES, "No document names"),
                            (UNNAMED_COUNTRIES, "None of the passages found names")):
        query = analyze("Que pense le Brésil des drones ?")
        message = f"{french} Brésil. " + related_message(query)
        answer = Answer("?", True, 0.1, (), (), status="related", message=message, answer_type="other")
        shown = decline_message(answer, "en")
        assert shown.startswith(f'{english} <span lang="fr">Brésil</span>. '
                                'No sentence of the passages found clearly says')
        assert "Aucun" not in shown and "Try other words" in shown



# --------------------------------------------------------------------------- ranking
def test_passages_that_name_the_country_asked_about_rank_first_and_the_others_say_why(real_retriever):
    answer = real_retriever.answer("Quelle est la position de Singapour sur la déclaration Pathways to Action ?")
    assert "Singapour" in answer.passages[0].text  # a list of the declaration's supporters, short as it is
    weighed = [e for e in answer.explanations if e.country_weight]
    assert weighed and all(e.unnamed == ("Singapour",) for e in weighed)
    assert all("Singapour" not in answer.passages[e.passage].text for e in weighed)
    said = describe(weighed[0], "fr")
    assert "ne nomme pas Singapour : son score compte pour 0,50" in said
    assert "does not name Singapour: its score counts 0.50" in describe(weighed[0], "en")
    # a question that names no country weighs no passage for it
    assert not any(e.country_weight for e in real_retriever.answer("Que signifie SALA ?").explanations)


def test_a_passage_names_a_country_by_its_own_words_and_its_documents_title_and_body_not_by_its_keywords(
        real_retriever):
    """The Ifri study's keywords (« Institut français des relations internationales ») would make every passage of
    it name France; the US draft's body (« Soumis au nom des États-Unis d'Amérique ») makes its clauses the United
    States'."""
    ranker, chunks = real_retriever.ranker, real_retriever.chunks
    ifri = [n for n, c in enumerate(chunks) if c.doc_id == "ifri-2025-promesses-artificielles"]
    assert not all(names(ranker.place(n), "France") for n in ifri)
    draft = [n for n, c in enumerate(chunks) if c.doc_id == "csnu-projet-resolution-etats-unis"]
    assert all(names(ranker.place(n), "États-Unis") for n in draft)

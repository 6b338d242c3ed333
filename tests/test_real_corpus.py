"""The real corpus through the committed index: the promises users rely on most."""

from __future__ import annotations

import pytest
from corpora import ROOT

from rag import Settings
from rag.corpus.documents import load_corpus
from rag.index.build import open_index
from rag.text.cleaning import clean_document


def test_the_app_serves_the_committed_index_without_building_or_writing(tmp_path):
    """Through ``open_index``, the very function the app and the command line load their index and embedder with,
    with the settings ``app.py`` reads: the committed build is served as it is, nothing is built or written."""
    before = {p: p.read_bytes() for p in sorted((ROOT / ".index").rglob("*")) if p.is_file()}
    settings = Settings.from_env(index_dir=str(tmp_path / "index"))  # where a build would go, outside the checkout
    data, embedder = open_index(settings)
    assert data.folder.parent == ROOT / ".index", ("the committed index is not served: commit it rebuilt "
                                                   "(python -m rag build --index .index)")
    assert embedder.name == data.manifest["embedder"]
    assert not (tmp_path / "index").exists()
    assert {p: p.read_bytes() for p in sorted((ROOT / ".index").rglob("*")) if p.is_file()} == before


@pytest.fixture(scope="module")
def files():
    return {d.doc_id: d.text for d in load_corpus(ROOT / "corpus")}


@pytest.mark.parametrize("query, doc", [
    ("79/239", "onu-ag-resolution-79-239"),
    ("A/79/408", "onu-ag-resolution-79-239"),
    ("SALA", "uip-2025-reglementation-ia-militaire"),
    ("CCAC", "uip-2025-reglementation-ia-militaire"),
    ("REAIM PALEXCO", "reaim-2026-pathways-to-action"),
    ("ISBN 979-10-373-0982-2", "ifri-2025-promesses-artificielles"),
])
def test_symbols_and_acronyms_are_found(real_retriever, query, doc):
    assert doc in [p.doc_id for p in real_retriever.search(query, k=3, mode="keyword")]


def test_meaningful_human_control(real_retriever, files):
    for question in ("Que signifie un contrôle humain significatif ?", "What does meaningful human control mean?"):
        answer = real_retriever.answer(question, k=5)
        assert not answer.abstained
        assert "uip-2025-reglementation-ia-militaire" in [p.doc_id for p in answer.passages[:3]]
        assert any("contrôle humain significatif" in s.text for s in answer.sentences)
        for s in answer.sentences:
            p = answer.passages[s.passage]
            assert clean_document(files[p.doc_id]).render(s.start, s.end) == s.text


def test_every_passage_is_cited_exactly(real_retriever, files):
    for q in ["Quelles sont les 28 recommandations ?", "AI Act européen", "Pacte pour l'avenir"]:
        passages = real_retriever.search(q, k=10)
        assert passages, q
        for p in passages:
            assert clean_document(files[p.doc_id]).render(p.start, p.end) == p.text
            assert "<sup>" not in p.text and "Scroll to Top" not in p.text


@pytest.mark.parametrize("question", [
    "Quelle est la recette traditionnelle de la blanquette de veau ?",
    "How do I repot an orchid without damaging its roots?",
])
def test_off_topic_questions_are_declined(real_retriever, question):
    answer = real_retriever.answer(question)
    assert answer.status == "off_topic" and answer.abstained and not answer.sentences and answer.passages


# Questions on which the answer step once quoted related sentences as answers: each gets the outcome a careful
# reader of the documents would give (answered, or related and nothing quoted).
@pytest.mark.parametrize("question", ["Who chaired the REAIM 2026 summit?", "Qui a présidé le sommet REAIM 2026 ?"])
def test_a_chair_never_named_is_not_answered(real_retriever, question):
    answer = real_retriever.answer(question)
    assert answer.status == "related" and not answer.sentences and answer.passages
    assert "REAIM, 2026" in answer.message
    assert "Aucune phrase des passages trouvés ne dit clairement qui" in answer.message


@pytest.mark.parametrize("question, expected", [
    ("Où s'est tenu le sommet REAIM 2026 ?", "PALEXCO"),
    ("Quand le sommet REAIM 2026 s'est-il tenu ?", "du 4 au 5 février"),
])
def test_the_summit_is_placed_and_dated_by_its_own_sentence(real_retriever, question, expected):
    answer = real_retriever.answer(question)
    assert answer.status == "answered"
    assert expected in answer.sentences[0].text
    assert all("La Haye" not in s.text for s in answer.sentences), "the earlier summits are another event"


def test_contact_lines_are_never_quoted(real_retriever):
    for question in ("When was the Ifri study published?", "Quelle est l'adresse électronique de l'Ifri ?"):
        for s in real_retriever.answer(question).sentences:
            assert "@" not in s.text and "ifri.org" not in s.text.lower()


@pytest.mark.parametrize("question", ["Who is the author of the Ifri study?",
                                      "Qui est l'autrice de l'étude de l'Ifri ?"])
def test_a_statement_under_its_heading_answers(real_retriever, question):
    # « Laure de Roucy-Rochegonde est directrice… » stands under the heading « Autrice »: the heading says
    # the relation the sentence does not repeat.
    answer = real_retriever.answer(question)
    assert answer.status == "answered" and "Roucy-Rochegonde" in answer.sentences[0].text

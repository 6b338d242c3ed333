"""A long document does not crowd the first results, unless the question names it or it is most of the corpus."""

from __future__ import annotations

import pytest
from corpora import write_corpus

from rag import Retriever, Settings
from rag.retrieval.fusion import HEAD, PER_DOCUMENT, diversify


def test_diversify_caps_a_document_in_the_head_and_keeps_the_rest_in_order():
    assert diversify(list("aaaaabbc"), {}).tolist() == [0, 1, 2, 5, 6, 3, 4, 7]
    assert diversify(list("aaaaabbc"), {"a": 5}).tolist() == list(range(8))  # a named document
    assert diversify(list("aaab"), {}).tolist() == [0, 1, 2, 3]  # nothing else to promote
    assert diversify(list("abababab"), {}).tolist() == list(range(8))


PARAGRAPH = ("Les drones armés autonomes posent la question du contrôle humain sur l'emploi de la force, "
             "paragraphe {i} du rapport long. ")


def long_corpus(folder):
    files = {"rapport-long.txt": "Rapport long sur les drones\n\n" + "\n\n".join(
        PARAGRAPH.format(i=i) for i in range(8)) + "\n"}
    for name in "abcd":
        files[f"note-{name}.txt"] = (f"Note {name} sur le budget\n\nLe budget des armées finance la formation des "
                                     f"personnels et, pour une petite part, des drones (note {name}).\n")
    for name in "efghijkl":
        files[f"note-{name}.txt"] = (f"Note {name} sur la météo\n\nLa pluie et le vent de l'automne sont au menu "
                                     f"de la note {name}, rien d'autre.\n")
    meta = '["rapport-long"]\nkeywords = "RAPLONG, rapport long"\n'
    return write_corpus(folder, files, metadata=meta)


@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    corpus = long_corpus(tmp_path_factory.mktemp("crowded"))
    settings = Settings(corpus_dir=str(corpus), index_dir=str(tmp_path_factory.mktemp("crowded-index")),
                        embedder="bundled", chunk_tokens=48, chunk_overlap=0)
    return Retriever.from_settings(settings)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_a_long_document_holds_at_most_three_of_the_first_five(crowded, mode):
    long_rows = len(crowded.ranker.doc_rows["rapport-long"])
    assert HEAD * long_rows / len(crowded.index.chunks) <= PER_DOCUMENT  # a minority of the index
    top = [p.doc_id for p in crowded.search("drones armés autonomes et contrôle humain de la force", k=10, mode=mode)]
    assert top[:HEAD].count("rapport-long") == PER_DOCUMENT  # it would take more without the cap
    assert top.count("rapport-long") > PER_DOCUMENT  # the others follow, after the head


def test_a_named_document_keeps_its_places(crowded):
    top = [p.doc_id for p in crowded.search("RAPLONG : drones armés autonomes et contrôle humain", k=5)]
    assert top.count("rapport-long") > PER_DOCUMENT


def test_a_document_that_is_most_of_the_corpus_is_not_capped(tiny_retriever):
    caps = tiny_retriever.ranker.document_caps(tiny_retriever._prepare("drones", 5, "hybrid", None)[0],
                                         {d.doc_id for d in tiny_retriever.documents})
    total = len(tiny_retriever.index.chunks)
    assert caps
    for doc, cap in caps.items():
        assert cap == max(PER_DOCUMENT, -(-HEAD * len(tiny_retriever.ranker.doc_rows[doc]) // total))

"""Hybrid fusion weighs the keyword side by its evidence for the question."""

from __future__ import annotations

import numpy as np
import pytest

from rag import Retriever
from rag.text.glossary import coverage
from rag.text.question import analyze


@pytest.mark.parametrize("question, share", [
    ("What does meaningful human control mean?", 1.0),  # the whole phrase is in the glossary
    ("What did resolution A/79/239 decide?", 1.0),  # glossary word and a symbol
    ("How did the penguins of the zoo feel about lunch?", 0.0),  # nothing reaches French text
    ("Which penguins support autonomous weapons?", 0.5),  # "penguins" and "support" miss, the phrase counts twice
])
def test_glossary_coverage_counts_the_words_that_reach_french(question, share):
    assert coverage(question) == pytest.approx(share)


def test_keyword_evidence_follows_the_question(tiny_retriever):
    evidence = tiny_retriever.ranker.keyword_evidence
    assert evidence(analyze("Quel est le budget de la défense ?")) == 1.0  # every term is in the index
    # Words the index does not know lower it, down to nothing.
    some = evidence(analyze("Quel budget pour les pingouins frigorifiés du zoo de Vincennes ?"))
    assert 0.0 < some < 1.0
    assert evidence(analyze("Pingouins frigorifiés ?")) == 0.0
    assert evidence(analyze("How did the penguins of the zoo feel about lunch?")) == 0.0
    assert evidence(analyze("What does meaningful human control mean?")) == 1.0


def test_without_evidence_the_keyword_side_has_no_weight(tiny_retriever, tiny_settings):
    # An English question whose words BM25 can only meet by accident ("programmation" is also English):
    # hybrid ranks exactly as a fusion with no keyword side at all.
    question = "Which programmation of the lunch menus is the most popular?"
    no_keyword = Retriever(tiny_retriever.index, tiny_retriever.embedder,
                           tiny_settings.replace(dense_weight_en=1.0, dense_weight=1.0))
    assert tiny_retriever.index.keyword.scores(analyze(question).keyword_text).max() > 0  # BM25 matches something
    assert tiny_retriever.search(question, k=5) == no_keyword.search(question, k=5)
    # With full evidence the keyword side counts: the French question's ranking is not the dense one.
    french = "budget de la défense loi de programmation militaire"
    with_kw = [p.chunk_id for p in tiny_retriever.search(french, k=5)]
    scores = [p.score for p in tiny_retriever.search(french, k=5)]
    assert scores != [p.score for p in no_keyword.search(french, k=5)]
    assert with_kw[0] == [p.chunk_id for p in tiny_retriever.search(french, k=5, mode="keyword")][0]


def test_best_sentences_of_all_candidates_are_those_of_each_chunk_alone(tiny_retriever):
    """The ranker takes the chunks with as many sentences together: the same floats as one chunk at a time."""
    ranker = tiny_retriever.ranker
    rows = np.arange(len(tiny_retriever.chunks))[::-1]
    for question in ("Quand le sommet s'est-il tenu ?", "drones autonomes", "Who chaired the meeting?"):
        qv = tiny_retriever.embedder.encode_queries([question])[0]
        place, best = ranker.best_sentences(rows, qv)
        alone = []  # each chunk's own matrix-vector product
        for r in rows:
            sims = tiny_retriever.index.sentence_vectors[list(tiny_retriever.index.sentence_rows[r])] @ qv
            alone.append((int(np.argmax(sims)), float(sims.max())) if len(sims) else (-1, -1.0))
        assert place.tolist() == [i for i, _ in alone]
        assert best.tolist() == [float(np.float32(s)) for _, s in alone]


"""« Pourquoi ce passage ? »: each passage's explanation holds the ranks the ranker used, and says them in words."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag import Retriever
from rag.answering.citation import answer_json
from rag.answering.explain import describe
from rag.answering.extraction import DATE
from rag.retrieval.fusion import fuse_ranks
from rag.text.folding import fold
from rag.text.question import analyze
from ui.handlers import App

BUDGET = "Quel est le budget de la défense consacré à l'intelligence artificielle ?"
DRONES = "Que suppose un contrôle humain significatif des drones ?"
EVERY = ["rapport-drones", "resolution-test", "note-budget"]  # a filter: no per-document cap moves a passage


def test_one_explanation_per_passage_with_the_similarity_of_its_vector(tiny_retriever):
    a = tiny_retriever.answer(DRONES, k=4)
    assert len(a.explanations) == len(a.passages) == 4
    qv = tiny_retriever.embedder.encode_queries([analyze(DRONES).text])[0]
    for i, (p, e) in enumerate(zip(a.passages, a.explanations)):
        assert (e.passage, e.rank) == (i, i + 1)
        row = next(n for n, ch in enumerate(tiny_retriever.chunks) if ch.chunk_id == p.chunk_id)
        assert e.dense == pytest.approx(float(tiny_retriever.index.vectors.reconstruct(np.array([row]))[0] @ qv),
                                        abs=1e-3)
        assert 1 <= e.dense_rank <= e.pool and 1 <= e.sentence_rank <= e.pool and e.docs == ()
    # a better similarity is a better rank
    pairs = sorted((e.dense, -e.dense_rank) for e in a.explanations)
    assert [r for _, r in pairs] == sorted(r for _, r in pairs)


@pytest.mark.parametrize("mode, rank", [("dense", "dense_rank"), ("keyword", "keyword_rank"),
                                        ("hybrid", "fused_rank")])
def test_each_mode_orders_the_passages_by_its_own_rank(tiny_retriever, mode, rank):
    a = tiny_retriever.answer(BUDGET, k=5, mode=mode, docs=EVERY)
    ranks = [getattr(e, rank) for e in a.explanations]
    if mode == "keyword":  # the passages with a word of the question come first, in keyword order
        ranks = [r for r in ranks if r]
        assert ranks
    assert ranks == list(range(1, len(ranks) + 1))
    assert all(e.mode == mode and e.docs == tuple(EVERY) for e in a.explanations)


def test_the_ranks_give_back_the_fused_score(tiny_retriever):
    r, s = tiny_retriever, tiny_retriever.settings
    a = r.answer(BUDGET, k=5)
    w = 1.0 - (1.0 - s.dense_weight) * r.ranker.keyword_evidence(analyze(BUDGET))
    e = a.explanations
    fused = fuse_ranks(np.array([x.dense_rank for x in e], float), np.array([x.sentence_rank for x in e], float),
                       np.array([x.keyword_rank for x in e], float), dense_weight=w,
                       sentence_weight=s.sentence_weight, rrf_k=s.rrf_k)
    fused *= np.array([x.note_weight or 1.0 for x in e])  # a footnote's score counts note_weight
    assert fused == pytest.approx([p.score for p in a.passages], abs=1e-6)


def test_a_footnote_says_what_its_score_counted_for(tiny_retriever):
    r = tiny_retriever.replace(settings=tiny_retriever.settings.replace(note_weight=0.8))
    a = r.answer("Comité international de la Croix-Rouge et contrôle humain", k=5)
    note = next(i for i, p in enumerate(a.passages) if p.section.endswith("Notes"))
    e = a.explanations[note]
    assert e.note_weight == 0.8 and not any(x.note_weight for i, x in enumerate(a.explanations) if i != note)
    assert "une note de bas de page : son score compte pour 0,80" in describe(e)
    assert "a footnote: its score counts 0.80" in describe(e, "en")
    assert not r.answer("Comité international de la Croix-Rouge", k=5, mode="keyword").explanations[0].note_weight


def test_the_words_found_are_the_question_words_in_the_passage(tiny_retriever):
    a = tiny_retriever.answer(BUDGET, k=5)
    budget = next(e for p, e in zip(a.passages, a.explanations) if p.doc_id == "note-budget")
    assert {"budget", "défense", "intelligence", "artificielle"} <= set(budget.words)
    assert budget.keyword_rank == 1 and budget.keyword > 0
    for p, e in zip(a.passages, a.explanations):
        assert "Quel" not in e.words and "le" not in e.words  # stop words are never « found »
        for word in e.words:
            assert fold(word)[:5] in fold(p.text + p.title + p.section)
        if not e.words:
            assert e.keyword_rank == 0


def test_the_expected_type_is_checked_on_the_quoted_sentence(tiny_retriever):
    a = tiny_retriever.answer("Depuis quand la CCAC examine-t-elle la question des SALA ?", k=3)
    assert a.answer_type == "date" and a.status == "answered"
    quoted = a.explanations[a.sentences[0].passage]
    assert quoted.quoted and quoted.answer_type == "date"
    assert quoted.has_type == bool(DATE.search(fold(a.sentences[0].text)))
    assert quoted.has_type
    # a question without a checked type says nothing of the sentence
    other = tiny_retriever.answer("Parle-moi des drones", k=2)
    assert all(e.has_type is None for e in other.explanations if e.answer_type in ("other", "yesno"))


def test_describe_in_french_and_english(tiny_retriever):
    a = tiny_retriever.answer(BUDGET, k=3, docs=["note-budget", "rapport-drones"])
    e = a.explanations[0]
    fr, en = describe(e), describe(e, "en")
    assert f"rang {e.dense_rank} sur {e.pool} en recherche sémantique" in fr
    assert f"rank {e.dense_rank} of {e.pool} in semantic search" in en
    assert "mots trouvés : " + ", ".join(e.words) in fr and "words found: " + ", ".join(e.words) in en
    assert f"rang {e.fused_rank} sur {e.pool} après fusion" in fr
    assert "documents cherchés : note-budget, rapport-drones" in fr
    assert "documents searched: note-budget, rapport-drones" in en
    assert "type attendu : nombre" in fr and "expected answer: a number" in en
    assert describe(e, "de") == fr  # another language: French
    for text in (fr, en):
        assert text[0].isupper() and "{" not in text
    plain = tiny_retriever.answer(BUDGET, k=1).explanations[0]
    assert "tous les documents cherchés" in describe(plain) and "every document searched" in describe(plain, "en")


def test_the_json_and_the_command_line_carry_the_explanations(tiny_retriever, tiny_settings, capsys, monkeypatch):
    from rag.__main__ import main

    # the CLI has no chunk options: the tiny index's settings go through RAG_* variables (else it would rebuild)
    monkeypatch.setenv("RAG_CHUNK_TOKENS", str(tiny_settings.chunk_tokens))
    monkeypatch.setenv("RAG_CHUNK_OVERLAP", str(tiny_settings.chunk_overlap))
    folder = tiny_retriever.index_folder

    out = json.loads(json.dumps(answer_json(tiny_retriever, tiny_retriever.answer(BUDGET, k=2))))
    assert [e["rank"] for e in out["explanations"]] == [1, 2] and "dense_rank" in out["explanations"][0]
    api = App(tiny_retriever).search(BUDGET, 2)  # the app's API
    assert json.loads(json.dumps(api["explanations"])) == out["explanations"]
    base = ["ask", "--corpus", tiny_settings.corpus_dir, "--index", tiny_settings.index_dir, "--embedder",
            "bundled", "-q", "-k", "2"]
    assert main([*base, "--explain", BUDGET]) == 0
    printed = capsys.readouterr().out
    assert printed.count("Pourquoi ce passage ? Sens") == 2 and "mots trouvés : " in printed
    assert main([*base, BUDGET]) == 0
    assert "Pourquoi ce passage" not in capsys.readouterr().out
    assert main([*base, "--after", "Quel est le budget de la défense ?", "Et en 2030 ?"]) == 0
    assert capsys.readouterr().out.startswith("Compris comme : Quel est le budget de la défense en 2030 ?\n")
    assert main([*base, "--json", "--after", "Quel est le budget de la défense ?", "Et en 2030 ?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["question"], out["typed"]) == ("Quel est le budget de la défense en 2030 ?", "Et en 2030 ?")
    assert Retriever.from_settings(tiny_settings).index_folder == folder  # served, never rebuilt

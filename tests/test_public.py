"""Safe to put on a public Space (issue 9): bounded cost per question, corpus hygiene, the index as the only
source of what is shown. The HTTP side (queue, sizes, headers, contract) is in ``test_public_http.py``.

Each test names the row of the issue's table it covers.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from conftest import tiny_corpus, tiny_retriever, tiny_settings  # noqa: F401 (fixtures)
from rag import Retriever
from rag.retriever import MAX_QUESTION_CHARS, QUESTION_TOKENS, fit_question

HOSTILE_QUESTIONS = {
    "emoji": "💥" * MAX_QUESTION_CHARS,
    "cjk": "中" * MAX_QUESTION_CHARS,
    "accents": "é" * MAX_QUESTION_CHARS,
    "a-dot": ("a. " * MAX_QUESTION_CHARS)[:MAX_QUESTION_CHARS],
    "mixed": ("drones 💥 中文 a. é " * 200)[:MAX_QUESTION_CHARS],
    "long-french": ("Que signifie un contrôle humain significatif des drones ? " * 40)[:MAX_QUESTION_CHARS],
}


class Recording:
    """The real embedder, recording the texts it is asked to embed as queries (it embeds them all)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.queries: list[str] = []

    def encode_queries(self, texts):
        self.queries.extend(texts)
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts, progress=False):
        return self.inner.encode_passages(texts, progress)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)


@pytest.fixture(scope="module")
def recorded(tiny_retriever):
    embedder = Recording(tiny_retriever.embedder)
    return Retriever(tiny_retriever._data, embedder, tiny_retriever.settings), embedder


# --------------------------------------------------------------------------- row 1: cost per question
@pytest.mark.parametrize("kind", sorted(HOSTILE_QUESTIONS))
def test_row1_the_embedder_never_sees_more_than_the_token_budget(recorded, kind):
    r, embedder = recorded
    question = HOSTILE_QUESTIONS[kind]
    assert embedder.count_tokens(question) > 3 * QUESTION_TOKENS  # the question really is over budget
    for call in (r.answer, r.search):
        embedder.queries.clear()
        result = call(question, k=3)
        (sent,) = embedder.queries
        assert embedder.count_tokens(sent) <= QUESTION_TOKENS
        assert question.startswith(sent) and len(sent) >= 20
        if call == r.answer:
            assert result.question == sent  # what was answered is what the caller is shown


@pytest.mark.parametrize("kind", sorted(HOSTILE_QUESTIONS))
def test_row1_keyword_analysis_reads_only_the_cut_question(recorded, kind):
    r, embedder = recorded
    query, *_ = r.candidates(HOSTILE_QUESTIONS[kind], k=3)
    assert embedder.count_tokens(query.text) <= QUESTION_TOKENS
    assert len(query.keyword_text) <= 4 * len(query.text) + 200  # an English question adds its glossary terms


def test_row1_a_normal_question_is_not_cut(recorded):
    r, embedder = recorded
    q = "Que suppose un contrôle humain significatif des drones ?"
    embedder.queries.clear()
    assert r.answer(q).question == q and embedder.queries == [q]


@hsettings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(min_size=1, max_size=MAX_QUESTION_CHARS), budget=st.integers(8, 200))
def test_row1_fit_question_is_a_prefix_within_budget(tiny_retriever, text, budget):
    count = tiny_retriever.embedder.count_tokens
    cut = fit_question(text, count, budget)
    assert text.startswith(cut) and cut
    if count(text) <= budget:
        assert cut == text
    else:
        assert count(cut) <= budget or len(cut) == 1

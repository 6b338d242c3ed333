from __future__ import annotations

import pytest
from corpora import ROOT

from rag.corpus.documents import load_corpus
from rag.text.chunking import chunk_document
from rag.text.cleaning import clean_document


@pytest.fixture(scope="module")
def counter():
    from rag.embedding.bundled import BundledEmbedder

    return BundledEmbedder().count_tokens


def test_chunks_fit_the_embedder_and_are_stable(counter):
    docs = load_corpus(ROOT / "corpus")
    assert docs
    for d in docs:
        clean = clean_document(d.text)
        first = chunk_document(d.doc_id, clean, counter, 160, 32)
        again = chunk_document(d.doc_id, clean_document(d.text), counter, 160, 32)
        assert first, d.doc_id
        assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
        assert len({c.chunk_id for c in first}) == len(first)
        for c in first:
            heading = sum(counter(clean.text[b.start:b.end]) for b in clean.blocks
                          if b.kind == "heading" and c.clean_start <= b.start < c.clean_end)
            # The splitter may overshoot by a word; a folded heading adds its own length.
            assert counter(c.text) <= 160 + 8 + heading, (c.chunk_id, counter(c.text))
            assert clean.render(c.start, c.end) == c.text
            assert all(c.clean_start <= a < b <= c.clean_end for a, b in c.sentences)
        # A heading alone is never a passage: it opens the passage under it.
        assert sum(not c.sentences for c in first) <= 1, [c.text for c in first if not c.sentences]


def test_chunks_carry_their_section(counter):
    d = next(d for d in load_corpus(ROOT / "corpus") if d.doc_id == "uip-2025-reglementation-ia-militaire")
    chunks = chunk_document(d.doc_id, clean_document(d.text), counter, 160, 32)
    sections = {c.section[-1] for c in chunks if c.section}
    assert {"Contexte", "Objectifs", "Résultats attendus"} <= sections
    # A heading opens the passage under it, so a question about it finds its words.
    assert any(c.text.startswith("Objectifs") for c in chunks)

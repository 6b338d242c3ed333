"""Checks and conditions several test modules share, imported by name (``from checks import check_invariants``)."""

from __future__ import annotations

import sys

import numpy as np

from rag.text.cleaning import clean_document


def check_invariants(text: str) -> None:
    """Cleaning keeps the way back to the file: offset maps as long as the clean text, in order, and every block
    rendered back from its file offsets."""
    doc = clean_document(text)
    assert len(doc.src_start) == len(doc.src_end) == len(doc.text)
    assert np.all(np.diff(doc.src_start) >= 0) and np.all(np.diff(doc.src_end) >= 0)
    assert np.all(doc.src_start < doc.src_end) if len(doc.text) else True
    for block in doc.blocks:
        start, end = doc.to_file(block.start, block.end)
        assert doc.render(start, end) == doc.text[block.start:block.end]


def without_the_html_library(monkeypatch) -> None:
    """This process as on a machine whose pip left out trafilatura's HTML cleaner: importing it fails."""
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # ``import trafilatura`` raises ImportError
    monkeypatch.delitem(sys.modules, "rag.corpus.readers.html", raising=False)

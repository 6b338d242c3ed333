"""Checks and conditions several test modules share, imported by name (``from checks import check_invariants``)."""

from __future__ import annotations

import sys

import numpy as np

from rag.text.cleaning import clean_document


def check_invariants(text: str) -> None:
    """Cleaning keeps the way back to the file: offset maps as long as the clean text, in file order within the body
    and within the footnotes, and every block rendered back from its file offsets."""
    doc = clean_document(text)
    assert len(doc.src_start) == len(doc.src_end) == len(doc.text)
    for a, b in doc.regions():
        assert np.all(np.diff(doc.src_start[a:b]) >= 0) and np.all(np.diff(doc.src_end[a:b]) >= 0)
    assert all(b.kind == "note" for b in doc.blocks if doc.notes_start is not None and b.start >= doc.notes_start)
    assert np.all(doc.src_start < doc.src_end) if len(doc.text) else True
    for block in doc.blocks:
        start, end = doc.to_file(block.start, block.end)
        assert doc.render(start, end) == doc.text[block.start:block.end]


def without_the_html_library(monkeypatch) -> None:
    """This process as on a machine whose pip left out trafilatura's HTML cleaner: importing it fails."""
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # ``import trafilatura`` raises ImportError
    monkeypatch.delitem(sys.modules, "rag.corpus.readers.html", raising=False)

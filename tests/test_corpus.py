"""The corpus folder: metadata beside the files, new files picked up, bad files skipped by name."""

from __future__ import annotations

import logging

import pytest
from corpora import TINY, TINY_METADATA, write_corpus

from rag import CorpusError, Retriever
from rag.corpus.documents import load_corpus, scan_corpus


def test_metadata_and_titles(tmp_path):
    corpus = write_corpus(tmp_path / "c", metadata=TINY_METADATA)
    docs = {d.doc_id: d for d in load_corpus(corpus)}
    assert docs["rapport-drones"].body == "Commission d'essai"
    assert docs["resolution-test"].title == "Résolution 12/345"  # first heading
    assert docs["note-budget"].title == "Note sur le budget de la défense"  # plain text: its title line
    assert docs["note-budget"].text == TINY["note-budget.txt"]


def test_bad_metadata_is_a_clear_error(tmp_path):
    corpus = write_corpus(tmp_path / "c", metadata="[oops\n")
    with pytest.raises(CorpusError, match="metadata.toml"):
        load_corpus(corpus)


def test_bad_files_are_skipped_by_name_and_listed(tmp_path, caplog):
    corpus = write_corpus(tmp_path / "c", metadata=TINY_METADATA)
    (corpus / "vide.md").write_text("  \n\n", encoding="utf-8")
    (corpus / "binaire.md").write_bytes(b"PK\x03\x04\x00\x00 binary")
    (corpus / "latin1.txt").write_bytes("Résolution adoptée".encode("latin-1"))
    docs, skipped = scan_corpus(corpus)
    assert {d.doc_id for d in docs} == {"rapport-drones", "resolution-test", "note-budget"}
    assert dict(skipped) == {"binaire.md": "binary file (NUL bytes)",
                             "latin1.txt": "not UTF-8 text (byte 1): save it as UTF-8", "vide.md": "empty file"}
    settings_kw = dict(corpus_dir=str(corpus), index_dir=str(tmp_path / "i"), embedder="bundled",
                       chunk_tokens=64, chunk_overlap=8)
    with caplog.at_level(logging.WARNING, logger="rag"):
        r = Retriever.from_settings(**settings_kw)
    for name in ("vide.md", "binaire.md", "latin1.txt"):
        assert any(name in rec.getMessage() for rec in caplog.records), name
    assert {s["file"] for s in r.info()["skipped"]} == {"vide.md", "binaire.md", "latin1.txt"}
    assert r.search("drones autonomes", k=2)


def test_a_corpus_with_nothing_readable_is_a_clear_error(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "vide.md").write_text("", encoding="utf-8")
    with pytest.raises(CorpusError, match="no readable"):
        load_corpus(corpus)
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "missing")

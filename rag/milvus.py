"""Chunk vectors in Milvus: one collection per build, the live one named by an alias.

With ``rag.milvus_connection``, the only modules that import ``pymilvus``. A build creates a fresh collection ``<base>_b<stamp>`` (``base`` is
``Settings.milvus_collection``), inserts every chunk row (``row`` = chunk index, ``doc_id``, ``vector``), flushes,
checks the row count, and only then, once its build folder is complete, points the live name at it:

- on a Milvus server (standalone or cluster), the alias ``<base>`` (``alter_alias``, atomic on the server);
- on Milvus Lite, which answers ``create_alias`` with UNIMPLEMENTED (checked with milvus-lite 2.5.1), one row of
  the collection ``<base>_live``, replaced by a single ``upsert``.

A reader resolves the live name, then the build folder whose ``milvus.json`` names that collection, and checks the
collection's own record (build id, embedder, dimension, row count): a crash at any point of a build leaves the
previous collection live, and a collection from another build or embedder is refused by name.

Queries that lose the server reconnect once (Milvus Lite: its server process is started again) and say so in the
log; a second failure raises :class:`StoreUnavailable`. Inserts never retry: a build that loses the server fails.
Milvus Lite serves one process at a time per ``.db`` file (it locks the file).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from .store import IndexProblem
from .vectorstore import StoreUnavailable, doc_filter

from .milvus_connection import Connection, connect

from pymilvus import DataType, MilvusClient  # noqa: E402 (after milvus_connection's clear ImportError)

log = logging.getLogger("rag")

INSERT_BATCH = 1000
POINTER_SUFFIX = "_live"
LIVE_KEY = "live"
FILE = "milvus.json"


# ------------------------------------------------------------------ live name
def live_collection(conn: Connection, base: str) -> str | None:
    """The collection the live name points at, or None before the first build."""
    if conn.target.lite:
        pointer = base + POINTER_SUFFIX
        if not conn.call("has_collection", pointer):
            return None
        rows = conn.call("query", pointer, filter=f'key == "{LIVE_KEY}"', output_fields=["target"],
                         consistency_level="Strong")
        return str(rows[0]["target"]) if rows else None
    aliases = conn.call("list_aliases").get("aliases", [])
    if base not in aliases:
        return None
    return str(conn.call("describe_alias", base)["collection_name"])


def publish(conn: Connection, base: str, collection: str) -> None:
    """Point the live name at ``collection`` in one atomic step, then drop the other builds' collections."""
    if conn.target.lite:
        pointer = base + POINTER_SUFFIX
        if not conn.call("has_collection", pointer, retry=False):
            schema = MilvusClient.create_schema(auto_id=False, description="the live collection of " + base)
            schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=16)
            schema.add_field("target", DataType.VARCHAR, max_length=255)
            schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
            params = MilvusClient.prepare_index_params()
            params.add_index("v", index_type="FLAT", metric_type="L2")
            conn.call("create_collection", pointer, schema=schema, index_params=params, consistency_level="Strong",
                      retry=False)
        conn.call("upsert", pointer, [{"key": LIVE_KEY, "target": collection, "v": [0.0, 0.0]}], retry=False)
        conn.call("flush", pointer, retry=False)
    elif base in conn.call("list_aliases", retry=False).get("aliases", []):
        conn.call("alter_alias", collection, base, retry=False)
    else:
        conn.call("create_alias", collection, base, retry=False)
    log.info("milvus: %s now serves %s", base, collection)
    for name in conn.call("list_collections", retry=False):
        if name.startswith(base + "_b") and name != collection:
            conn.call("drop_collection", name, retry=False)


def live_build(settings) -> Path:
    """The build folder of the live collection.

    Raises:
        IndexProblem: nothing built on this store yet, or the live collection belongs to no build of
            ``settings.index_dir`` (another deployment's build, or a removed folder).
        StoreUnavailable: the server does not answer.
    """
    conn = connect(settings)
    base = settings.milvus_collection
    name = live_collection(conn, base)
    where = f"{conn.target.shown} ({base})"
    if name is None:
        raise IndexProblem(where, "no index has been built on this store yet")
    root = Path(settings.index_dir)
    for folder in sorted(root.glob("build-*"), reverse=True):
        path = folder / FILE
        if folder.name.endswith(".tmp") or not path.is_file():
            continue
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("collection") == name:
                return folder
        except (OSError, ValueError):
            continue  # a damaged file: the manifest's checksum check names it if it is the live one
    raise IndexProblem(where, f"the live collection {name!r} belongs to no build in {root} (a collection from "
                              "another build or deployment: give each its own RAG_MILVUS_COLLECTION)")


# ------------------------------------------------------------------ vectors
class MilvusVectors:
    """The chunk vectors of one build in one collection; the ``rag.vectorstore.VectorStore`` calls."""

    kind = "milvus"
    file_name = FILE

    def __init__(self, settings, collection: str, build: str, dim: int, doc_ids: list[str]) -> None:
        self._settings = settings
        self.base = settings.milvus_collection
        self.collection = collection
        self.build = build
        self.dim = dim
        self._doc_of_row = np.array(doc_ids, dtype=object)
        self._rows_of = {d: int(n) for d, n in zip(*np.unique(np.array(doc_ids, dtype=str), return_counts=True))}

    def __len__(self) -> int:
        return sum(self._rows_of.values())

    @property
    def _conn(self) -> Connection:
        return connect(self._settings)  # the process's one connection (a reconnect replaces its client)

    # ---------------------------------------------------------------- build
    @classmethod
    def create(cls, settings, vectors: np.ndarray, doc_ids: list[str], embedder_name: str,
               batch: int = INSERT_BATCH) -> "MilvusVectors":
        """Insert a build's vectors into a new collection (not live until :meth:`publish`).

        Raises:
            StoreUnavailable: the server does not answer, or lost rows (the half-written collection is never live).
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        if len(doc_ids) != n:
            raise ValueError(f"{len(doc_ids)} document ids for {n} vectors")
        conn = connect(settings)
        base = settings.milvus_collection
        build = f"{time.strftime('%Y%m%d%H%M%S')}_{os.getpid()}_{os.urandom(3).hex()}"
        name = f"{base}_b{build}"
        record = {"build": build, "embedder": embedder_name, "dim": dim, "rows": n}
        schema = MilvusClient.create_schema(auto_id=False, description=json.dumps(record))
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        params = MilvusClient.prepare_index_params()
        params.add_index("vector", index_type="FLAT", metric_type="IP")
        conn.call("create_collection", name, schema=schema, index_params=params, consistency_level="Strong",
                  retry=False)
        for start in range(0, n, batch):
            stop = min(n, start + batch)
            conn.call("insert", name, [{"row": i, "doc_id": doc_ids[i], "vector": vectors[i].tolist()}
                                       for i in range(start, stop)], retry=False)
            log.info("milvus: inserted %d/%d rows into %s", stop, n, name)
        conn.call("flush", name, retry=False)
        count = int(conn.call("get_collection_stats", name, retry=False).get("row_count", -1))
        if count != n:
            raise StoreUnavailable(conn.target.shown, f"{name} holds {count} rows after inserting {n}")
        conn.call("load_collection", name, retry=False)
        return cls(settings, name, build, dim, list(doc_ids))

    def save(self, path: Path) -> None:
        """Write ``milvus.json``: which collection holds this build's vectors (checked when it is opened)."""
        path.write_text(json.dumps({"store": self._conn.target.shown, "collection": self.collection,
                                    "build": self.build, "dim": self.dim, "rows": len(self)}, indent=2),
                        encoding="utf-8")

    def publish(self) -> None:
        """Make this build's collection the live one (atomic), dropping older builds' collections."""
        publish(self._conn, self.base, self.collection)

    # ----------------------------------------------------------------- open
    @classmethod
    def open(cls, settings, folder: Path, manifest: dict, doc_ids: list[str]) -> "MilvusVectors":
        """The collection of the build in ``folder``, after checking it is that build's.

        Raises:
            IndexProblem: the collection is missing, or from another build or embedder, or its dimension or row
                count differ from the build's.
            StoreUnavailable: the server does not answer.
        """
        path = folder / FILE
        info = json.loads(path.read_text(encoding="utf-8"))
        conn = connect(settings)
        name = str(info.get("collection"))
        if not conn.call("has_collection", name):
            raise IndexProblem(str(path), f"collection {name!r} is not on {conn.target.shown}")
        described = conn.call("describe_collection", name)
        try:
            record = json.loads(described.get("description") or "")
        except ValueError:
            record = {}
        record = record if isinstance(record, dict) else {}
        if record.get("build") != info.get("build"):
            raise IndexProblem(name, f"collection from another build ({record.get('build')!r}, this build is "
                                     f"{info.get('build')!r})")
        if record.get("embedder") != manifest.get("embedder"):
            raise IndexProblem(name, f"vectors of embedder {record.get('embedder')!r}, the build uses "
                                     f"{manifest.get('embedder')!r}")
        dims = [f.get("params", {}).get("dim") for f in described.get("fields", []) if f.get("name") == "vector"]
        dim = int(dims[0]) if dims and dims[0] is not None else -1
        if dim != manifest.get("dim") or dim != record.get("dim"):
            raise IndexProblem(name, f"dimension mismatch: the collection holds {dim}-d vectors, the build's "
                                     f"embedder gives {manifest.get('dim')}-d")
        count = int(conn.call("get_collection_stats", name).get("row_count", -1))
        if count != len(doc_ids):
            raise IndexProblem(name, f"{count} rows for {len(doc_ids)} chunks")
        conn.call("load_collection", name)
        return cls(settings, name, str(info["build"]), dim, doc_ids)

    # --------------------------------------------------------- incremental
    def add(self, vectors: np.ndarray, doc_ids: list[str], batch: int = INSERT_BATCH) -> np.ndarray:
        """Insert rows for new chunks after the last row (only those rows are written); returns their rows.

        Raises:
            ValueError: a dimension or count that does not fit; StoreUnavailable: the server failed mid-insert.
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(doc_ids), -1)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vectors of dimension {vectors.shape[1]}, collection {self.collection} holds "
                             f"{self.dim}-d vectors")
        start = int(max(self._rows_in_store(), default=-1)) + 1
        rows = np.arange(start, start + len(doc_ids), dtype=np.int64)
        for a in range(0, len(rows), batch):
            self._conn.call("insert", self.collection,
                            [{"row": int(rows[i]), "doc_id": doc_ids[i], "vector": vectors[i].tolist()}
                             for i in range(a, min(len(rows), a + batch))], retry=False)
        self._conn.call("flush", self.collection, retry=False)
        self._doc_of_row = np.concatenate([self._doc_of_row, np.array(doc_ids, dtype=object)])
        for d in doc_ids:
            self._rows_of[d] = self._rows_of.get(d, 0) + 1
        return rows

    def delete(self, doc_id: str) -> int:
        """Delete the rows of one known document (a filter on its validated id); returns how many there were."""
        flt = doc_filter([doc_id], self._rows_of)
        n = self._rows_of.pop(doc_id)
        self._conn.call("delete", self.collection, filter=flt, retry=False)
        self._conn.call("flush", self.collection, retry=False)
        self._doc_of_row = np.where(self._doc_of_row == doc_id, None, self._doc_of_row)
        return n

    def _rows_in_store(self) -> list[int]:
        return [i for i, d in enumerate(self._doc_of_row) if d is not None]

    # ---------------------------------------------------------------- query
    def _filter(self, allowed: np.ndarray) -> str:
        rows = np.unique(np.asarray(allowed, dtype=np.int64))
        docs = sorted(set(self._doc_of_row[rows].tolist()) - {None})
        if sum(self._rows_of[d] for d in docs) == len(rows):  # whole documents: a filter on doc_id
            return doc_filter(docs, self._rows_of)
        return "row in [" + ",".join(str(int(r)) for r in rows) + "]"

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` rows for one query vector (exact inner product), as ``rag.vectors.VectorIndex.search``."""
        k = min(k, len(self) if allowed is None else len(allowed))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise ValueError(f"query vector of dimension {q.shape[0]}, collection {self.collection} holds "
                             f"{self.dim}-d vectors")
        flt = "" if allowed is None else self._filter(allowed)
        hits = self._conn.call("search", self.collection, [q.tolist()], limit=k, filter=flt, anns_field="vector",
                               search_params={"metric_type": "IP"})[0]
        return (np.array([h["id"] for h in hits], dtype=np.int64),
                np.array([h["distance"] for h in hits], dtype=np.float32))

    def reconstruct(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows`` (one query to the server)."""
        rows = [int(r) for r in rows]
        if not rows:
            return np.zeros((0, self.dim), np.float32)
        found = self._conn.call("query", self.collection, filter="row in [" + ",".join(map(str, rows)) + "]",
                                output_fields=["vector"])
        by_row = {int(r["row"]): r["vector"] for r in found}
        missing = [r for r in rows if r not in by_row]
        if missing:
            raise IndexProblem(self.collection, f"rows {missing[:5]} are missing")
        return np.array([by_row[r] for r in rows], dtype=np.float32)


# ------------------------------------------------------------------ keywords
def french_analyzer(stopwords) -> dict:
    """Milvus analyser parameters for French: words, lowercase, accents folded, ``stopwords`` (accent-free) and
    elided articles dropped, Snowball French stems (Milvus has no elision filter; its standard tokenizer splits
    ``l'intelligence`` at the apostrophe, and the stop list drops the ``l``)."""
    elided = ["l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu"]
    return {"tokenizer": "standard",
            "filter": ["lowercase", "asciifolding", {"type": "stop", "stop_words": sorted({*stopwords, *elided})},
                       {"type": "stemmer", "language": "french"}]}


class MilvusKeyword:
    """BM25 over a sparse field that Milvus computes from the text with its own analyser (full-text search).

    Measured beside bm25s by ``python -m eval.bench --scale``; the engine's keyword side stays bm25s (see the
    README, « Scaling out »).
    """

    def __init__(self, settings, collection: str) -> None:
        self._settings = settings
        self.collection = collection

    @classmethod
    def create(cls, settings, texts: list[str], analyzer: dict, name: str, batch: int = INSERT_BATCH,
               k1: float = 1.5, b: float = 0.75) -> "MilvusKeyword":
        """A collection ``name`` (replaced if present) of ``texts``, row ``i`` = ``texts[i]``."""
        from pymilvus import Function, FunctionType

        conn = connect(settings)
        if conn.call("has_collection", name, retry=False):
            conn.call("drop_collection", name, retry=False)
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=analyzer)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                     output_field_names=["sparse"]))
        params = MilvusClient.prepare_index_params()
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params={"bm25_k1": k1, "bm25_b": b})
        conn.call("create_collection", name, schema=schema, index_params=params, consistency_level="Strong",
                  retry=False)
        for start in range(0, len(texts), batch):
            conn.call("insert", name, [{"row": i, "text": texts[i]}
                                       for i in range(start, min(len(texts), start + batch))], retry=False)
        conn.call("flush", name, retry=False)
        conn.call("load_collection", name, retry=False)
        return cls(settings, name)

    def top(self, text: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best rows for ``text`` by BM25, with their scores (empty when no term matches)."""
        hits = connect(self._settings).call("search", self.collection, [text], limit=k, anns_field="sparse",
                                            search_params={"metric_type": "BM25"})[0]
        return (np.array([h["id"] for h in hits], dtype=np.int64),
                np.array([h["distance"] for h in hits], dtype=np.float32))

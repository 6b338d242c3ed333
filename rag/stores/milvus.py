"""Chunks in Milvus: vectors and BM25 terms in one collection per full build, updated in place by generations.

With ``milvus_connection`` and ``milvus_keyword``, the only modules that import ``pymilvus``. A row per chunk:
``pk``, ``doc_id``, ``born`` (the generation that inserted it), ``vector``, ``terms`` (the chunk's keyword text
as ``rag.text.analysis`` gives it, space-separated) and ``sparse``, which Milvus computes from ``terms`` (a BM25
function), so dense and keyword search both run on the server.

**Full build**: a fresh collection ``<base>_b<stamp>`` (``base`` is ``Settings.milvus_collection``), generation 1.
**Incremental update** (``rag.index.build``, ``incremental=True``): the live collection, generation G+1; only the
rows of added and changed documents are inserted (``born = G+1``), and once the new generation is live, the rows of
changed and removed documents are deleted. Readers see ``born <= G`` minus the rows their generation replaced
(:attr:`MilvusVectors.visible`), so rows being written are never seen by the live build, and rows being deleted
are not seen by the new one.

**Live pointer**: one row of the collection ``<base>_live`` (collection, generation, build folder), replaced by a
single ``upsert``; a reader resolves it, then the build folder it names, and checks the collection's own record
(build id, embedder, dimension) and its visible row count. A crash at any point of a build or update leaves the
previous generation live, and the next build clears what the crash left (a half-written collection is dropped,
rows of an unfinished generation deleted). On a Milvus server the alias ``<base>`` is also moved to the live
collection, for other clients; the engine reads the pointer (Milvus Lite 2.5.1 has no aliases).

Queries that lose the server reconnect once (Milvus Lite: its server process is started again) and say so in the
log; a second failure raises :class:`StoreUnavailable`. Writes never retry: a build that loses the server fails.
Milvus Lite serves one process at a time per ``.db`` file (it locks the file).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from rag.stores.base import IndexProblem, StoreUnavailable, doc_filter
from rag.stores.milvus_connection import Connection, connect  # imported first: its ImportError says what to install
from rag.stores.milvus_live import FILE, Live, publish

# isort: split
from pymilvus import DataType, Function, FunctionType, MilvusClient

log = logging.getLogger("rag")

INSERT_BATCH = 1000
QUERY_BATCH = 5000  # rows per query by primary key (Milvus returns at most 16,384)
ROWS_FILE = "milvus-rows.npy"  # per chunk row, its primary key in the collection
BM25 = {"bm25_k1": 1.2, "bm25_b": 0.75}  # bm25s's, so both stores rank keywords alike
LAYOUT = 2  # of a collection's rows; a build of another layout is refused, then rebuilt (``open_index``)


# ------------------------------------------------------------------ vectors
def _schema(dim: int, record: dict):
    schema = MilvusClient.create_schema(auto_id=False, description=json.dumps(record))
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
    schema.add_field("born", DataType.INT64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("terms", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                     analyzer_params={"tokenizer": "whitespace"})
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"],
                                 output_field_names=["sparse"]))
    params = MilvusClient.prepare_index_params()
    params.add_index("vector", index_type="FLAT", metric_type="IP")
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25)
    return schema, params


def _in(field: str, values, negate: bool = False) -> str:
    """``field in [1,2]`` (or ``not in``: Milvus Lite refuses ``not (…)`` in a search filter)."""
    return f"{field} {'not in' if negate else 'in'} [" + ",".join(str(int(v)) for v in values) + "]"


class MilvusVectors:
    """The chunk vectors of one build: a collection and a generation of it; the ``rag.stores.registry.VectorStore``
    calls. Rows (chunk indexes of the build) map to the collection's primary keys through :attr:`pks`."""

    kind = "milvus"
    file_name = FILE

    def __init__(self, settings, info: dict, pks: np.ndarray, doc_ids: list[str]) -> None:
        self._settings = settings
        self.base = settings.milvus_collection
        self.collection = str(info["collection"])
        self.build = str(info["build"])
        self.generation = int(info["generation"])
        self.dim = int(info["dim"])
        self.next_pk = int(info["next_pk"])
        self.dead = [int(p) for p in info.get("dead", [])]  # rows this generation replaced (deleted once live)
        self.pks = np.asarray(pks, dtype=np.int64)
        if len(self.pks) != len(doc_ids):
            raise IndexProblem(ROWS_FILE, f"{len(self.pks)} primary keys for {len(doc_ids)} chunks")
        self._order = np.argsort(self.pks, kind="stable")
        self._sorted = self.pks[self._order]
        self._doc_of_row = np.array(doc_ids, dtype=object)
        self._rows_of = {d: int(n) for d, n in zip(*np.unique(np.array(doc_ids, dtype=str), return_counts=True))}
        self.visible = f"born <= {self.generation}"  # the filter of every search: this generation's rows
        if self.dead:
            self.visible += f" and {_in('pk', self.dead, negate=True)}"
        self.folder = ""  # the build folder's name, once saved

    def __len__(self) -> int:
        return len(self.pks)

    @property
    def _conn(self) -> Connection:
        return connect(self._settings)  # the process's one connection (a reconnect replaces its client)

    def info(self) -> dict:
        return {"store": self._conn.target.shown, "collection": self.collection, "build": self.build,
                "generation": self.generation, "dim": self.dim, "rows": len(self), "next_pk": self.next_pk,
                "dead": self.dead}

    def rows_of(self, pks: np.ndarray) -> np.ndarray:
        """The rows of primary keys (-1 for a key that is not this generation's)."""
        pks = np.asarray(pks, dtype=np.int64)
        if not len(self._sorted):
            return np.full(len(pks), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, pks), len(self._sorted) - 1)
        return np.where(self._sorted[at] == pks, self._order[at], -1).astype(np.int64)

    # ---------------------------------------------------------------- build
    @classmethod
    def create(cls, settings, vectors: np.ndarray, doc_ids: list[str], terms: list[str], embedder_name: str,
               batch: int = INSERT_BATCH) -> "MilvusVectors":
        """Insert a build's rows into a new collection (not live until :meth:`publish`).

        Args:
            terms: per row, its analysed keyword terms joined by spaces (``rag.stores.milvus_keyword``).

        Raises:
            StoreUnavailable: the server does not answer, or lost rows (the half-written collection is never live).
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        if not len(doc_ids) == len(terms) == n:
            raise ValueError(f"{len(doc_ids)} document ids and {len(terms)} term lists for {n} vectors")
        conn = connect(settings)
        build = f"{time.strftime('%Y%m%d%H%M%S')}_{os.getpid()}_{os.urandom(3).hex()}"
        name = f"{settings.milvus_collection}_b{build}"
        schema, params = _schema(dim, {"build": build, "embedder": embedder_name, "dim": dim, "layout": LAYOUT})
        conn.call("create_collection", name, schema=schema, index_params=params, consistency_level="Strong",
                  retry=False)
        conn.call("load_collection", name, retry=False)
        pks = np.arange(n, dtype=np.int64)
        _insert(conn, name, pks, doc_ids, 1, vectors, terms, batch)
        info = {"collection": name, "build": build, "generation": 1, "dim": dim, "next_pk": n}
        return cls(settings, info, pks, list(doc_ids))

    def update(self, origin: np.ndarray, vectors: np.ndarray, doc_ids: list[str], terms: list[str],
               batch: int = INSERT_BATCH) -> "MilvusVectors":
        """The next generation of this collection: rows whose ``origin`` is a row of this generation keep its
        primary key; the others (``origin`` -1, in order: ``vectors[i]`` and ``terms[i]``) are inserted. Not
        live until :meth:`publish`, which then deletes the rows no longer used.

        Raises:
            ValueError: counts or a dimension that do not fit; StoreUnavailable: the server failed mid-write.
        """
        origin = np.asarray(origin, dtype=np.int64)
        fresh = np.flatnonzero(origin < 0)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(fresh) or (len(fresh) and vectors.shape[1] != self.dim):
            raise ValueError(f"vectors of shape {vectors.shape} for {len(fresh)} new rows, collection "
                             f"{self.collection} holds {self.dim}-d vectors")
        if len(terms) != len(fresh) or len(doc_ids) != len(origin):
            raise ValueError(f"{len(fresh)} new rows, {len(terms)} term lists, {len(doc_ids)} document ids "
                             f"for {len(origin)} rows")
        conn, name, generation = self._conn, self.collection, self.generation + 1
        # What an unfinished update left (its rows are newer than the live generation), and the rows the live
        # generation replaced, if its publication was cut before they were deleted.
        conn.call("delete", name, filter=f"born > {self.generation}", retry=False)
        self._delete(self.dead)
        pks = np.empty(len(origin), dtype=np.int64)
        pks[origin >= 0] = self.pks[origin[origin >= 0]]
        pks[fresh] = self.next_pk + np.arange(len(fresh), dtype=np.int64)
        _insert(conn, name, pks[fresh], [doc_ids[i] for i in fresh], generation, vectors, terms, batch)
        dead = np.setdiff1d(self.pks, pks[origin >= 0]).tolist()
        info = {"collection": name, "build": self.build, "generation": generation, "dim": self.dim,
                "next_pk": self.next_pk + len(fresh), "dead": dead}
        log.info("milvus: generation %d of %s: %d rows inserted, %d to delete once live", generation, name,
                 len(fresh), len(dead))
        return MilvusVectors(self._settings, info, pks, list(doc_ids))

    def save(self, path: Path) -> None:
        """Write ``milvus.json`` (which collection and generation hold this build's rows; checked when opened)
        and ``milvus-rows.npy`` (the rows' primary keys)."""
        self.folder = path.parent.name.removesuffix(".tmp")
        path.write_text(json.dumps(self.info(), indent=2), encoding="utf-8")
        np.save(path.parent / ROWS_FILE, self.pks)

    def publish(self) -> None:
        """Make this build the live one (one atomic upsert), then delete the rows it replaced."""
        if not self.folder:
            raise RuntimeError("save the build before publishing it")
        publish(self._conn, self.base, Live(self.collection, self.generation, self.folder))
        try:
            self._delete(self.dead)
        except StoreUnavailable as exc:  # this build is live and does not see them: the next update deletes them
            log.warning("milvus: %d replaced rows of %s not deleted yet (%s); the next update deletes them",
                        len(self.dead), self.collection, exc.reason)

    def _delete(self, pks: list[int]) -> None:
        for a in range(0, len(pks), QUERY_BATCH):
            self._conn.call("delete", self.collection, filter=_in("pk", pks[a:a + QUERY_BATCH]), retry=False)
        if pks:
            self._conn.call("flush", self.collection, retry=False)

    # ----------------------------------------------------------------- open
    @classmethod
    def open(cls, settings, folder: Path, manifest: dict, doc_ids: list[str]) -> "MilvusVectors":
        """The collection and generation of the build in ``folder``, after checking they are that build's.

        Raises:
            IndexProblem: the collection is missing, or from another build or embedder, or its dimension or
                visible row count differ from the build's.
            StoreUnavailable: the server does not answer.
        """
        path = folder / FILE
        info = json.loads(path.read_text(encoding="utf-8"))
        store = cls(settings, info, np.load(folder / ROWS_FILE, allow_pickle=False), doc_ids)
        store.folder = folder.name
        conn, name = store._conn, store.collection
        if not conn.call("has_collection", name):
            raise IndexProblem(str(path), f"collection {name!r} is not on {conn.target.shown}")
        described = conn.call("describe_collection", name)
        try:
            record = json.loads(described.get("description") or "")
        except ValueError:
            record = {}
        record = record if isinstance(record, dict) else {}
        if record.get("layout") != LAYOUT:
            raise IndexProblem(name, f"rows of layout {record.get('layout')!r}, this code reads layout {LAYOUT}")
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
        conn.call("load_collection", name)
        count = store.count()
        if count != len(doc_ids):
            raise IndexProblem(name, f"{count} rows of generation {store.generation} for {len(doc_ids)} chunks")
        return store

    def count(self) -> int:
        """How many rows this generation sees on the server."""
        rows = self._conn.call("query", self.collection, filter=self.visible, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    # ---------------------------------------------------------------- query
    def where(self, allowed: np.ndarray | None) -> str:
        """The filter of this generation's rows, within ``allowed`` (rows) when given: whole documents become a
        filter on their validated ids, other rows one on their primary keys."""
        if allowed is None:
            return self.visible
        rows = np.unique(np.asarray(allowed, dtype=np.int64))
        docs = sorted(set(self._doc_of_row[rows].tolist()))
        if sum(self._rows_of[d] for d in docs) == len(rows):
            return f"{self.visible} and {doc_filter(docs, self._rows_of)}"
        return f"{self.visible} and {_in('pk', self.pks[rows])}"

    def hits(self, data, anns_field: str, metric: str, k: int, where: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows and scores of one search (``data``: a vector, or the terms of a BM25 query), best first."""
        found = self._conn.call("search", self.collection, [data], limit=k, filter=where, anns_field=anns_field,
                                search_params={"metric_type": metric})[0]
        rows = self.rows_of(np.array([h["id"] for h in found], dtype=np.int64))
        scores = np.array([h["distance"] for h in found], dtype=np.float32)
        return rows[rows >= 0], scores[rows >= 0]

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` rows for one query vector (exact inner product), as
        ``rag.stores.faiss_vectors.VectorIndex.search``."""
        k = min(k, len(self) if allowed is None else len(allowed))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise ValueError(f"query vector of dimension {q.shape[0]}, collection {self.collection} holds "
                             f"{self.dim}-d vectors")
        return self.hits(q.tolist(), "vector", "IP", k, self.where(allowed))

    def reconstruct(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows`` (a query per 5,000 rows)."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.zeros((len(rows), self.dim), np.float32)
        for a in range(0, len(rows), QUERY_BATCH):
            part = self.pks[rows[a:a + QUERY_BATCH]]
            found = self._conn.call("query", self.collection, filter=_in("pk", part), output_fields=["vector"])
            by_pk = {int(r["pk"]): r["vector"] for r in found}
            missing = [int(p) for p in part if int(p) not in by_pk]
            if missing:
                raise IndexProblem(self.collection, f"rows of primary keys {missing[:5]} are missing")
            out[a:a + len(part)] = [by_pk[int(p)] for p in part]
        return out


def _insert(conn: Connection, name: str, pks: np.ndarray, doc_ids: list[str], born: int, vectors: np.ndarray,
            terms: list[str], batch: int) -> None:
    """Insert rows, flush, and check the server holds all of them (inserts never retry)."""
    n = len(pks)
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        conn.call("insert", name, [{"pk": int(pks[i]), "doc_id": doc_ids[i], "born": born,
                                    "vector": vectors[i].tolist(), "terms": terms[i]}
                                   for i in range(start, stop)], retry=False)
        log.info("milvus: inserted %d/%d rows into %s", stop, n, name)
    conn.call("flush", name, retry=False)
    got = conn.call("query", name, filter=f"born == {born}", output_fields=["count(*)"], retry=False)
    count = int(got[0]["count(*)"]) if got else 0
    if count != n:
        raise StoreUnavailable(conn.target.shown, f"{name} holds {count} rows of generation {born} after "
                                                  f"inserting {n}")

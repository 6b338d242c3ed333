"""The live pointer of a Milvus store: which collection, generation and build folder serve (see
``rag.stores.milvus``). One row of the collection ``<base>_live``, replaced by a single ``upsert``; on a Milvus
server the alias ``<base>`` is also moved to the live collection, for other clients."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from rag.stores.base import IndexProblem
from rag.stores.milvus_connection import Connection, connect  # imported first: its ImportError says what to install

# isort: split
from pymilvus import DataType, MilvusClient

log = logging.getLogger("rag")

POINTER_SUFFIX = "_live"
LIVE_KEY = "live"
FILE = "milvus.json"  # in a build folder: the collection and generation it reads


@dataclass(frozen=True)
class Live:
    """What the live pointer names: a collection, its live generation, and the build folder that reads it."""

    collection: str
    generation: int
    build: str


def live_pointer(conn: Connection, base: str) -> Live | None:
    """The live build on this store, or None before the first build (or under a pointer of an older layout)."""
    pointer = base + POINTER_SUFFIX
    if not conn.call("has_collection", pointer):
        return None
    rows = conn.call("query", pointer, filter=f'key == "{LIVE_KEY}"', output_fields=["*"],
                     consistency_level="Strong")
    if not rows or "generation" not in rows[0]:
        return None
    return Live(str(rows[0]["target"]), int(rows[0]["generation"]), str(rows[0]["build"]))


def publish(conn: Connection, base: str, live: Live) -> None:
    """Point the live pointer at ``live`` in one ``upsert``, then drop the other builds' collections."""
    pointer = base + POINTER_SUFFIX
    if conn.call("has_collection", pointer, retry=False):
        fields = {f["name"] for f in conn.call("describe_collection", pointer, retry=False)["fields"]}
        if "generation" not in fields:  # a pointer of an older layout
            conn.call("drop_collection", pointer, retry=False)
    if not conn.call("has_collection", pointer, retry=False):
        schema = MilvusClient.create_schema(auto_id=False, description="the live build of " + base)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=16)
        schema.add_field("target", DataType.VARCHAR, max_length=255)
        schema.add_field("generation", DataType.INT64)
        schema.add_field("build", DataType.VARCHAR, max_length=255)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
        params = MilvusClient.prepare_index_params()
        params.add_index("v", index_type="FLAT", metric_type="L2")
        conn.call("create_collection", pointer, schema=schema, index_params=params, consistency_level="Strong",
                  retry=False)
    conn.call("upsert", pointer, [{"key": LIVE_KEY, "target": live.collection, "generation": live.generation,
                                   "build": live.build, "v": [0.0, 0.0]}], retry=False)
    conn.call("flush", pointer, retry=False)
    if not conn.target.lite:  # for other clients of the server; the engine reads the pointer
        verb = "alter_alias" if base in conn.call("list_aliases", retry=False).get("aliases", []) else "create_alias"
        conn.call(verb, live.collection, base, retry=False)
    log.info("milvus: %s now serves %s generation %d (%s)", base, live.collection, live.generation, live.build)
    for name in conn.call("list_collections", retry=False):
        if name.startswith(base + "_b") and name != live.collection:
            conn.call("drop_collection", name, retry=False)


def live_build(settings) -> Path:
    """The build folder the live pointer names.

    Raises:
        IndexProblem: nothing built on this store yet, or the live build is not a build of
            ``settings.index_dir`` (another deployment's build, or a removed folder).
        StoreUnavailable: the server does not answer.
    """
    conn = connect(settings)
    base = settings.milvus_collection
    live = live_pointer(conn, base)
    where = f"{conn.target.shown} ({base})"
    if live is None:
        raise IndexProblem(where, "no index has been built on this store yet")
    root = Path(settings.index_dir)
    folder = root / live.build
    info = None
    if live.build.startswith("build-") and "/" not in live.build and "\\" not in live.build:
        try:
            info = json.loads((folder / FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    if not isinstance(info, dict) or (info.get("collection"), info.get("generation")) != (live.collection,
                                                                                          live.generation):
        raise IndexProblem(where, f"the live collection {live.collection!r} (generation {live.generation}, "
                                  f"{live.build!r}) belongs to no build in {root} (a collection from another build "
                                  "or deployment: give each its own RAG_MILVUS_COLLECTION)")
    return folder

"""The Milvus vector store against the FAISS one, on a real embedded Milvus server (Milvus Lite) this test starts.

Every test that needs Milvus is skipped, with the reason printed, where pymilvus or milvus-lite cannot be imported.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import killed_build
import numpy as np
import pytest

from rag.retrieval.request import QueryError
from rag.settings import store_kind
from rag.stores.base import StoreUnavailable, doc_filter, quote

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["Qui contrôle les drones autonomes ?", "budget de la commission", "What does the resolution ask?"]


def _milvus_missing() -> str | None:
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError as exc:
        return f"Milvus tests skipped: {exc} (pip install \"pymilvus<2.6\" \"milvus-lite==2.5.1\" \"setuptools<80\")"
    return None


MISSING = _milvus_missing()
if MISSING:
    print(MISSING)
needs_milvus = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


# ------------------------------------------------------------ no server needed
def test_filter_refuses_an_injection_before_building_anything():
    known = ["rapport-drones", "note-budget"]
    for bad in ['x" or 1==1', 'rapport-drones" or doc_id != "', "", 3]:
        with pytest.raises(ValueError, match="unknown document id"):
            doc_filter(["note-budget", bad], known)
    with pytest.raises(ValueError, match="at least one"):
        doc_filter([], known)
    assert doc_filter(["note-budget", "note-budget"], known) == 'doc_id in ["note-budget"]'
    assert quote('a"b\\c') == '"a\\"b\\\\c"'


def test_store_setting_is_validated():
    from rag import Settings

    assert store_kind("faiss") == "faiss" and store_kind("milvus://x.db") == "milvus"
    assert store_kind("https://in03.example.com") == "milvus"
    for bad in ("milvus", "milvus://", "qdrant://h", "FAISS"):
        with pytest.raises(ValueError, match="store must be"):
            Settings(store=bad)
    with pytest.raises(ValueError, match="milvus_collection"):
        Settings(milvus_collection="rag; drop")
    assert Settings.from_env({"RAG_STORE": "milvus://a.db"}).store == "milvus://a.db"


# ------------------------------------------------------------ on Milvus Lite
@pytest.fixture(scope="module")
def milvus_settings(tiny_settings, tmp_path_factory):
    if MISSING:
        pytest.skip(MISSING)
    from rag.stores.milvus_connection import disconnect

    folder = tmp_path_factory.mktemp("milvus")
    settings = tiny_settings.replace(store=f"milvus://{folder}/m.db", index_dir=str(folder / "index"),
                                     milvus_timeout=5.0)  # a lost server is noticed within seconds
    yield settings
    disconnect(settings)


@pytest.fixture(scope="module")
def milvus_retriever(milvus_settings):
    from rag import Retriever

    return Retriever.from_settings(milvus_settings)


def _spans(passages):
    return [(p.doc_id, p.start, p.end, p.text) for p in passages]


def _server_pids(db: str) -> list[int]:
    import psutil

    return [p.pid for p in psutil.Process().children(recursive=True)
            if p.name() == "milvus" and db in " ".join(p.cmdline())]


def _connect_when_free(settings, seconds: float = 30.0):
    """``connect``, once a killed builder's Milvus Lite server has let go of the database file: killed with its
    builder's process group, it is no child of ours to wait for, and may hold the file for a moment (seen once in a
    fresh clone: « the file has been opened by another program »)."""
    from rag.stores.milvus_connection import connect

    deadline = time.monotonic() + seconds
    while True:
        try:
            return connect(settings)
        except StoreUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _db(settings) -> str:
    from rag.stores.milvus_connection import parse_target

    return parse_target(settings.store).uri


@needs_milvus
def test_same_passages_offsets_and_answers_as_faiss(tiny_retriever, milvus_retriever):
    assert milvus_retriever.manifest["vector_store"] == "milvus"
    store = milvus_retriever.info()["store"]
    assert store["kind"] == "milvus" and store["generation"] == 1 and store["collection"].startswith("rag_b")
    assert tiny_retriever.info()["store"] == {"kind": "faiss"}
    assert (milvus_retriever.index_folder / "milvus.json").is_file()
    assert not (milvus_retriever.index_folder / "vectors.faiss").exists()
    one = tiny_retriever.documents[0].doc_id
    for q in QUESTIONS:
        for mode in ("dense", "hybrid", "keyword"):
            for docs in (None, [one]):
                a = tiny_retriever.search(q, k=5, mode=mode, docs=docs)
                b = milvus_retriever.search(q, k=5, mode=mode, docs=docs)
                assert _spans(a) == _spans(b), (q, mode, docs)
                assert np.allclose([p.score for p in a], [p.score for p in b], atol=1e-5)
        fa, fb = tiny_retriever.answer(q), milvus_retriever.answer(q)
        assert (fa.status, fa.abstained, _spans(fa.passages)) == (fb.status, fb.abstained, _spans(fb.passages))
        assert [(s.passage, s.start, s.end, s.text) for s in fa.sentences] == \
            [(s.passage, s.start, s.end, s.text) for s in fb.sentences]


@needs_milvus
def test_a_sessions_uploads_search_beside_the_milvus_index_as_beside_faiss(tiny_retriever, milvus_retriever,
                                                                           tmp_path):
    from rag.index.uploads import Collection

    path = tmp_path / "rapport.md"
    path.write_text("# Le projet Héliotrope\n\n## Financement\n\nLe projet Héliotrope de drones sous-marins est "
                    "financé à hauteur de 42 millions d'euros par la marine.\n", encoding="utf-8")
    answers = []
    for shared in (tiny_retriever, milvus_retriever):
        collection = Collection(shared)
        collection.add(path, "rapport.md")
        r = collection.retriever()
        answers.append([(a.status, [(s.text, s.start, s.end) for s in a.sentences], _spans(a.passages))
                        for a in (r.answer(q) for q in ["Combien coûte le projet Héliotrope ?", *QUESTIONS])])
    assert answers[0] == answers[1]
    assert answers[0][0][0] == "answered" and "42 millions" in answers[0][0][1][0][0]
    assert milvus_retriever.search(QUESTIONS[0], k=3)  # the shared Milvus retriever is unchanged


@needs_milvus
def test_injected_document_filter_is_refused(milvus_retriever):
    with pytest.raises(QueryError) as err:
        milvus_retriever.search("drones", docs=['x" or 1==1'])
    assert err.value.code == "unknown_docs"


@needs_milvus
def test_a_known_id_with_quotes_matches_only_itself(milvus_settings):
    from rag.stores.milvus import MilvusVectors

    settings = milvus_settings.replace(milvus_collection="quotes")
    ids = ["a", 'x" or 1==1', "a", 'x" or 1==1']
    vectors = np.eye(4, 8, dtype=np.float32)
    store = MilvusVectors.create(settings, vectors, ids, ["un", "deux", "trois", "quatre"], "test")
    rows, _ = store.search(np.ones(8, np.float32), 4, allowed=np.array([1, 3]))
    assert sorted(rows.tolist()) == [1, 3]
    assert store.where(np.array([1, 3])) == 'born <= 1 and doc_id in ["x\\" or 1==1"]'
    assert store.where(np.array([1])) == "born <= 1 and pk in [1]"
    assert np.array_equal(store.reconstruct(np.array([3, 0])), vectors[[3, 0]])


@needs_milvus
def test_build_killed_mid_insert_leaves_the_previous_collection_live(milvus_settings, milvus_retriever):
    from rag import Retriever
    from rag.stores.milvus_connection import connect, disconnect
    from rag.stores.milvus_live import live_pointer

    before = _spans(milvus_retriever.search(QUESTIONS[0], k=5))
    live = live_pointer(connect(milvus_settings), "rag")
    disconnect(milvus_settings)  # Milvus Lite serves one process per file: the builder below takes it over
    script = textwrap.dedent(f"""
        import logging, sys, numpy as np
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
        from rag import Settings
        from rag.stores.milvus import MilvusVectors
        settings = Settings.from_json({milvus_settings.to_json()!r})
        rng = np.random.default_rng(0)
        MilvusVectors.create(settings, rng.standard_normal((40_000, 384), dtype=np.float32),
                             ["rapport-drones"] * 40_000, ["drone"] * 40_000, "killed", batch=500)
        print("FINISHED", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    # A builder that never reports an insert is killed after 120 s: its output ends, and the check below fails.
    watchdog = threading.Timer(120, lambda: proc.poll() is None and os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "inserted" in line:
                break
        assert any("inserted 500/40000" in x for x in lines), lines
        os.killpg(proc.pid, signal.SIGKILL)  # the builder and its Milvus server, mid-insert
        proc.wait(timeout=30)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    conn = _connect_when_free(milvus_settings)
    half = [n for n in conn.call("list_collections") if n.startswith("rag_b") and n != live.collection]
    assert half, "the killed build left no collection: it was not killed mid-insert"
    assert live_pointer(conn, "rag") == live
    again = Retriever.from_settings(milvus_settings)
    assert again.index_folder == milvus_retriever.index_folder
    assert _spans(again.search(QUESTIONS[0], k=5)) == before
    assert _spans(milvus_retriever.search(QUESTIONS[0], k=5)) == before  # the loaded one reconnects


@needs_milvus
def test_update_killed_after_inserting_leaves_the_previous_generation_live(tmp_path, milvus_settings):
    """A real SIGKILL of an incremental build once its rows are inserted and flushed, before its folder exists."""
    from corpora import write_corpus

    from rag import Retriever, build_index
    from rag.stores.milvus_connection import connect, disconnect
    from rag.stores.milvus_live import live_pointer

    corpus = write_corpus(tmp_path / "corpus")
    settings = milvus_settings.replace(corpus_dir=str(corpus), index_dir=str(tmp_path / "index"),
                                       milvus_collection="killed_update")
    build_index(settings)
    before = Retriever.from_settings(settings)
    answers = [_spans(before.search(q, k=5)) for q in QUESTIONS]
    live = live_pointer(connect(settings), "killed_update")
    (corpus / "satellites.md").write_text("# Satellites\n\nLes satellites en orbite basse servent au "
                                          "renseignement militaire.\n", encoding="utf-8")
    disconnect(settings)  # Milvus Lite serves one process per file: the builder below takes it over
    # killed after its rows are inserted and flushed, before its folder is renamed
    code, output = killed_build.run("manifest-written", settings, incremental=True)
    assert code == -9 and "KILLED" in output, (code, output[-2000:])
    conn = _connect_when_free(settings)
    assert _pks_of(conn, live.collection, "born == 2"), "the killed update had inserted nothing"
    assert live_pointer(conn, "killed_update") == live
    assert [_spans(before.search(q, k=5)) for q in QUESTIONS] == answers  # the loaded build reconnects
    again = Retriever.from_settings(settings)  # finishes the update, after deleting the killed one's rows
    assert again.index.vectors.generation == 2 and "satellites" in {d.doc_id for d in again.documents}
    assert _pks_of(conn, live.collection, "pk >= 0") == sorted(again.index.vectors.pks.tolist())


@needs_milvus
def test_server_restarted_between_two_questions(milvus_retriever, caplog):
    import psutil

    before = _spans(milvus_retriever.search(QUESTIONS[1], k=5, mode="dense"))
    pids = _server_pids(_db(milvus_retriever.settings))
    assert pids, "no Milvus Lite server runs under this process"
    for pid in pids:
        psutil.Process(pid).kill()
        psutil.Process(pid).wait(timeout=30)
    with caplog.at_level(logging.INFO, logger="rag"):
        after = _spans(milvus_retriever.search(QUESTIONS[1], k=5, mode="dense"))
    assert after == before
    assert "reconnecting" in caplog.text and "reconnected" in caplog.text
    assert _server_pids(_db(milvus_retriever.settings)) != pids


@needs_milvus
def test_server_killed_mid_insert_fails_the_build_loudly(milvus_settings, milvus_retriever):
    import psutil

    from rag.stores.milvus import MilvusVectors

    class KillOnFirstBatch(logging.Handler):
        def emit(self, record):
            if "inserted" in record.getMessage():
                for pid in _server_pids(_db(milvus_settings)):
                    psutil.Process(pid).kill()
                    psutil.Process(pid).wait(timeout=30)

    handler = KillOnFirstBatch(logging.INFO)
    logger = logging.getLogger("rag")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with pytest.raises(StoreUnavailable, match="insert"):
            MilvusVectors.create(milvus_settings, np.eye(50, 384, dtype=np.float32), ["rapport-drones"] * 50,
                                 ["drone"] * 50, "killed", batch=10)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    assert milvus_retriever.search(QUESTIONS[0], k=3)  # reconnects: the previous collection still answers


@needs_milvus
def test_unreachable_server_is_an_error_not_a_fallback(milvus_settings, milvus_retriever):
    from rag import Retriever

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bad = milvus_settings.replace(store=f"milvus://127.0.0.1:{port}", milvus_timeout=2.0)
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port}.*does not answer"):
        Retriever.from_settings(bad)
    assert milvus_retriever.search(QUESTIONS[0], k=3)


@needs_milvus
def test_collection_of_another_build_embedder_or_dimension_is_refused(milvus_settings, milvus_retriever):
    from rag.index.folder import load_index
    from rag.stores.base import IndexProblem
    from rag.stores.milvus import MilvusVectors
    from rag.stores.milvus_connection import connect
    from rag.stores.milvus_live import Live, live_pointer, publish

    data = milvus_retriever.index
    doc_ids = [c.doc_id for c in data.chunks]
    with pytest.raises(IndexProblem, match="embedder 'bundled:"):
        MilvusVectors.open(milvus_settings, data.folder, {**data.manifest, "embedder": "other"}, doc_ids)
    with pytest.raises(IndexProblem, match="dimension mismatch: the collection holds 384-d"):
        MilvusVectors.open(milvus_settings, data.folder, {**data.manifest, "dim": 768}, doc_ids)
    with pytest.raises(ValueError, match="dimension 8"):
        data.vectors.search(np.ones(8, np.float32), 3)
    # another build's collection made live on the same store under the same name: refused by name
    conn = connect(milvus_settings)
    live = live_pointer(conn, "rag")
    other = MilvusVectors.create(milvus_settings, np.eye(len(doc_ids), 384, dtype=np.float32), doc_ids,
                                 [""] * len(doc_ids), data.manifest["embedder"])
    try:
        conn.call("upsert", "rag_live", [{"key": "live", "target": other.collection, "generation": 1,
                                          "build": data.folder.name, "v": [0.0, 0.0]}])
        with pytest.raises(IndexProblem, match="belongs to no build"):
            load_index(milvus_settings)
        conn.call("upsert", "rag_live", [{"key": "live", "target": live.collection, "generation": 1,
                                          "build": "../elsewhere", "v": [0.0, 0.0]}])
        with pytest.raises(IndexProblem, match="belongs to no build"):
            load_index(milvus_settings)
        assert milvus_retriever.search(QUESTIONS[0], k=3)  # the loaded build still answers from its collection
    finally:
        publish(conn, "rag", Live(live.collection, live.generation, live.build))
    assert load_index(milvus_settings).folder == data.folder


@needs_milvus
def test_update_writes_only_new_rows_and_deletes_replaced_ones_once_live(milvus_settings):
    from rag.stores.milvus import MilvusVectors
    from rag.stores.milvus_connection import connect

    settings = milvus_settings.replace(milvus_collection="incremental")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    first = MilvusVectors.create(settings, x[:4], ["a", "a", "b", "b"], ["t"] * 4, "test")
    # b is removed, c added (two rows), a kept: a's rows keep their keys, only c's are written
    second = first.update(np.array([0, 1, -1, -1]), x[4:], ["a", "a", "c", "c"], ["u", "v"])
    assert second.collection == first.collection and second.generation == 2
    assert second.pks.tolist() == [0, 1, 4, 5] and second.dead == [2, 3]
    conn = connect(settings)
    born = {r["pk"]: r["born"] for r in conn.call("query", first.collection, filter="pk >= 0",
                                                 output_fields=["born"])}
    assert born == {0: 1, 1: 1, 2: 1, 3: 1, 4: 2, 5: 2}
    # before it is live, each generation sees its own rows only
    assert sorted(first.search(x[4], 6)[0].tolist()) == [0, 1, 2, 3]
    assert sorted(second.search(x[4], 6)[0].tolist()) == [0, 1, 2, 3]  # rows, not keys: a, a, c, c
    assert second.search(x[5], 1)[0].tolist() == [3]
    assert np.array_equal(second.reconstruct(np.array([3, 0])), x[[5, 0]])
    second.folder = "build-test"
    second.publish()
    keys = sorted(r["pk"] for r in conn.call("query", first.collection, filter="pk >= 0", output_fields=["pk"]))
    assert keys == [0, 1, 4, 5]  # b's rows deleted, nothing else touched
    with pytest.raises(ValueError, match=r"shape \(1, 3\) for 1 new rows, collection .* holds 8-d"):
        second.update(np.array([0, -1]), np.ones((1, 3)), ["a", "d"], ["w"])


def _pks_of(conn, collection: str, where: str) -> list[int]:
    return sorted(int(r["pk"]) for r in conn.call("query", collection, filter=where, output_fields=["pk"]))


@needs_milvus
def test_incremental_build_on_milvus_touches_only_changed_documents(tmp_path, milvus_settings, monkeypatch):
    from corpora import TINY, write_corpus

    from rag import Retriever, build_index
    from rag.index.folder import load_index
    from rag.stores.milvus_connection import connect

    corpus = write_corpus(tmp_path / "corpus")
    settings = milvus_settings.replace(corpus_dir=str(corpus), index_dir=str(tmp_path / "index"),
                                       milvus_collection="upd")
    build_index(settings)
    before = load_index(settings)
    conn = connect(settings)
    name = before.vectors.collection
    drones = [i for i, c in enumerate(before.chunks) if c.doc_id == "rapport-drones"]
    (corpus / "note-budget.txt").write_text(TINY["note-budget.txt"].replace("1,5 milliard", "2 milliards"),
                                            encoding="utf-8")
    (corpus / "resolution-test.md").unlink()
    (corpus / "satellites.md").write_text("# Satellites\n\nLes satellites en orbite basse servent au "
                                          "renseignement militaire.\n", encoding="utf-8")
    # an update that fails after its rows are inserted (a crash before its build is written) changes nothing
    import rag.index.folder

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(rag.index.folder, "_fsync_tree", crash)
    with pytest.raises(OSError, match="disk full"):
        build_index(settings, incremental=True)
    monkeypatch.undo()
    assert _pks_of(conn, name, "born == 2"), "the failed update inserted nothing: it did not fail after inserting"
    kept = load_index(settings, check_corpus=False)
    assert kept.folder == before.folder and len(kept.vectors) == len(before.chunks)

    build_index(settings, incremental=True)
    after = load_index(settings)
    assert after.vectors.collection == name and after.vectors.generation == 2
    new_rows = [i for i, c in enumerate(after.chunks) if c.doc_id in ("note-budget", "satellites")]
    assert _pks_of(conn, name, "born == 2") == sorted(after.vectors.pks[new_rows].tolist())  # the failed try's
    # rows are gone, and only the changed and added documents' rows were written
    assert [after.vectors.pks[i] for i, c in enumerate(after.chunks) if c.doc_id == "rapport-drones"] == \
        before.vectors.pks[drones].tolist()  # untouched rows keep their keys
    assert _pks_of(conn, name, 'doc_id in ["resolution-test"]') == []
    assert _pks_of(conn, name, "pk >= 0") == sorted(after.vectors.pks.tolist())  # replaced rows deleted
    # the same ranking, scores and vocabulary as a full build of the new corpus
    full = settings.replace(index_dir=str(tmp_path / "full"), milvus_collection="full")
    build_index(full)
    updated, fresh = Retriever.from_settings(settings), Retriever.from_settings(full)
    assert updated.index.keyword.vocabulary == fresh.index.keyword.vocabulary
    for q in QUESTIONS + ["satellites en orbite basse", "2 milliards d'euros"]:
        for mode in ("hybrid", "keyword"):
            a, b = updated.search(q, k=5, mode=mode), fresh.search(q, k=5, mode=mode)
            assert _spans(a) == _spans(b), (q, mode)
            assert np.allclose([p.score for p in a], [p.score for p in b], atol=1e-5), (q, mode)
    # a removal alone embeds and inserts nothing: it deletes that document's rows
    (corpus / "satellites.md").unlink()
    build_index(settings, incremental=True)
    last = load_index(settings)
    assert last.vectors.generation == 3 and _pks_of(conn, name, "born == 3") == []
    assert _pks_of(conn, name, 'doc_id in ["satellites"]') == []
    assert _pks_of(conn, name, "pk >= 0") == sorted(last.vectors.pks.tolist())
    orbit = last.keyword.analyze("orbite")[0]  # a word of the satellites document alone
    assert orbit in after.keyword.vocabulary and orbit not in last.keyword.vocabulary


@needs_milvus
def test_scale_bench_runs_and_prints_its_table(tmp_path, capsys):
    """``python -m eval.bench --scale`` at a toy size: every store's row, recall 1 for the exact ones."""
    from eval.bench_scale import main

    out = tmp_path / "scale.json"
    assert main(["--sizes", "400", "--queries", "5", "--skip-real", "--nprobe", "4,400", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["sizes"]
    stores = [r["store"] for r in rows]
    assert stores.count("FAISS ivf") == 2 and "FAISS flat" in stores and "Milvus Lite" in stores
    exact = [r for r in rows if r["store"] in ("FAISS flat", "Milvus Lite") or r["params"].endswith("nprobe=400")]
    assert all(r["recall@10"] == 1.0 for r in exact), exact
    assert "| Milvus Lite (FLAT" in capsys.readouterr().out


@needs_milvus
def test_rows_left_by_a_cut_publication_stay_hidden_and_the_next_update_deletes_them(milvus_settings, monkeypatch,
                                                                                     caplog):
    from rag.stores.milvus import MilvusVectors
    from rag.stores.milvus_connection import connect
    from rag.stores.milvus_live import live_pointer

    settings = milvus_settings.replace(milvus_collection="cut")
    x = np.eye(5, 8, dtype=np.float32)
    first = MilvusVectors.create(settings, x[:4], ["a", "a", "b", "b"], ["t"] * 4, "test")
    first.folder = "build-1"
    first.publish()
    second = first.update(np.array([0, 1, -1]), x[4:], ["a", "a", "c"], ["u"])  # b replaced by c
    second.folder = "build-2"

    def lost(self, pks):
        if pks:
            raise StoreUnavailable("milvus://test", "does not answer")

    monkeypatch.setattr(MilvusVectors, "_delete", lost)
    with caplog.at_level(logging.WARNING, logger="rag"):
        second.publish()
    assert "2 replaced rows" in caplog.text and "not deleted yet" in caplog.text
    monkeypatch.undo()
    conn = connect(settings)
    assert live_pointer(conn, "cut").generation == 2
    assert _pks_of(conn, first.collection, "pk >= 0") == [0, 1, 2, 3, 4]  # b's rows are still there...
    assert sorted(second.search(x[2], 10)[0].tolist()) == [0, 1, 2] and second.count() == 3  # ...but not seen
    third = second.update(np.array([0, 1, 2]), np.zeros((0, 8), np.float32), ["a", "a", "c"], [])
    assert _pks_of(conn, first.collection, "pk >= 0") == [0, 1, 4] and third.dead == []

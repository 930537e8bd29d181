"""Exact cosine search: equal to brute force, batching does not change answers, the similarity-matrix path."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from df2kit.errors import ConfigError, FormatError
from df2kit.search import (
    GalleryIndex,
    entries_from_search,
    faiss_available,
    retrieval_entries,
    search_similarity,
    write_retrieval_results,
)


def brute_force(q, g, k):
    qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
    gn = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-30)
    s = qn.astype(np.float64) @ gn.astype(np.float64).T
    idx = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(s, idx, axis=1)


def _index(rng, n, d, **kw):
    return GalleryIndex(rng.normal(size=(n, d)), np.arange(n) // 3, rng.uniform(0, 100, size=(n, 4)), **kw)


@pytest.mark.parametrize(("nq", "ng", "d", "k"), [(37, 500, 16, 20), (5, 20, 8, 20), (64, 3000, 64, 7), (3, 10, 4, 1)])
@pytest.mark.parametrize("batch_bytes", [256 * 2**20, 20_000])  # one block, and many small ones
def test_numpy_search_equals_brute_force(nq, ng, d, k, batch_bytes):
    rng = np.random.default_rng(nq + ng)
    index = _index(rng, ng, d, backend="numpy", max_batch_bytes=batch_bytes)
    q = rng.normal(size=(nq, d))
    found = index.search(q, k=k)
    idx, sc = brute_force(q, index.embeddings, min(k, ng))
    assert found.indices.shape == (nq, min(k, ng)) and found.indices.dtype == np.int64
    np.testing.assert_array_equal(found.indices, idx)
    np.testing.assert_allclose(found.scores, sc, atol=1e-5)
    assert (np.diff(found.scores, axis=1) <= 0).all()


def test_ties_go_to_the_lower_gallery_row_even_across_the_k_boundary():
    g = np.array([[1, 0], [0, 1], [1, 0], [1, 0], [2, 0], [0, 1]], dtype=float)  # rows 0, 2, 3, 4 identical
    index = GalleryIndex(g, np.arange(6), np.zeros((6, 4)), backend="numpy")
    assert index.search([[1, 0]], k=3).indices.tolist() == [[0, 2, 3]]
    assert index.search([[0, 5]], k=3).indices.tolist() == [[1, 5, 0]]
    s = np.array([[0.5, 0.9, 0.5, 0.5, 0.9, 0.1]])
    assert search_similarity(s, k=3).indices.tolist() == [[1, 4, 0]]


def test_zero_embedding_scores_zero_and_bad_values_are_errors():
    index = GalleryIndex([[1.0, 0.0], [0.0, 0.0], [-1.0, 0.0]], [1, 2, 3], np.zeros((3, 4)))
    found = index.search([[1.0, 0.0], [0.0, 0.0]], k=3)
    assert found.indices.tolist() == [[0, 1, 2], [0, 1, 2]]
    np.testing.assert_allclose(found.scores, [[1, 0, -1], [0, 0, 0]])
    with pytest.raises(FormatError, match="row 1 holds NaN"):
        GalleryIndex([[1.0, 0.0], [np.nan, 0.0]], [1, 2], np.zeros((2, 4)))
    with pytest.raises(FormatError, match="query_embeddings"):
        index.search(np.ones((2, 3)))
    with pytest.raises(FormatError, match="image_ids"):
        GalleryIndex(np.ones((3, 2)), [1, 2], np.zeros((3, 4)))
    with pytest.raises(FormatError, match="boxes_xyxy"):
        GalleryIndex(np.ones((3, 2)), [1, 2, 3], np.zeros((3, 5)))
    with pytest.raises(ConfigError, match="backend"):
        GalleryIndex(np.ones((3, 2)), [1, 2, 3], np.zeros((3, 4)), backend="annoy")
    with pytest.raises(ConfigError, match="k"):
        index.search([[1.0, 0.0]], k=0)
    with pytest.raises(FormatError, match="row 0, column 1 is not a finite number"):
        search_similarity(np.array([[0.0, np.inf]]))


def test_similarity_matrix_path_matches_the_embedding_path_and_reads_a_memory_map(tmp_path):
    rng = np.random.default_rng(5)
    index = _index(rng, 400, 32, backend="numpy")
    q = rng.normal(size=(50, 32))
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    sim = (qn.astype(np.float32) @ index.embeddings.T).astype(np.float32)
    np.save(tmp_path / "s.npy", sim)
    mm = np.load(tmp_path / "s.npy", mmap_mode="r")
    a = search_similarity(mm, k=20, max_batch_bytes=40_000)
    b = index.search(q, k=20)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)


@pytest.mark.skipif(not faiss_available(), reason="faiss not installed")
def test_faiss_backend_equals_numpy():
    rng = np.random.default_rng(9)
    g, q = rng.normal(size=(2000, 32)), rng.normal(size=(40, 32))
    fa = GalleryIndex(g, np.arange(2000), np.zeros((2000, 4)), backend="faiss")
    nu = GalleryIndex(g, np.arange(2000), np.zeros((2000, 4)), backend="numpy")
    np.testing.assert_allclose(fa.embeddings, nu.embeddings, atol=1e-6)
    assert (len(fa), fa.dim) == (2000, 32)
    a, b = fa.search(q, k=20), nu.search(q, k=20)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)


def test_auto_backend_uses_numpy_for_small_galleries():
    assert GalleryIndex(np.ones((3, 2)), [1, 2, 3], np.zeros((3, 4))).backend == "numpy"


def test_entries_carry_the_gallery_items_in_rank_order(tmp_path):
    g_emb = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    index = GalleryIndex(g_emb, [10, 11, 11], [[0, 0, 5, 5], [1, 1, 6, 6], [2, 2, 7, 7]])
    entries = retrieval_entries(index, [[0.0, 1.0], [1.0, 0.1]], [1, 2], [[0, 0, 9, 9], [1, 2, 3, 4]], [3, 4],
                                [0.9, 0.25], k=2)
    assert entries == [
        {"query_image_id": 1, "query_bbox": [0.0, 0.0, 9.0, 9.0], "query_cls": 3, "query_score": 0.9,
         "gallery_image_id": [11, 11], "gallery_bbox": [[2.0, 2.0, 7.0, 7.0], [1.0, 1.0, 6.0, 6.0]]},
        {"query_image_id": 2, "query_bbox": [1.0, 2.0, 3.0, 4.0], "query_cls": 4, "query_score": 0.25,
         "gallery_image_id": [10, 11], "gallery_bbox": [[0.0, 0.0, 5.0, 5.0], [1.0, 1.0, 6.0, 6.0]]},
    ]
    write_retrieval_results(tmp_path / "r.json", entries)
    assert orjson.loads((tmp_path / "r.json").read_bytes()) == entries
    found = index.search([[1.0, 0.0]], k=2)
    with pytest.raises(FormatError, match="query_categories"):
        entries_from_search(found, index.image_ids, index.boxes_xyxy, [1], [[0, 0, 1, 1]], [1.5], [0.5])
    with pytest.raises(FormatError, match="1..13, got 0..0"):
        entries_from_search(found, index.image_ids, index.boxes_xyxy, [1], [[0, 0, 1, 1]], [0], [0.5])
    with pytest.raises(FormatError, match="query_scores: holds NaN"):
        entries_from_search(found, index.image_ids, index.boxes_xyxy, [1], [[0, 0, 1, 1]], [2], [np.nan])


def test_massive_ties_rows_sorted_on_their_own_beside_ordinary_rows():
    rng = np.random.default_rng(2)
    s = rng.normal(size=(4, 6000)).astype(np.float32)
    s[1] = 0.25  # every column ties: far more candidates than the fast path takes
    s[3, ::2] = 9.0  # 3000 ties at the top
    found = search_similarity(s, k=5)
    assert found.indices[1].tolist() == [0, 1, 2, 3, 4]
    assert found.indices[3].tolist() == [0, 2, 4, 6, 8]
    ref = np.argsort(-s, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(found.indices, ref)
    np.testing.assert_array_equal(found.scores, np.take_along_axis(s, ref, axis=1))


@pytest.mark.parametrize("n", [41, 128, 1000, 4099])
def test_quantised_similarities_with_many_ties_equal_a_stable_argsort(n):
    rng = np.random.default_rng(n)
    s = rng.integers(0, 7, size=(30, n)).astype(np.float32)  # heavy ties everywhere, also at the k-th value
    for k in (1, 5, 20):
        ref = np.argsort(-s, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(search_similarity(s, k=k, max_batch_bytes=50_000).indices, ref)


@pytest.mark.parametrize("k", [1, 20, 150])
def test_gallery_cut_into_chunks_merges_exactly(monkeypatch, k):
    from df2kit import search

    monkeypatch.setattr(search, "_TILE_ROWS", 8)
    monkeypatch.setattr(search, "_TILE_MIN_COLS", 100)
    rng = np.random.default_rng(k)
    g = rng.normal(size=(3000, 8))
    g[2500] = g[10]  # identical items in different chunks: the lower row first
    g[1203] = g[10]
    q = np.concatenate([g[10:11] * 3, rng.normal(size=(40, 8))])
    index = GalleryIndex(g, np.arange(3000), np.zeros((3000, 4)), backend="numpy", max_batch_bytes=5 * 8 * 130)
    assert search._tiles(41, 3000, index.max_batch_bytes) == (8, 130)
    found = index.search(q, k=k)
    if k > 1:
        assert found.indices[0, :3].tolist() == [10, 1203, 2500]
    ref = np.argsort(-(_unit(q) @ index.embeddings.T.astype(np.float64)), axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(found.indices[1:], ref[1:])


def _unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32).astype(np.float64)

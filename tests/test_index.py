"""Embeddings and HNSW index: persistence, fingerprints, incremental changes, exactness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mclip_gui.core.errors import IndexMismatchError
from mclip_gui.core.index import (
    HNSW_FILE,
    PART_GLOB,
    EmbeddingSet,
    IndexParams,
    SearchIndex,
    exact_search,
)

DIM = 16
# Small HNSW so tests are quick; the exactness test uses the library defaults.
PARAMS = IndexParams(m=16, ef_construction=100, ef_search=64, exact_below=0)


def unit_vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def filled(folder: Path, n: int, params: IndexParams = PARAMS, fp: str = "fp-a") -> SearchIndex:
    index = SearchIndex.open(folder, fp, DIM, params)
    index.add(range(1, n + 1), unit_vectors(n))
    return index


def test_saved_index_loads_back_with_same_results(tmp_path: Path) -> None:
    index = filled(tmp_path, 300)
    query = unit_vectors(1, seed=9)
    expected = index.search(query, 10, exact=False)
    index.save(with_hnsw=True)

    again = SearchIndex.open(tmp_path, "fp-a", DIM, PARAMS)

    assert (tmp_path / HNSW_FILE).exists()
    assert again.hnsw is not None and len(again.hnsw) == 300
    ids, scores = again.search(query, 10, exact=False)
    assert ids.tolist() == expected[0].tolist()
    np.testing.assert_allclose(scores, expected[1], atol=1e-6)


def test_index_of_another_model_is_refused(tmp_path: Path) -> None:
    filled(tmp_path, 50).save(with_hnsw=True)

    with pytest.raises(IndexMismatchError) as caught:
        SearchIndex.open(tmp_path, "fp-b", DIM, PARAMS)

    assert "holds embeddings of model 'fp-a', not of the model in use (fp-b)" in str(caught.value)


def test_hnsw_tag_of_another_model_is_refused(tmp_path: Path) -> None:
    filled(tmp_path, 50).save(with_hnsw=True)
    other = SearchIndex.open(tmp_path / "other", "fp-b", DIM, PARAMS)
    other.add([1], unit_vectors(1))
    other.save(with_hnsw=False)
    (tmp_path / "other" / HNSW_FILE).write_bytes((tmp_path / HNSW_FILE).read_bytes())
    (tmp_path / "other" / "index.json").write_bytes((tmp_path / "index.json").read_bytes())

    with pytest.raises(IndexMismatchError):
        SearchIndex.open(tmp_path / "other", "fp-b", DIM, PARAMS)


def test_incremental_add_and_remove_survive_reload(tmp_path: Path) -> None:
    index = filled(tmp_path, 100)
    index.save(with_hnsw=True)
    extra = unit_vectors(5, seed=3)
    index.add(range(101, 106), extra)
    index.remove([7, 8, 9])
    index.save()

    again = SearchIndex.open(tmp_path, "fp-a", DIM, PARAMS)
    ids, scores = again.search(extra, 1, exact=False)
    everything, _ = again.search(unit_vectors(1, seed=4), 200, exact=False)

    assert ids[:, 0].tolist() == [101, 102, 103, 104, 105]
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    assert len(everything[0]) == 102
    assert not {7, 8, 9} & set(everything[0].tolist())


def test_removed_and_hidden_images_never_come_back(tmp_path: Path) -> None:
    index = filled(tmp_path, 60)
    vectors = index.embeddings.vectors.copy()
    index.remove([1])
    index.restrict_to(range(3, 61))

    for exact in (True, False):
        ids, _ = index.search(vectors[:3], 60, exact=exact)
        assert all(len(row) == 58 for row in ids)
        assert not {1, 2} & set(ids.ravel().tolist())


def test_hidden_image_comes_back_when_valid_again(tmp_path: Path) -> None:
    index = filled(tmp_path, 40)
    vector = index.embeddings.vector(5)
    index.search(vector, 1, exact=False)  # builds HNSW
    index.restrict_to([i for i in range(1, 41) if i != 5])
    index.restrict_to(range(1, 41))

    ids, _ = index.search(vector, 1, exact=False)

    assert ids[0].tolist() == [5]


def test_capacity_grows_by_itself(tmp_path: Path) -> None:
    index = filled(tmp_path, 10)
    index.search(unit_vectors(1), 1, exact=False)
    assert index.hnsw is not None
    start_capacity = index.hnsw.index.get_max_elements()

    index.add(range(100, 2100), unit_vectors(2000, seed=5))

    assert index.hnsw.index.get_max_elements() >= 2010 > start_capacity
    assert len(index.hnsw) == 2010


def test_k_larger_than_library_is_clamped(tmp_path: Path) -> None:
    index = filled(tmp_path, 7)

    for exact in (True, False):
        ids, scores = index.search(unit_vectors(2, seed=1), 1000, exact=exact)
        assert ids.shape == (2, 7) and scores.shape == (2, 7)
        assert np.all(np.diff(scores, axis=1) <= 1e-6)


def test_empty_index_returns_nothing(tmp_path: Path) -> None:
    index = SearchIndex.open(tmp_path, "fp-a", DIM, PARAMS)

    ids, scores = index.search(unit_vectors(1), 5)

    assert ids.shape == (1, 0) and scores.shape == (1, 0)


def test_hnsw_with_default_settings_agrees_with_exact_search(tmp_path: Path) -> None:
    defaults = IndexParams()
    vectors = unit_vectors(4000, seed=11, dim=64)
    queries = unit_vectors(50, seed=12, dim=64)
    index = SearchIndex.open(tmp_path, "fp", 64, defaults)
    index.add(range(4000), vectors)

    exact_ids, exact_scores = index.search(queries, 20, exact=True)
    hnsw_ids, hnsw_scores = index.search(queries, 20, exact=False)

    recall = np.mean([len(set(a) & set(b)) / 20 for a, b in zip(exact_ids, hnsw_ids, strict=True)])
    assert recall >= 0.99
    np.testing.assert_allclose(hnsw_scores[:, 0], exact_scores[:, 0], atol=1e-5)


def test_exact_search_orders_best_first() -> None:
    vectors = np.eye(4, dtype=np.float32)
    query = np.array([[0.1, 0.9, 0.3, 0.0]], dtype=np.float32)

    ids, scores = exact_search(vectors, np.array([10, 11, 12, 13]), query, 3)

    assert ids.tolist() == [[11, 12, 10]]
    np.testing.assert_allclose(scores, [[0.9, 0.3, 0.1]], atol=1e-6)


def test_parts_keep_work_until_saved(tmp_path: Path) -> None:
    embeddings = EmbeddingSet.open(tmp_path, "fp-a", DIM)
    embeddings.add([1, 2], unit_vectors(2))
    embeddings.flush_part()
    embeddings.add([3], unit_vectors(1, seed=2))
    embeddings.flush_part()

    reopened = EmbeddingSet.open(tmp_path, "fp-a", DIM)
    assert reopened.ids.tolist() == [1, 2, 3]
    assert len(list(tmp_path.glob(PART_GLOB))) == 2

    reopened.save()
    assert list(tmp_path.glob(PART_GLOB)) == []
    assert EmbeddingSet.open(tmp_path, "fp-a", DIM).ids.tolist() == [1, 2, 3]


def test_adding_a_known_image_replaces_its_vector(tmp_path: Path) -> None:
    embeddings = EmbeddingSet.open(tmp_path, "fp-a", DIM)
    first, second = unit_vectors(2)
    embeddings.add([4], first[None])
    embeddings.add([4], second[None])

    assert len(embeddings) == 1
    np.testing.assert_allclose(embeddings.vector(4), second)


def test_wrong_dimension_is_refused(tmp_path: Path) -> None:
    embeddings = EmbeddingSet.open(tmp_path, "fp-a", DIM)
    embeddings.add([1], unit_vectors(1))
    embeddings.save()

    with pytest.raises(IndexMismatchError, match="16-dimensional embeddings, the model makes 32"):
        EmbeddingSet.open(tmp_path, "fp-a", 32)

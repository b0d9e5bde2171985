"""The retrieval metrics agree with torchmetrics on the same rankings, edge cases included."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchmetrics.functional.retrieval import (
    retrieval_average_precision,
    retrieval_normalized_dcg,
    retrieval_recall,
    retrieval_reciprocal_rank,
)

from mclip_gui.core.metrics import metric_names, rank, retrieval_metrics


def torchmetrics_reference(
    scores: np.ndarray, relevant: np.ndarray, own: np.ndarray, k: int
) -> dict[str, float]:
    """Means of torchmetrics' per-query functions on our ranking (strictly decreasing preds)."""
    n = scores.shape[1]
    order = rank(scores, n)
    values: dict[str, list[float]] = {name: [] for name in metric_names(k)}
    for q in range(scores.shape[0]):
        # preds from the ranking: positive (torchmetrics treats preds <= 0 as not retrieved)
        # and without ties, so both sides rank identically.
        preds = torch.zeros(n, dtype=torch.float64)
        preds[torch.from_numpy(order[q])] = torch.arange(n, 0, -1, dtype=torch.float64)
        target = torch.from_numpy(relevant[q])
        values["mRR"].append(float(retrieval_reciprocal_rank(preds, target, top_k=k)))
        values["mAP"].append(float(retrieval_average_precision(preds, target, top_k=k)))
        ndcg = float(retrieval_normalized_dcg(preds, target, top_k=k))
        values["NDCG"].append(ndcg)
        n_rel = int(target.sum())
        ideal = sum(1 / math.log2(i + 2) for i in range(min(n_rel, k)))
        values["DCG"].append(ndcg * ideal)
        values[f"Hits@{k}"].append(float(own[q] in order[q, :k]))
        for r in (1, 5, 10):
            values[f"Recall@{r}"].append(float(retrieval_recall(preds, target, top_k=r)))
    return {name: float(np.mean(v)) for name, v in values.items()}


def assert_same(ours: dict[str, float], reference: dict[str, float]) -> None:
    assert list(ours) == list(reference)
    for name in ours:
        assert ours[name] == pytest.approx(reference[name], abs=1e-6), name


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("queries", "candidates", "k"), [(30, 50, 20), (12, 8, 20), (5, 40, 3)])
def test_metrics_match_torchmetrics_on_random_rankings(
    seed: int, queries: int, candidates: int, k: int
) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(queries, candidates))
    own = rng.integers(0, candidates, size=queries)
    relevant = rng.random((queries, candidates)) < 0.08
    relevant[np.arange(queries), own] = True

    assert_same(
        retrieval_metrics(scores, relevant, own, k),
        torchmetrics_reference(scores, relevant, own, k),
    )


def test_query_without_relevant_image_scores_zero() -> None:
    scores = np.array([[0.9, 0.5, 0.1], [0.2, 0.8, 0.4]])
    relevant = np.array([[False, False, False], [False, True, False]])
    own = np.array([0, 1])

    result = retrieval_metrics(scores, relevant, own, k=20)

    assert_same(result, torchmetrics_reference(scores, relevant, own, 20))
    assert result["mRR"] == pytest.approx(0.5)
    assert result["Recall@1"] == pytest.approx(0.5)


def test_ties_keep_candidate_order_and_match_torchmetrics_where_tied_items_agree() -> None:
    # Candidates 0 and 1 tie; 2 and 3 tie. Stable ranking: 0, 1, 2, 3.
    scores = np.array([[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2]])
    relevant = np.array([[False, True, True, True], [True, True, False, False]])
    own = np.array([1, 0])

    result = retrieval_metrics(scores, relevant, own, k=2)

    assert_same(result, torchmetrics_reference(scores, relevant, own, 2))
    assert result["mRR"] == pytest.approx((1 / 2 + 1) / 2)
    # The second query's tied pair is all relevant: torchmetrics' tie-averaged NDCG on the raw
    # scores gives the same number as our ranking.
    raw = float(
        retrieval_normalized_dcg(torch.tensor(scores[1]), torch.tensor(relevant[1]), top_k=2)
    )
    per_query_second = retrieval_metrics(scores[1:], relevant[1:], own[1:], k=2)["NDCG"]
    assert per_query_second == pytest.approx(raw)


def test_fewer_candidates_than_k() -> None:
    scores = np.array([[0.1, 0.3, 0.2]])
    relevant = np.array([[True, False, True]])
    own = np.array([0])

    result = retrieval_metrics(scores, relevant, own, k=20)

    assert_same(result, torchmetrics_reference(scores, relevant, own, 20))
    assert result["Hits@20"] == 1.0
    assert result["mAP"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert result["Recall@10"] == 1.0


def test_duplicate_captions_make_several_images_relevant() -> None:
    # Query 0 has two relevant images (same caption); its own image is ranked second.
    scores = np.array([[0.9, 0.8, 0.1]])
    relevant = np.array([[True, True, False]])
    own = np.array([1])

    result = retrieval_metrics(scores, relevant, own, k=1)

    assert result["mRR"] == 1.0
    assert result["Hits@1"] == 0.0
    assert result["Recall@1"] == 0.5
    assert result["NDCG"] == 1.0


def test_empty_input_and_bad_arguments() -> None:
    empty = retrieval_metrics(np.zeros((0, 4)), np.zeros((0, 4), bool), np.zeros(0, int), k=5)
    assert empty == dict.fromkeys(metric_names(5), 0.0)
    with pytest.raises(ValueError, match="top_k must be at least 1, not 0"):
        retrieval_metrics(np.zeros((1, 2)), np.zeros((1, 2), bool), np.zeros(1, int), k=0)
    with pytest.raises(ValueError, match=r"must be \[q, n\]"):
        retrieval_metrics(np.zeros((1, 2)), np.zeros((1, 3), bool), np.zeros(1, int), k=1)

"""Text-to-image retrieval metrics at top_k, computed from similarity scores.

Each query row ranks all candidates by score (descending; ties keep candidate order, so the
ranking is reproducible). `relevant[q, c]` says whether candidate c is relevant to query q
(in this app: its caption equals the query text, so duplicate captions count), `own[q]` is the
index of the image the query was written for. Definitions (also in docs/metrics.md):

- mRR@k: mean of 1/rank of the first relevant candidate in the top k (0 when none is there).
- mAP@k: mean over queries of the precision at each relevant position in the top k, averaged
  over the relevant candidates *found in the top k* (torchmetrics' convention; 0 when none).
- DCG@k: sum over the top k of rel_i / log2(i + 1), binary relevance, i the 1-based rank.
- NDCG@k: DCG@k divided by the DCG@k of the ideal ranking (0 when nothing is relevant).
- Hits@k: share of queries whose own image is in the top k.
- Recall@n: relevant candidates in the top n divided by all relevant candidates (0 when none).

These match torchmetrics' retrieval_* functions on the same ranking; see tests/test_metrics.py.
"""

from __future__ import annotations

import numpy as np

RECALL_AT = (1, 5, 10)
METRIC_ORDER = ("mRR", "mAP", "DCG", "NDCG", "Hits@{k}", "Recall@1", "Recall@5", "Recall@10")


def metric_names(k: int = 20) -> list[str]:
    """Names of the metrics in table order, for top_k `k`."""
    return [name.format(k=k) for name in METRIC_ORDER]


def rank(scores: np.ndarray, depth: int) -> np.ndarray:
    """Candidate indices of the best `depth` candidates of each query, best first (stable)."""
    depth = min(depth, scores.shape[1])
    return np.argsort(-scores, axis=1, kind="stable")[:, :depth]


def retrieval_metrics(
    scores: np.ndarray, relevant: np.ndarray, own: np.ndarray, k: int = 20
) -> dict[str, float]:
    """Mean retrieval metrics over all queries (see the module docstring); empty input gives 0s."""
    scores = np.asarray(scores, dtype=np.float64)
    relevant = np.asarray(relevant, dtype=bool)
    if k < 1:
        raise ValueError(f"top_k must be at least 1, not {k}")
    if scores.shape != relevant.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and relevant {relevant.shape} must be [q, n]")
    if scores.shape[0] == 0 or scores.shape[1] == 0:
        return dict.fromkeys(metric_names(k), 0.0)
    order = rank(scores, max(k, *RECALL_AT))
    ranked = np.take_along_axis(relevant, order, axis=1)
    per_query = per_query_metrics(ranked, relevant.sum(axis=1), order, np.asarray(own), k)
    return {name: float(values.mean()) for name, values in per_query.items()}


def per_query_metrics(
    ranked: np.ndarray, n_relevant: np.ndarray, order: np.ndarray, own: np.ndarray, k: int
) -> dict[str, np.ndarray]:
    """Per-query metric arrays from the relevance of the ranked list (`ranked[q, i]`)."""
    top = ranked[:, :k].astype(np.float64)
    positions = np.arange(1, top.shape[1] + 1, dtype=np.float64)
    found = top.sum(axis=1)

    first = np.where(found > 0, top.argmax(axis=1) + 1, np.inf)
    mrr = np.where(found > 0, 1.0 / first, 0.0)

    precision_at = np.cumsum(top, axis=1) / positions
    ap = np.divide(
        (precision_at * top).sum(axis=1), found, out=np.zeros_like(found), where=found > 0
    )

    discounts = 1.0 / np.log2(positions + 1)
    dcg = (top * discounts).sum(axis=1)
    ideal_hits = np.minimum(n_relevant, top.shape[1])
    ideal = np.cumsum(discounts)[np.maximum(ideal_hits - 1, 0)] * (ideal_hits > 0)
    ndcg = np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)

    hits = (order[:, :k] == own[:, None]).any(axis=1).astype(np.float64)
    result = {"mRR": mrr, "mAP": ap, "DCG": dcg, "NDCG": ndcg, f"Hits@{k}": hits}
    for n in RECALL_AT:
        got = ranked[:, :n].sum(axis=1).astype(np.float64)
        result[f"Recall@{n}"] = np.divide(
            got, n_relevant, out=np.zeros_like(got), where=n_relevant > 0
        )
    return result

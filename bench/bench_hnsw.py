"""HNSW at library scale: recall@k against exact search, and ms per query, with the app's index.

Vectors are synthetic L2-normalised 512-d embeddings: by default clustered like CLIP image
embeddings of a photo collection (many products of few kinds); `--data uniform` gives the
structureless worst case. The baseline, measured in the same run, is exact numpy search.

    python bench/bench_hnsw.py --n 100000
    python bench/bench_hnsw.py --n 1000000 --index-dir /tmp/hnsw-1m   # builds ~30 min, keeps it
    python bench/bench_hnsw.py --n 1000000 --index-dir /tmp/hnsw-1m --ef 32 48 64  # reuses it

The vectors are generated from fixed seeds, so a kept index matches the vectors of a later run
with the same --n, --dim and --data.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mclip_gui.core.index import HnswIndex, IndexParams, exact_search
from mclip_gui.core.settings import Settings


def make_vectors(n: int, dim: int, kind: str, seed: int, centers: np.ndarray) -> np.ndarray:
    """`n` unit vectors: around shared cluster centres (clustered) or uniform on the sphere."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 50_000):
        stop = min(n, start + 50_000)
        noise = rng.standard_normal((stop - start, dim)).astype(np.float32)
        if kind == "clustered":
            picks = centers[rng.integers(0, len(centers), stop - start)]
            # Noise of norm ~0.9 against a unit centre: cosine to the own centre about 0.75.
            block = picks + noise * (0.9 / np.sqrt(dim))
        else:
            block = noise
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def recall(truth: np.ndarray, found: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(t) & set(f)) / k for t, f in zip(truth, found, strict=True)]))


def timed_ms(fn: object, queries: np.ndarray) -> tuple[np.ndarray, float]:
    """Run `fn(query[None])` per query (as the app does); ids and mean ms per query."""
    ids = []
    started = time.perf_counter()
    for q in queries:
        ids.append(fn(q[None, :])[0][0])  # type: ignore[operator]
    return np.array(ids), (time.perf_counter() - started) * 1000 / len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--data", choices=("clustered", "uniform"), default="clustered")
    parser.add_argument("--threads", type=int, default=2, help="threads for building")
    parser.add_argument("--ef", type=int, nargs="*", default=[64, 128, 256])
    parser.add_argument(
        "--index-dir", type=Path, help="keep the built index here; reuse it when already there"
    )
    args = parser.parse_args()

    defaults = Settings()
    params = IndexParams(
        m=defaults.hnsw_m,
        ef_construction=defaults.hnsw_ef_construction,
        ef_search=defaults.hnsw_ef_search,
    )
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((max(50, args.n // 200), args.dim)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    vectors = make_vectors(args.n, args.dim, args.data, 1, centers)
    queries = make_vectors(args.queries, args.dim, args.data, 2, centers)
    ids = np.arange(args.n, dtype=np.int64)
    print(f"{args.n:,} x {args.dim} {args.data} vectors, {args.queries} queries, k={args.k}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    print(f"HNSW M={params.m} ef_construction={params.ef_construction}")

    # Baseline: exact search (numpy matmul), one query at a time like the app.
    truth, exact_ms = timed_ms(lambda q: exact_search(vectors, ids, q, args.k), queries)
    print(f"exact numpy search: {exact_ms:.2f} ms/query (baseline)")

    tag = f"bench-{args.n}-{args.dim}-{args.data}"
    if args.index_dir and (args.index_dir / "index.hnsw").exists():
        index = HnswIndex.load(args.index_dir, tag, args.dim, params)
        print(f"index loaded from {args.index_dir} (built by an earlier run)")
    else:
        index = build(args, params, vectors, ids, tag)
    index.index.set_num_threads(1)
    for ef in args.ef:
        index.params = IndexParams(params.m, params.ef_construction, ef)
        found, ms = timed_ms(lambda q: index.search(q, args.k), queries)
        r = recall(truth, found)
        print(
            f"ef_search={ef:4d}: recall@{args.k} {r:.4f}, {ms:.3f} ms/query, "
            f"{exact_ms / ms:.0f}x faster than exact"
            + ("  <- default" if ef == defaults.hnsw_ef_search else "")
        )
    print(f"load average {os.getloadavg()[0]:.1f} after the queries")


def build(
    args: argparse.Namespace, params: IndexParams, vectors: np.ndarray, ids: np.ndarray, tag: str
) -> HnswIndex:
    started = time.perf_counter()
    index = HnswIndex(args.dim, tag, params, capacity=args.n)
    for start in range(0, args.n, 100_000):
        stop = min(args.n, start + 100_000)
        index.index.add_items(vectors[start:stop], ids[start:stop], num_threads=args.threads)
        index.live.update(range(start, stop))
        elapsed = time.perf_counter() - started
        print(f"  built {stop:,} in {elapsed:.0f} s", flush=True)
    build_s = time.perf_counter() - started
    print(f"build: {build_s:.1f} s ({args.n / build_s:,.0f} vectors/s, {args.threads} threads)")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.index_dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        index.save(folder)
        size = (folder / "index.hnsw").stat().st_size
    print(f"index file: {size / 2**20:,.0f} MiB")
    return index


if __name__ == "__main__":
    main()

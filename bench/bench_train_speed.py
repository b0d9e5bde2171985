"""Training samples per second of the xlm-roberta-base-ViT-B-32 architecture, two modes.

Random weights (nothing can be downloaded): the Hugging Face text tower is built from a local
XLMRobertaConfig with xlm-roberta-base's sizes, the tokenizer is the real one from
../shared/models/xlm-roberta-tokenizer, the image tower is open_clip's ViT-B-32. The captions are
real product names from ../shared/data (when present), the images random pixels (their content
does not change the cost of a step).

Measured in one run, with the app's own step code (core.training.loop.Trainer._loss/_step):
- image tower locked, image embeddings cached (the app's default on CPU): only the text side runs;
- both towers (the default on GPU).
Prints samples/s of each and the ratio locked / both. Uses CUDA with mixed precision when present.

    PYTHONPATH=. .venv/bin/python bench/bench_train_speed.py [--batch-size 16] [--steps 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
TOKENIZER = SHARED / "models" / "xlm-roberta-tokenizer"
CAPTIONS = SHARED / "data" / "fashion-products" / "captions_en.tsv"


def model_folder(root: Path) -> Path:
    """open_clip's xlm-roberta-base-ViT-B-32 config, its text tower from a local HF config."""
    import open_clip
    from transformers import XLMRobertaConfig

    XLMRobertaConfig(
        vocab_size=250_002,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=1,
    ).save_pretrained(root / "text")
    cfg = open_clip.get_model_config("xlm-roberta-base-ViT-B-32")
    cfg["text_cfg"]["hf_model_name"] = "./text"
    cfg["text_cfg"]["hf_tokenizer_name"] = str(TOKENIZER)
    path = root / "xlm-roberta-base-ViT-B-32.json"
    path.write_text(json.dumps(cfg))
    return path


def captions(n: int) -> list[str]:
    if CAPTIONS.exists():
        with CAPTIONS.open(encoding="utf-8") as handle:
            rows = [row["caption_en"] for row in csv.DictReader(handle, delimiter="\t")]
        return rows[:n]
    return [f"ein Foto eines Produkts Nummer {i} in Blau" for i in range(n)]


def make_trainer(loaded: Any, mode: str, batch: int, texts: list[str]) -> Any:
    """A Trainer wired to in-memory data (no library): the real step, loss and optimizer."""
    import torch

    from mclip_gui.core.training.config import TrainSettings
    from mclip_gui.core.training.data import CaptionItem
    from mclip_gui.core.training.loop import (
        RunState,
        Trainer,
        freeze_for_mode,
        make_optimizer,
        make_scheduler,
    )

    settings = TrainSettings(learning_rate=1e-6, batch_size=batch, mode=mode)
    trainer = Trainer(None, Path("."), loaded.spec, settings, loaded=loaded)  # type: ignore[arg-type]
    trainer.model, trainer.device = loaded.model, loaded.device
    trainer.state = RunState(mode=mode, batch_size=batch)
    trainer.items = [CaptionItem(i, i, "", t) for i, t in enumerate(texts)]
    freeze_for_mode(loaded.model, mode)
    trainer.optimizer = make_optimizer(loaded.model, settings)
    trainer.scheduler = make_scheduler(trainer.optimizer, 1000, 0.0)
    trainer.scaler, trainer.amp_dtype = trainer._amp()
    trainer.loss_fn = trainer._loss_fn()
    trainer.text_cache = None
    size = loaded.preprocess_cfg.get("size", 224)
    size = size[0] if isinstance(size, (list, tuple)) else size
    pixels = torch.rand(batch, 3, size, size)
    if mode == "image_locked":
        # What the app caches once per run: the locked tower's image embeddings.
        with torch.no_grad():
            cache = loaded.model.encode_image(pixels.to(loaded.device), normalize=True)
        trainer.image_cache = cache.float().cpu().repeat(len(texts) // batch + 1, 1)
        trainer._bench_pixels = None
    else:
        trainer.image_cache = None
        trainer._bench_pixels = pixels
    return trainer


def measure(trainer: Any, batch: int, steps: int) -> float:
    """Samples per second over `steps` steps after one warm-up step."""
    import torch

    rows = list(range(batch))
    trainer._step(rows, trainer._bench_pixels)  # warm-up: allocations, kernels
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for step in range(steps):
        rows = list(range(step * batch, (step + 1) * batch))
        trainer._step(rows, trainer._bench_pixels)
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if not (TOKENIZER / "tokenizer.json").exists():
        print(f"skipped: {TOKENIZER} is absent")
        return 0
    import torch

    from mclip_gui.core.modelspec import load_model

    torch.manual_seed(0)
    texts = captions(args.batch_size * (args.steps + 1))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        config = model_folder(Path(tmp))
        for mode in ("image_locked", "both"):
            loaded = load_model(str(config), args.device)  # fresh weights and optimizer per mode
            trainer = make_trainer(loaded, mode, args.batch_size, texts)
            results[mode] = measure(trainer, args.batch_size, args.steps)
            device = loaded.device
            del trainer, loaded
    amp = " with mixed precision" if device.type == "cuda" else ", fp32"
    print(
        f"xlm-roberta-base-ViT-B-32 (random weights), batch {args.batch_size}, "
        f"{args.steps} timed steps after 1 warm-up, on {device}{amp}"
    )
    print(f"image tower locked, cached image embeddings: {results['image_locked']:.2f} samples/s")
    print(f"both towers:                                 {results['both']:.2f} samples/s")
    print(f"ratio locked / both: {results['image_locked'] / results['both']:.2f}x")
    for mode, rate in results.items():
        print(f"projected 5 epochs over 10,000 captions, {mode}: {5 * 10_000 / rate / 3600:.1f} h")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

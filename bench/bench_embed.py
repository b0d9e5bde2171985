"""Embedding throughput on the real photos with the ViT-B/32 image tower (random weights), CPU.

Three ways over the same images, measured in one run:
- the app's pipeline (`embed_library`: decode+preprocess in worker threads, batches, saves);
- a one-image-at-a-time loop (decode, preprocess, forward, one after another): the baseline;
- bare forward passes on pre-decoded tensors: the ceiling the model allows.
Peak resident memory is sampled during each.

    python bench/bench_embed.py [--limit 9583] [--threads 2] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
PHOTOS = SHARED / "data" / "fashion-products" / "images"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measured(fn: Callable[[], int]) -> tuple[float, float]:
    """Run `fn` (returns images done); images/s and peak RSS in MiB while it ran."""
    peak = [rss_mib()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], rss_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    count = fn()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return count / seconds, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=9_583, help="images for the pipeline")
    parser.add_argument("--baseline-limit", type=int, default=None, help="images for baselines")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="decode threads")
    args = parser.parse_args()

    import open_clip
    import torch

    torch.set_num_threads(args.threads)
    from mclip_gui.core.embed import embed_library
    from mclip_gui.core.images import open_image
    from mclip_gui.core.library import Library
    from mclip_gui.core.modelspec import load_model
    from mclip_gui.core.schema import Image

    config = Path(open_clip.__file__).parent / "model_configs" / "ViT-B-32.json"
    model = load_model(str(config), "cpu")
    paths = sorted(PHOTOS.glob("*.jpg"))[: args.limit]
    few = paths[: args.baseline_limit or len(paths)]
    print(f"{len(paths):,} photos for the pipeline, {len(few):,} for the baselines; ")
    print(f"ViT-B/32 random weights, CPU, {args.threads} torch threads, batch {args.batch_size}")

    def one_at_a_time() -> int:
        for path in few:
            model.encode_images(model.preprocess(open_image(path))[None])
        return len(few)

    pre = {"pixels": torch.stack([model.preprocess(open_image(p)) for p in few])}

    def bare_forward() -> int:
        pixels = pre["pixels"]
        for start in range(0, len(pixels), args.batch_size):
            model.encode_images(pixels[start : start + args.batch_size])
        return len(pixels)

    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "data")
        with library.store.session() as s:
            s.add_all(Image(path=str(p), state="ok") for p in paths)

        def pipeline() -> int:
            report = embed_library(library, model, batch_size=args.batch_size, workers=args.workers)
            assert not report.skipped, report.skipped
            return report.embedded

        base_rate, base_peak = measured(one_at_a_time)
        bare_rate, bare_peak = measured(bare_forward)
        pre.clear()  # the pipeline's peak memory should not include these
        pipe_rate, pipe_peak = measured(pipeline)
        library.close()

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    print(f"one image at a time (baseline): {base_rate:6.1f} images/s, peak {base_peak:,.0f} MiB")
    print(f"bare forward, pre-decoded:      {bare_rate:6.1f} images/s, peak {bare_peak:,.0f} MiB")
    print(f"embed_library pipeline:         {pipe_rate:6.1f} images/s, peak {pipe_peak:,.0f} MiB")
    print(
        f"pipeline vs one-at-a-time: {pipe_rate / base_rate:.2f}x; "
        f"pipeline vs bare forward: {pipe_rate / bare_rate:.2f}x"
    )


if __name__ == "__main__":
    main()

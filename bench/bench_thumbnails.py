"""Time to make every thumbnail of the real photos (../shared/data/fashion-products/images).

Run: PYTHONPATH=. python bench/bench_thumbnails.py [--compare N]

Baseline, measured in the same run: one thread making thumbnails one after another. With
`--compare N`, threads and processes (one per core) are first timed on the same N images, which
is how the default (threads) was chosen. Then all images are thumbnailed with the default, as the
app does after an import, and the time is printed against the one-minute target.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from mclip_gui.core.library import Library
from mclip_gui.core.schema import Image
from mclip_gui.core.thumbnails import make_thumbnails, thumbnail_dir

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-products" / "images"


def add_rows(library: Library, paths: list[Path]) -> None:
    """Image rows as the importer leaves them (hashing is the importer's cost, not timed here)."""
    with library.store.session() as s:
        s.add_all(
            Image(path=str(p), size=p.stat().st_size, content_hash=_hash(p), format="JPEG")
            for p in paths
        )


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def timed(library: Library, workers: int, processes: bool = False) -> tuple[float, float, int]:
    """Wall seconds and CPU seconds (this process, all threads) to make all thumbnails from an
    empty cache, and how many were made (byte-identical photos share one thumbnail)."""
    shutil.rmtree(thumbnail_dir(library), ignore_errors=True)
    start, cpu = time.perf_counter(), time.process_time()
    report = make_thumbnails(library, workers=workers, processes=processes)
    return time.perf_counter() - start, time.process_time() - cpu, report.made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compare", type=int, default=2000, help="images for the mode comparison")
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    paths = sorted(args.photos.glob("*.jpg"))
    cores = os.cpu_count() or 2
    print(f"{len(paths):,} photos in {args.photos}; {cores} CPU cores")

    with tempfile.TemporaryDirectory() as tmp:
        subset = Library(Path(tmp) / "subset")
        add_rows(subset, paths[: args.compare])
        base_s, _cpu, n = timed(subset, workers=1)
        print(f"baseline, 1 thread:       {n:,} in {base_s:.2f} s ({n / base_s:.0f}/s)")
        for label, processes in (("threads", False), ("processes", True)):
            seconds, _cpu, n = timed(subset, workers=cores, processes=processes)
            print(
                f"{cores} {label:<10}         {n:,} in {seconds:.2f} s ({n / seconds:.0f}/s), "
                f"{base_s / seconds:.2f}x the baseline"
            )
        subset.close()

        full = Library(Path(tmp) / "full")
        add_rows(full, paths)
        seconds, cpu, n = timed(full, workers=0)
        print(
            f"all photos, default:      {n:,} in {seconds:.1f} s ({n / seconds:.0f}/s); "
            f"target < 60 s: {'met' if seconds < 60 else 'MISSED'}"
        )
        # Other programs share the cores; CPU time says what an idle machine would need.
        print(
            f"CPU {cpu:.1f} s = {cpu / n * 1000:.2f} ms per thumbnail; on {cores} idle cores "
            f"about {cpu / cores:.0f} s; load average now {os.getloadavg()[0]:.1f}"
        )
        full.close()


if __name__ == "__main__":
    main()

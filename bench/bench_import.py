"""Benchmark: importing a folder of real photos, against a plain single-threaded loop.

    PYTHONPATH=. python bench/bench_import.py [FOLDER]

FOLDER defaults to ../shared/data/fashion-products/images (9,583 JPEGs). Every file is read
once before timing so that all three measurements run on a warm page cache. Prints images/s of
the baseline (os.walk + sha256 + Pillow header read, one thread, no database), of the first
import into an empty temporary library, and of a re-import where nothing changed, each with its
ratio to the baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image as PILImage

from mclip_gui.core.library import Library
from mclip_gui.core.scan import IMAGE_EXTENSIONS, import_folder, reader_threads

DEFAULT_FOLDER = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-products" / "images"
)


def image_paths(folder: Path) -> list[str]:
    found = []
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(os.path.join(dirpath, name))
    return found


def warm_cache(paths: list[str]) -> int:
    total = 0
    for path in paths:
        with open(path, "rb") as handle:
            total += len(handle.read())
    return total


def baseline(folder: Path) -> tuple[int, float]:
    """The obvious way: walk, hash and read each header in one thread, nothing stored."""
    start = time.perf_counter()
    count = 0
    for path in image_paths(folder):
        with open(path, "rb") as handle:
            hashlib.file_digest(handle, "sha256").hexdigest()
            handle.seek(0)
            with PILImage.open(handle) as img:
                _ = img.size, img.format
        count += 1
    return count, time.perf_counter() - start


def timed_import(library: Library, folder: Path) -> tuple[int, float]:
    start = time.perf_counter()
    report = import_folder(library, folder)
    seconds = time.perf_counter() - start
    found = (
        report.imported + report.unchanged + report.moved + report.duplicates + report.unreadable
    )
    return found, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    folder = parser.parse_args().folder
    if not folder.is_dir():
        print(f"folder not found: {folder}", file=sys.stderr)
        return 2

    paths = image_paths(folder)
    size = warm_cache(paths)
    print(
        f"{len(paths)} images, {size / 1e6:.1f} MB in {folder}; "
        f"{os.cpu_count()} cores, {reader_threads()} reader threads"
    )

    count, seconds = baseline(folder)
    base_rate = count / seconds
    print(f"baseline (1 thread: os.walk + sha256 + header): {base_rate:8.0f} images/s")

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        library = Library(Path(tmp))
        try:
            for label in ("first import", "re-import (unchanged)"):
                count, seconds = timed_import(library, folder)
                rate = count / seconds
                print(
                    f"{label:<47} {rate:8.0f} images/s  "
                    f"({seconds:.2f} s, {rate / base_rate:.2f}x baseline)"
                )
        finally:
            library.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

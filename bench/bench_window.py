"""Start-up and scrolling of the window, each against a bare-Qt baseline measured in this run.

Run: PYTHONPATH=. QT_QPA_PLATFORM=offscreen python bench/bench_window.py [--images 50000]

1. Time from the command to the first painted window: `python -m mclip_gui --data-dir TMP
   --quit-after-first-paint` in a subprocess (median of --runs), against a script that only
   opens a QApplication and an empty QMainWindow. Target: under 1.5 s.
2. Scrolling a synthetic library of --images images (distinct content hashes; thumbnail files
   are hard links to a few real thumbnails, so decoding is real but the disk is spared): each
   scroll step's time on the main thread (scroll + repaint) and the process's peak memory,
   against a plain QListView over the same number of file names. Target: under 500 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PHOTOS = PROJECT.parent / "shared" / "data" / "fashion-products" / "images"

BARE_WINDOW = """
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
class FirstPaint(QObject):
    seen = False
    def eventFilter(self, watched, event):
        if not self.seen and event.type() == QEvent.Type.Paint:
            self.seen = True
            QTimer.singleShot(0, self.report)
        return False
    def report(self):
        print(f"first-paint-at {time.time():.6f}", flush=True)
        app.quit()
f = FirstPaint()
app.installEventFilter(f)
window = QMainWindow()
window.resize(1280, 820)
window.show()
app.exec()
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT), "QT_QPA_PLATFORM": "offscreen"}


def first_paint_seconds(command: list[str]) -> float:
    """Seconds from starting `command` to the first-paint time it prints."""
    start = time.time()
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=120)
    line = next(x for x in done.stdout.splitlines() if x.startswith("first-paint-at"))
    return float(line.split()[1]) - start


def bench_start_up(runs: int, data_dir: Path) -> None:
    app = [sys.executable, "-m", "mclip_gui", "--data-dir", str(data_dir)]
    bare = [sys.executable, "-c", BARE_WINDOW]
    first_ever = first_paint_seconds([*app, "--quit-after-first-paint"])  # creates the database
    app_s = statistics.median(
        first_paint_seconds([*app, "--quit-after-first-paint"]) for _ in range(runs)
    )
    bare_s = statistics.median(first_paint_seconds(bare) for _ in range(runs))
    print(f"first paint, bare QMainWindow (baseline): {bare_s:.2f} s")
    print(
        f"first paint, mclip-gui:                   {app_s:.2f} s = {app_s / bare_s:.1f}x the "
        f"baseline (first start, new database: {first_ever:.2f} s); target < 1.5 s: "
        f"{'met' if app_s < 1.5 else 'MISSED'}; load average {os.getloadavg()[0]:.1f}"
    )


def make_synthetic_library(data_dir: Path, count: int) -> None:
    """`count` image rows with distinct hashes whose thumbnails are links to 64 real ones."""
    from sqlalchemy import insert

    from mclip_gui.core.library import Library
    from mclip_gui.core.schema import Image
    from mclip_gui.core.thumbnails import thumbnail_path, write_thumbnail

    library = Library(data_dir)
    size = library.settings.thumbnail_size
    seeds = []
    for photo in sorted(PHOTOS.glob("*.jpg"))[:64]:
        target = data_dir / "seeds" / photo.name
        write_thumbnail(photo, target, size, library.settings.max_image_pixels)
        seeds.append((photo, target))
    rows = []
    for i in range(count):
        photo, seed = seeds[i % len(seeds)]
        content_hash = hashlib.sha256(f"synthetic-{i}".encode()).hexdigest()
        link = thumbnail_path(library, content_hash)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.link(seed, link)
        rows.append({"path": f"/synthetic/{i:06d}-{photo.name}", "content_hash": content_hash})
    with library.store.session() as s:
        s.execute(insert(Image), rows)
    library.close()


def scroll_child(data_dir: Path, baseline: bool, pages: int) -> None:
    """In a fresh process: open the grid (or a bare list), scroll, print JSON figures."""
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    if baseline:
        view, settle = _bare_list(data_dir)
    else:
        view, settle = _library_window(data_dir)
    view.resize(1280, 820)
    view.show()
    settle()
    grid = view if baseline else view.pages["library_page"].grid  # type: ignore[attr-defined]
    times = _scroll(app, grid, pages)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = grid.model().rowCount()
    print(json.dumps({"rows": rows, "steps": times, "peak_mb": peak_mb}))


def _library_window(data_dir: Path) -> tuple[object, object]:
    from PySide6.QtWidgets import QApplication

    from mclip_gui.core.library import Library
    from mclip_gui.gui import main_window
    from mclip_gui.gui.main_window import MainWindow

    library = Library(data_dir)
    # The grid is measured, not a CLIP model: without the search page torch is never imported
    # (torch's CUDA build alone is about 800 MB resident, whatever the window does).
    main_window.PAGE_MODULES = tuple(m for m in main_window.PAGE_MODULES if "search" not in m)
    window = MainWindow(library)
    window.show_page("library_page")
    page = window.pages["library_page"]

    def settle() -> None:
        deadline = time.monotonic() + 60
        while page.grid.grid_model.rowCount() == 0 and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.01)

    return window, settle


def _bare_list(data_dir: Path) -> tuple[object, object]:
    from PySide6.QtCore import QSize, QStringListModel
    from PySide6.QtWidgets import QListView

    from mclip_gui.core.browse import list_items
    from mclip_gui.core.library import Library

    names = [item.name for item in list_items(Library(data_dir))]
    view = QListView()
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setUniformItemSizes(True)
    view.setGridSize(QSize(176, 188))
    model = QStringListModel(names)
    view.setModel(model)
    view.model_ = model  # type: ignore[attr-defined]
    return view, lambda: None


def _scroll(app: object, view: object, pages: int) -> list[float]:
    """Scroll page by page over evenly spread positions, then fling; seconds per step."""
    from PySide6.QtWidgets import QApplication

    bar = view.verticalScrollBar()  # type: ignore[attr-defined]
    QApplication.processEvents()
    top = bar.maximum()
    positions = [round(top * i / pages) for i in range(pages + 1)]
    # A run of consecutive pages, as a reader scrolls, then the spread positions (flinging).
    page = bar.pageStep()
    steps = [min(top, i * page) for i in range(pages)] + positions
    times = []
    for value in steps:
        start = time.perf_counter()
        bar.setValue(value)
        QApplication.processEvents()
        times.append(time.perf_counter() - start)
        _let_thumbnails_arrive(0.03)
    return times


def _let_thumbnails_arrive(seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.002)


def bench_scroll(count: int, pages: int, tmp: Path) -> None:
    data_dir = tmp / "synthetic"
    start = time.perf_counter()
    make_synthetic_library(data_dir, count)
    print(f"synthetic library of {count:,} images made in {time.perf_counter() - start:.1f} s")
    figures = {}
    for label, flag in (("baseline", "--baseline"), ("grid", "")):
        command = [sys.executable, __file__, "--child", str(data_dir), "--pages", str(pages)]
        done = subprocess.run(
            [*command, *([flag] if flag else [])],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise SystemExit(f"{label} child failed:\n{done.stderr}")
        figures[label] = json.loads(done.stdout.strip().splitlines()[-1])
    base, grid = figures["baseline"], figures["grid"]
    for label, f in (
        ("bare QListView of names (baseline)", base),
        ("library grid (window without the search page: no torch)", grid),
    ):
        steps = sorted(f["steps"])
        p95 = steps[int(len(steps) * 0.95)] * 1000
        print(
            f"{label}: {f['rows']:,} rows, {len(steps)} scroll steps, median "
            f"{statistics.median(steps) * 1000:.1f} ms, p95 {p95:.1f} ms, "
            f"max {steps[-1] * 1000:.1f} ms; peak memory {f['peak_mb']:.0f} MB"
        )
    print(
        f"grid / baseline: peak memory {grid['peak_mb'] / base['peak_mb']:.2f}x, median step "
        f"{statistics.median(grid['steps']) / statistics.median(base['steps']):.2f}x; "
        f"target < 500 MB: {'met' if grid['peak_mb'] < 500 else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--pages", type=int, default=150, help="scroll steps of each kind")
    parser.add_argument("--runs", type=int, default=3, help="start-ups to take the median of")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        scroll_child(args.child, args.baseline, args.pages)
        return
    with tempfile.TemporaryDirectory() as tmp:
        bench_start_up(args.runs, Path(tmp) / "empty")
        bench_scroll(args.images, args.pages, Path(tmp))


if __name__ == "__main__":
    main()

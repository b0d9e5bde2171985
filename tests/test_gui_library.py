"""The Library page: grid, lazy thumbnails, detail pane, import, problems, errors, start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import PROJECT
from PIL import Image as PILImage
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from test_thumbnails import add_images, write_photos

from mclip_gui.core.browse import ImageItem
from mclip_gui.core.library import Library
from mclip_gui.core.thumbnails import missing_thumbnails
from mclip_gui.gui.image_grid import ImageGridModel, ThumbnailLoader
from mclip_gui.gui.main_window import MainWindow
from mclip_gui.gui.pages.library_page import LibraryPage, import_summary
from mclip_gui.gui.problems import ProblemsDialog

TIMEOUT_MS = 10_000


@dataclass
class Problem:
    """Shaped like core.scan.Problem."""

    path: str
    reason: str


@dataclass
class Report:
    """The counts of core.scan.ImportReport that the summary reads."""

    imported: int = 0
    unchanged: int = 0
    moved: int = 0
    unreadable: int = 0
    duplicates: int = 0
    missing: int = 0
    folder: str = "photos"
    skipped: list[Problem] = field(default_factory=list)


@pytest.fixture
def window(qtbot, library: Library) -> MainWindow:
    win = MainWindow(library)
    qtbot.addWidget(win)
    win.show()
    win.show_page("library_page")
    return win


def page_of(window: MainWindow) -> LibraryPage:
    page = window.pages["library_page"]
    assert isinstance(page, LibraryPage)
    return page


def wait_for_rows(qtbot, page: LibraryPage, n: int) -> None:
    def check() -> None:
        rows = page.grid.grid_model.rowCount()
        jobs = [job.name for job in page.window_.runner.active]
        assert rows == n, f"{rows} rows; running jobs: {jobs}"

    qtbot.waitUntil(check, timeout=TIMEOUT_MS)


def test_grid_shows_every_image_with_thumbnails(qtbot, library, tmp_path: Path) -> None:
    add_images(library, write_photos(tmp_path / "photos", 30))
    win = MainWindow(library)
    qtbot.addWidget(win)
    win.show()
    win.show_page("library_page")
    page = page_of(win)

    wait_for_rows(qtbot, page, 30)
    model = page.grid.grid_model
    qtbot.waitUntil(lambda: model.has_thumbnail(0), timeout=TIMEOUT_MS)

    assert model.index(0).data() == "photo-0000.jpg"
    assert win.counts_label.text() == "30 images"


def test_grid_columns_fill_the_width(qtbot, library, tmp_path: Path) -> None:
    add_images(library, write_photos(tmp_path / "photos", 30))
    win = MainWindow(library)
    qtbot.addWidget(win)
    win.show()
    win.show_page("library_page")
    grid = page_of(win).grid
    wait_for_rows(qtbot, page_of(win), 30)

    for width in (500, 731, 1000):
        grid.resize(width, 400)
        usable = width - 2 * grid.frameWidth() - grid.verticalScrollBar().sizeHint().width()
        columns = usable // grid.base_cell.width()
        assert grid.gridSize().width() == usable // columns
        assert 0 <= usable - columns * grid.gridSize().width() < columns
        assert grid.gridSize().height() == grid.base_cell.height()


def test_selecting_an_image_shows_its_facts_and_preview(qtbot, library, tmp_path: Path) -> None:
    paths = write_photos(tmp_path / "photos", 3)
    add_images(library, paths)
    win = MainWindow(library)
    qtbot.addWidget(win)
    win.show()
    win.show_page("library_page")
    page = page_of(win)
    wait_for_rows(qtbot, page, 3)

    page.grid.select_row(1)

    facts = {name: label.full_text() for name, label in page.detail.facts.items()}
    assert facts["Path"] == str(paths[1])
    assert facts["Dimensions"] == "64 × 48"
    assert facts["Format"] == "JPEG"
    assert facts["State"] == "ok"
    assert facts["Split"] == "train"
    assert facts["Size"].endswith("bytes")
    assert page.detail.captions.item(0).text() == "No captions yet."
    qtbot.waitUntil(page.detail.preview.has_image, timeout=TIMEOUT_MS)


def test_keyboard_moves_through_the_grid_and_enter_opens_the_large_view(
    qtbot, library, tmp_path: Path
) -> None:
    add_images(library, write_photos(tmp_path / "photos", 12))
    win = MainWindow(library)
    qtbot.addWidget(win)
    win.show()
    win.show_page("library_page")
    page = page_of(win)
    wait_for_rows(qtbot, page, 12)
    grid = page.grid
    grid.setFocus()
    grid.select_row(0)

    qtbot.keyClick(grid, Qt.Key.Key_End)
    assert grid.currentIndex().row() == 11
    qtbot.keyClick(grid, Qt.Key.Key_Home)
    assert grid.currentIndex().row() == 0
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert grid.currentIndex().row() == 1
    with qtbot.waitSignal(grid.item_activated, timeout=TIMEOUT_MS) as activated:
        qtbot.keyClick(grid, Qt.Key.Key_Return)

    assert activated.args[0].name == "photo-0001.jpg"
    [view] = page.dialogs
    qtbot.waitUntil(view.label.has_image, timeout=TIMEOUT_MS)
    view.close()


def test_missing_thumbnails_are_made_at_start_and_truncated_jpeg_marked(
    qtbot, library, tmp_path: Path
) -> None:
    paths = write_photos(tmp_path / "photos", 3)
    broken = tmp_path / "photos" / "broken.jpg"
    broken.write_bytes(paths[0].read_bytes()[:300])
    add_images(library, [*paths, broken])
    win = MainWindow(library)
    qtbot.addWidget(win)
    win.show()
    win.show_page("library_page")
    page = page_of(win)
    wait_for_rows(qtbot, page, 4)

    # The page starts the thumbnail job itself once it has shown the images.
    qtbot.waitUntil(
        lambda: win.counts_label.text() == "3 images · 1 unreadable", timeout=TIMEOUT_MS
    )
    wait_for_rows(qtbot, page, 3)
    assert missing_thumbnails(library) == []


def test_new_thumbnail_size_fills_a_new_cache(qtbot, library, tmp_path: Path) -> None:
    add_images(library, write_photos(tmp_path / "photos", 3))
    win = MainWindow(library)
    qtbot.addWidget(win)
    win.show()
    win.show_page("library_page")
    page = page_of(win)
    qtbot.waitUntil(lambda: page.thumbnail_job is not None and not page.thumbnail_job.running)

    library.update_settings(thumbnail_size=64)
    win.settings_changed.emit({"thumbnail_size"})

    qtbot.waitUntil(lambda: missing_thumbnails(library) == [], timeout=TIMEOUT_MS)
    assert len(list((library.layout.thumbnails / "64").rglob("*.jpg"))) == 3


def test_uncaught_error_in_a_job_shows_the_error_dialog(qtbot, window: MainWindow) -> None:
    def broken(_progress: object, _cancel: object) -> None:
        raise RuntimeError("disk on fire")

    window.runner.start("Broken job", broken)

    qtbot.waitUntil(lambda: "RuntimeError: disk on fire" in window.errors.shown, timeout=TIMEOUT_MS)


def test_problems_dialog_lists_and_copies_path_and_reason(qtbot) -> None:
    dialog = ProblemsDialog([Problem("/photos/truncated.jpg", "cannot decode: truncated")])
    qtbot.addWidget(dialog)

    dialog.copy_all()

    assert dialog.table.item(0, 0).text() == "/photos/truncated.jpg"
    assert dialog.table.item(0, 1).text() == "cannot decode: truncated"
    assert (
        dialog.summary.text() == "1 file could not be read and was skipped. Nothing else was lost."
    )
    assert QGuiApplication.clipboard().text() == "/photos/truncated.jpg\tcannot decode: truncated\n"


def test_import_summary_names_counts_like_the_status_bar() -> None:
    report = Report(imported=9583, unreadable=2, duplicates=1)
    rescan = Report(unchanged=9583, moved=1, missing=2, skipped=[Problem("/x/\udcff", "name")])

    assert import_summary([report]) == "Imported 9,583 images, 2 unreadable, 1 duplicate"
    assert import_summary([rescan]) == (
        "Imported 0 images, 9,583 unchanged, 1 moved, 2 missing, 1 skipped"
    )


def test_pixmap_cache_stays_bounded(qtbot, library, tmp_path: Path) -> None:
    from mclip_gui.core.thumbnails import ensure_thumbnail

    paths = write_photos(tmp_path / "photos", 20)
    add_images(library, paths)
    from mclip_gui.core.browse import list_items

    items = list_items(library)
    loader = ThumbnailLoader(lambda i: ensure_thumbnail(library, i.content_hash, Path(i.path)), 64)
    model = ImageGridModel(loader, 64, cache_size=5)
    model.set_items(items)
    loaded: list[str] = []
    loader.loaded.connect(lambda key, _image: loaded.append(key))

    for row in range(20):
        model.index(row).data(Qt.ItemDataRole.DecorationRole)
        qtbot.waitUntil(lambda n=row: len(loaded) > n, timeout=TIMEOUT_MS)
    loader.shutdown()

    assert model.cached_pixmaps == 5
    assert [model.has_thumbnail(r) for r in range(20)] == [False] * 15 + [True] * 5


def test_loader_serves_newest_requests_first_and_drops_old_ones(qtbot) -> None:
    gate = threading.Event()
    served: list[str] = []

    def fetch(item: ImageItem) -> Path:
        gate.wait(5)
        served.append(item.path)
        raise OSError("no file in this test")

    loader = ThumbnailLoader(fetch, 64, workers=1, max_queue=3)
    items = [ImageItem(i, f"image-{i}", f"hash-{i}") for i in range(10)]

    for item in items:
        loader.request(item)
        time.sleep(0.01)  # the first request reaches the worker before the rest queue up
    gate.set()
    qtbot.waitUntil(lambda: len(served) == 4, timeout=TIMEOUT_MS)
    loader.shutdown()

    assert served == ["image-0", "image-9", "image-8", "image-7"]


def test_window_paints_without_importing_torch(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-m", "mclip_gui", "--data-dir", str(tmp_path / "d")]

    done = subprocess.run(
        [*command, "--quit-after-first-paint"], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["torch-imported", "no"]


def test_add_folder_imports_summarises_and_lists_problems(qtbot, window, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    paths = write_photos(folder, 4)
    (folder / "copy.jpg").write_bytes(paths[0].read_bytes())
    (folder / "empty.jpg").write_bytes(b"")
    page = page_of(window)

    window.folder_dropped.emit(folder)

    bar = window.statusBar()
    qtbot.waitUntil(lambda: bar.currentMessage() != "", timeout=TIMEOUT_MS)
    # Categories are exclusive: the duplicate is a row of the grid, not one of the 4 imported.
    assert bar.currentMessage() == "Imported 4 images, 1 unreadable, 1 duplicate"
    wait_for_rows(qtbot, page, 5)
    qtbot.waitUntil(lambda: window.counts_label.text() == "5 images · 1 unreadable")
    qtbot.waitUntil(lambda: page.thumbnail_job is not None and not page.thumbnail_job.running)
    page.show_problems()
    [dialog] = page.dialogs
    assert isinstance(dialog, ProblemsDialog)
    assert dialog.text() == f"{folder / 'empty.jpg'}\tempty file (0 bytes)\n"
    dialog.close()


def test_rescan_finds_new_files(qtbot, window, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    write_photos(folder, 2)
    page = page_of(window)
    window.folder_dropped.emit(folder)
    wait_for_rows(qtbot, page, 2)
    PILImage.new("RGB", (30, 20), (1, 2, 3)).save(folder / "new.png")

    qtbot.keyClick(window, Qt.Key.Key_F5)

    wait_for_rows(qtbot, page, 3)
    assert window.statusBar().currentMessage() == "Imported 1 image, 2 unchanged"


def test_signal_emits_keep_python_reference_counts(qtbot) -> None:
    # PySide6 6.12.0 released a reference to True on every emit; the grid emits one per
    # thumbnail, so the window crashed after a few hundred ("deallocating True or False").
    loader = ThumbnailLoader(lambda item: Path(item.path), 64)
    before = sys.getrefcount(True)

    for _ in range(100):
        loader.failed.emit("key", "reason")

    assert sys.getrefcount(True) >= before - 5

"""The Library page: every image as a thumbnail grid, the selected one in a detail pane.

Menus it adds: File ▸ Add folder… (Ctrl+O), Library ▸ Rescan folders (F5), Library ▸ Problems….
Import, listing and thumbnailing run as jobs through the window's runner; this page only reacts
to their results.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QSplitter, QVBoxLayout, QWidget
from sqlalchemy import select

from mclip_gui.core.browse import ImageItem, count_by_state, counts_text, list_items, plural
from mclip_gui.core.jobs import CancelToken, ProgressCallback
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Folder
from mclip_gui.gui.detail_pane import DetailPane, LargeView
from mclip_gui.gui.image_grid import ImageGrid
from mclip_gui.gui.jobs import Job
from mclip_gui.gui.problems import ProblemsDialog

if TYPE_CHECKING:
    from mclip_gui.gui.main_window import MainWindow

log = logging.getLogger(__name__)

# How long an import summary stays in the status bar before the counts show again.
SUMMARY_MS = 30_000
# Longest wait for the first paint before the images are listed anyway.
FIRST_REFRESH_FALLBACK_MS = 1000


def create_page(window: MainWindow) -> tuple[str, QWidget]:
    return "Library", LibraryPage(window)


def import_summary(reports: Sequence[Any]) -> str:
    """ "Imported 9,583 images, 2 unreadable, 1 duplicate" from ImportReports (summed)."""
    total = {
        name: sum(getattr(r, name) for r in reports)
        for name in ("imported", "unchanged", "moved", "unreadable", "duplicates", "missing")
    }
    parts = [f"Imported {plural(total['imported'], 'image')}"]
    for name in ("unchanged", "moved", "unreadable"):
        if total[name]:
            parts.append(f"{total[name]:,} {name}")
    if total["duplicates"]:
        parts.append(plural(total["duplicates"], "duplicate"))
    if total["missing"]:
        parts.append(f"{total['missing']:,} missing")
    skipped = sum(len(r.skipped) for r in reports)
    if skipped:
        parts.append(f"{skipped:,} skipped")
    return ", ".join(parts)


class LibraryPage(QWidget):
    """Grid + detail pane, and the actions that fill the library."""

    def __init__(self, window: MainWindow):
        super().__init__()
        self.window_ = window
        self.library: Library = window.library
        self.grid = ImageGrid.for_library(self.library)
        self.detail = DetailPane(self.library)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.grid)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([880, 380])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.thumbnail_job: Job | None = None
        self._refreshes = 0  # number of the latest refresh; only its result is shown
        self.dialogs: list[QWidget] = []  # open non-modal dialogs, kept alive
        self.grid.current_changed.connect(self._on_current)
        self.grid.item_activated.connect(self.open_large_view)
        window.folder_dropped.connect(self.import_folder)
        window.status_changed.connect(self.refresh)
        window.settings_changed.connect(self._on_settings_changed)
        window.installEventFilter(self)
        self._add_actions()
        # The first listing starts once the grid has painted: its thread would otherwise compete
        # with the start-up for the interpreter. The timer covers a window that never paints.
        self.grid.viewport().installEventFilter(self)
        QTimer.singleShot(FIRST_REFRESH_FALLBACK_MS, self, self._first_refresh)

    # -- actions -------------------------------------------------------------------------------
    def _add_actions(self) -> None:
        window = self.window_
        add = QAction("&Add folder…", window)
        add.setShortcut(QKeySequence.StandardKey.Open)
        add.setStatusTip("Add a folder of images to the library (scanned recursively)")
        add.triggered.connect(self.choose_folder)
        file_menu = window.menu("&File")
        first = file_menu.actions()
        if first:
            file_menu.insertAction(first[0], add)  # above Quit
        else:
            file_menu.addAction(add)
        rescan = QAction("&Rescan folders", window)
        rescan.setShortcut(QKeySequence(Qt.Key.Key_F5))
        rescan.triggered.connect(self.rescan)
        problems = QAction("&Problems…", window)
        problems.triggered.connect(self.show_problems)
        library_menu = window.menu("&Library")
        library_menu.addAction(rescan)
        library_menu.addAction(problems)
        self.actions_ = {"add_folder": add, "rescan": rescan, "problems": problems}

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of images")
        if folder:
            self.import_folder(Path(folder))

    def show_problems(self) -> None:
        from mclip_gui.core.scan import list_problems

        dialog = ProblemsDialog(list_problems(self.library), self)
        dialog.finished.connect(lambda _=0, d=dialog: self.dialogs.remove(d))
        self.dialogs.append(dialog)
        dialog.show()

    def open_large_view(self, item: ImageItem) -> None:
        view = LargeView(self.library, Path(item.path), self)
        view.finished.connect(lambda _=0, v=view: self.dialogs.remove(v))
        self.dialogs.append(view)
        view.show()

    # -- jobs ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reread the images and counts in the background, then show them."""
        library = self.library

        def read(_progress: ProgressCallback, _cancel: CancelToken) -> tuple[list[ImageItem], str]:
            return list_items(library), counts_text(count_by_state(library))

        self._refreshes += 1
        number = self._refreshes
        job = self.window_.runner.start("Reading library", read)
        job.succeeded.connect(lambda result: self._show_items(number, result))

    def _show_items(self, number: int, result: tuple[list[ImageItem], str]) -> None:
        if number != self._refreshes:
            return  # an older read finished after a newer one started: its view is stale
        items, counts = result
        current = self.grid.current_item()
        self.grid.set_items(items)
        self.window_.set_counts(counts)
        if current is not None:
            row = self.grid.grid_model.row_of(current.id)
            if row is not None:
                self.grid.select_row(row)
        if number == 1 and items:
            # Thumbnails an earlier session did not finish (closed mid-job) are made now.
            self.make_thumbnails()

    def import_folder(self, folder: Path) -> Job:
        """Import `folder` as a job; afterwards refresh, summarise and make thumbnails."""
        from mclip_gui.core.scan import import_folder

        job = self.window_.runner.start(
            f"Importing {folder.name}", partial(import_folder, self.library, folder)
        )
        job.succeeded.connect(lambda report: self._imported([report]))
        return job

    def rescan(self) -> Job:
        """Import every folder of the library again (new, changed, moved and missing files)."""
        from mclip_gui.core.scan import import_folder

        library = self.library

        def rescan_all(progress: ProgressCallback, cancel: CancelToken) -> list[Any]:
            with library.store.session() as s:
                folders = list(s.scalars(select(Folder.path).order_by(Folder.path)))
            return [import_folder(library, Path(f), progress, cancel) for f in folders]

        job = self.window_.runner.start("Rescanning folders", rescan_all)
        job.succeeded.connect(self._imported)
        return job

    def _imported(self, reports: list[Any]) -> None:
        for report in reports:
            log.info("%s: %s", report.folder, import_summary([report]))
        summary = import_summary(reports) if reports else "No folders to rescan: add one first"
        self.window_.statusBar().showMessage(summary, SUMMARY_MS)
        self.window_.status_changed.emit()
        self.make_thumbnails()

    def make_thumbnails(self) -> Job | None:
        """Start making missing thumbnails in the background (once at a time)."""
        from mclip_gui.core.thumbnails import make_thumbnails

        if self.thumbnail_job is not None and self.thumbnail_job.running:
            return None
        job = self.window_.runner.start("Making thumbnails", partial(make_thumbnails, self.library))
        job.succeeded.connect(self._thumbnails_made)
        self.thumbnail_job = job
        return job

    def _thumbnails_made(self, report: Any) -> None:
        if report.unreadable:
            # Files that failed to decode now count as unreadable: update grid and counts.
            self.window_.status_changed.emit()

    def _on_settings_changed(self, names: set[str]) -> None:
        if "thumbnail_size" in names:
            self.make_thumbnails()  # a new size is a new cache folder: fill it in the background

    # -- selection and shutdown ----------------------------------------------------------------
    def _on_current(self, item: ImageItem | None) -> None:
        self.detail.show_image(item.id if item is not None else None)

    def _first_refresh(self) -> None:
        if self._refreshes == 0:
            self.refresh()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and watched is self.grid.viewport():
            self._first_refresh()  # the job itself starts after this paint (gui.jobs)
        elif watched is self.window_ and event.type() == QEvent.Type.Close:
            self.grid.shutdown()
            self.detail.shutdown()
        return False

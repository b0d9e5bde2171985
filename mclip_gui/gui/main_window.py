"""The main window: one tab per page, a menu bar, and a status bar with job progress."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QWidget,
)

from mclip_gui.core.jobs import Progress
from mclip_gui.core.library import Library
from mclip_gui.gui.errors import ErrorReporter
from mclip_gui.gui.jobs import Job, JobRunner

log = logging.getLogger(__name__)

# Each module has `create_page(window) -> (title, QWidget)`; order is the tab order.
PAGE_MODULES: tuple[str, ...] = (
    "mclip_gui.gui.pages.search_page",
    "mclip_gui.gui.pages.library_page",
    "mclip_gui.gui.pages.caption_page",
    "mclip_gui.gui.pages.validate_page",
    "mclip_gui.gui.pages.overview_page",
    "mclip_gui.gui.pages.train_page",
    "mclip_gui.gui.pages.compare_page",
)


class MainWindow(QMainWindow):
    """Hosts the pages. Pages reach the library, the job runner and the menus through it."""

    folder_dropped = Signal(Path)  # a folder to import (menu, drag and drop, command line)
    status_changed = Signal()  # something changed the library's counts
    settings_changed = Signal(set)  # names of the settings that changed
    model_changed = Signal(str)  # the active model (settings.model) is now this one
    first_painted = Signal()  # the window has been painted once (heavy loading may start)

    def __init__(
        self, library: Library, runner: JobRunner | None = None, errors: ErrorReporter | None = None
    ):
        super().__init__()
        self.library = library
        self.runner = runner or JobRunner()
        self.errors = errors or ErrorReporter(self)
        self.errors.parent_widget = self
        self.setWindowTitle("mclip-gui")
        self.resize(1280, 820)
        self.setAcceptDrops(True)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.pages: dict[str, QWidget] = {}
        self._build_menus()
        self._build_status_bar()
        self.runner.job_started.connect(self._track_job)
        self._painted = False
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        for name in PAGE_MODULES:
            title, page = importlib.import_module(name).create_page(self)
            self.add_page(name.rsplit(".", 1)[-1], title, page)

    # -- start-up ------------------------------------------------------------------------------
    def when_painted(self, fn: Callable[[], object]) -> None:
        """Run `fn` once the window has been painted (at once if it already was).

        Loading torch and a model before the first paint would delay the window by seconds.
        """
        if self._painted:
            QTimer.singleShot(0, fn)
        else:
            self.first_painted.connect(fn, Qt.ConnectionType.SingleShotConnection)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            not self._painted
            and event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and watched.window() is self
        ):
            self._painted = True
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self)
            QTimer.singleShot(0, self.first_painted.emit)
        return False

    # -- pages and menus -------------------------------------------------------------------
    def add_page(self, key: str, title: str, page: QWidget) -> None:
        self.pages[key] = page
        index = self.tabs.addTab(page, title)
        if index < 9:
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Alt+{index + 1}"))
            action.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            self.addAction(action)

    def show_page(self, key: str) -> None:
        self.tabs.setCurrentWidget(self.pages[key])

    def menu(self, title: str) -> QMenu:
        """The menu bar's menu of that title, created at the end when missing."""
        for action in self.menuBar().actions():
            existing = action.menu()
            if isinstance(existing, QMenu) and existing.title() == title:
                return existing
        return self.menuBar().addMenu(title)

    def _build_menus(self) -> None:
        file_menu = self.menu("&File")
        self.menu("&Library")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        settings_action = QAction("&Settings…", self)
        settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        settings_action.triggered.connect(self.open_settings)
        self.menu("&Edit").addAction(settings_action)
        model_action = QAction("&Choose model…", self)
        model_action.setShortcut(QKeySequence("Ctrl+M"))
        model_action.triggered.connect(self.choose_model)
        self.menu("&Model").addAction(model_action)

    def choose_model(self) -> None:
        from mclip_gui.gui.model_dialog import ModelDialog

        dialog = ModelDialog(self.library, self)
        if dialog.exec() == ModelDialog.DialogCode.Accepted:
            self.set_model(dialog.chosen())

    def set_model(self, spec: str) -> None:
        """Make `spec` the active model and tell the pages."""
        before = self.library.settings
        self.library.update_settings(model=spec)
        self.apply_settings_change(before)

    def open_settings(self) -> None:
        from mclip_gui.gui.settings_dialog import SettingsDialog

        before = self.library.settings
        dialog = SettingsDialog(self.library, self)
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_settings_change(before)

    def apply_settings_change(self, before: object) -> None:
        """Tell the pages which settings changed since `before`."""
        after = self.library.settings
        changed = {k for k, v in vars(after).items() if getattr(before, k) != v}
        if changed:
            self.settings_changed.emit(changed)
        if "model" in changed:
            self.model_changed.emit(after.model)

    # -- status bar and jobs -----------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.counts_label = QLabel()
        self.job_label = QLabel()
        self.job_progress = QProgressBar()
        self.job_progress.setMaximumWidth(240)
        self.job_cancel = QPushButton("Cancel")
        self.job_cancel.setToolTip("Stop the running job (Esc)")
        self.job_cancel.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        bar.addWidget(self.counts_label, 1)
        bar.addPermanentWidget(self.job_label)
        bar.addPermanentWidget(self.job_progress)
        bar.addPermanentWidget(self.job_cancel)
        self._current_job: Job | None = None
        self.job_cancel.clicked.connect(self._cancel_current)
        self._set_job_widgets_visible(False)

    def set_counts(self, text: str) -> None:
        self.counts_label.setText(text)

    def _set_job_widgets_visible(self, visible: bool) -> None:
        for widget in (self.job_label, self.job_progress, self.job_cancel):
            widget.setVisible(visible)

    def _track_job(self, job: Job) -> None:
        # Bound slots (not lambdas): Qt disconnects them when the window is destroyed, so a job
        # finishing after its window closed touches no deleted widget.
        job.progress.connect(self._on_job_progress)
        job.finished.connect(self._on_job_finished)
        job.failed.connect(self._on_job_failed)
        self._show_job(job)

    def _show_job(self, job: Job) -> None:
        self._current_job = job
        self.job_label.setText(job.name)
        self.job_progress.setRange(0, 0)
        self._set_job_widgets_visible(True)

    def _on_job_progress(self, p: Progress) -> None:
        job = self.sender()
        if job is not self._current_job or not isinstance(job, Job):
            return
        if p.total > 0:
            self.job_progress.setRange(0, p.total)
            self.job_progress.setValue(min(p.done, p.total))
        eta = f", {p.eta_s:.0f} s left" if p.eta_s is not None else ""
        repeats = p.message.lower().startswith(job.name.lower())
        message = f": {p.message}" if p.message and not repeats else ""
        self.job_label.setText(f"{job.name}{message}{eta}")

    def _on_job_failed(self, error: BaseException, details: str) -> None:
        self.errors.show_exception(error, details)

    def _on_job_finished(self) -> None:
        job = self.sender()
        if job is not self._current_job:
            return
        remaining = [j for j in self.runner.active if j is not job and j.running]
        if remaining:
            self._show_job(remaining[-1])
            return
        self._current_job = None
        self._set_job_widgets_visible(False)

    def _cancel_current(self) -> None:
        if self._current_job is not None:
            self._current_job.cancel()
            self.job_label.setText(f"{self._current_job.name}: cancelling…")

    # -- drag and drop -----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and all(Path(u.toLocalFile()).is_dir() for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            folder = Path(url.toLocalFile())
            if folder.is_dir():
                self.folder_dropped.emit(folder)
        event.acceptProposedAction()

    def closeEvent(self, event: object) -> None:
        self.runner.cancel_all()
        self.runner.wait(10_000)
        super().closeEvent(event)  # type: ignore[arg-type]

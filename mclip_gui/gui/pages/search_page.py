"""The Search page: type a query (any language) and see the best-matching images live.

The model loads in the background when the window opens; until then the search box says so.
Each query is encoded and searched off the main thread after a short pause in typing; every
search carries a sequence number, so a slow answer to an old query never replaces a newer one.
"Find similar" searches by the selected image. "Index now" embeds images that have none yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QThreadPool,
    QTimer,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from mclip_gui.core.browse import ImageItem, list_items, plural
from mclip_gui.core.errors import MclipError
from mclip_gui.core.jobs import CancelToken, Progress, ProgressCallback
from mclip_gui.core.library import Library
from mclip_gui.gui.detail_pane import DetailPane, LargeView
from mclip_gui.gui.image_grid import ImageGrid, ImageGridModel, ThumbnailLoader
from mclip_gui.gui.jobs import Job, JobRunner

if TYPE_CHECKING:
    from mclip_gui.core.search import SearchResult, SearchService
    from mclip_gui.gui.main_window import MainWindow


log = logging.getLogger(__name__)

LOADING_TEXT = "Loading model …"
READY_TEXT = "Search images: describe what you look for (German or any language)"
FAILED_TEXT = "Search is unavailable: the model could not be loaded"


_BACKGROUND: list[JobRunner] = []


def background_runner() -> JobRunner:
    """The runner of this page's quiet jobs (model loading, searches), one per application.

    It outlives any page, so a job still running when its window closes (a model that takes
    seconds to load) keeps its signals; the page's slots are bound methods, which Qt drops when
    the page is gone.
    """
    if not _BACKGROUND:
        # Its own threads: a model load taking a minute must not hold up other pages' jobs.
        pool = QThreadPool()
        pool.setMaxThreadCount(2)
        _BACKGROUND.append(JobRunner(pool))
    return _BACKGROUND[0]


def create_page(window: MainWindow) -> tuple[str, QWidget]:
    return "Search", SearchPage(window)


@dataclass(frozen=True)
class ShownResult:
    """A search result with the grid items of its hits (read on the worker thread)."""

    result: SearchResult
    items: list[ImageItem]
    scores: dict[int, float]
    similar_to: str = ""  # file name of the image a "Find similar" search started from


@dataclass(frozen=True)
class SearchOutcome:
    """What a search job hands back: its sequence number and its result or error text."""

    seq: int
    shown: ShownResult | None = None
    error: str = ""


class ScoredGridModel(ImageGridModel):
    """The thumbnail grid model, captioned with each hit's score instead of its file name."""

    def __init__(self, loader: ThumbnailLoader, icon_size: int):
        super().__init__(loader, icon_size)
        self.scores: dict[int, float] = {}  # image id -> score of the hits shown

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> object:
        if role == Qt.ItemDataRole.DisplayRole and index.isValid():
            item = self.item(index.row())
            score = self.scores.get(item.id)
            return f"{score:.3f}" if score is not None else item.name
        return super().data(index, role)


def results_grid(library: Library) -> ImageGrid:
    """A thumbnail grid (thumbnails from the library's cache) whose captions are scores."""

    def fetch(item: ImageItem) -> Path:
        # Imported here, on a worker: Pillow is not needed for the first paint.
        from mclip_gui.core.thumbnails import ensure_thumbnail

        assert item.content_hash is not None  # the loader skips items without a hash
        return ensure_thumbnail(library, item.content_hash, Path(item.path))

    icon_size = min(library.settings.thumbnail_size, 160)
    loader = ThumbnailLoader(fetch, icon_size)
    model = ScoredGridModel(loader, icon_size)
    grid = ImageGrid(model, icon_size)
    loader.setParent(grid)
    return grid


class SearchPage(QWidget):
    """Search box, notices, result grid and detail pane."""

    def __init__(self, window: MainWindow, load: Any = None):
        super().__init__()
        self.window_ = window
        self.library: Library = window.library
        self.service: SearchService | None = None
        # Searches are frequent and short: run them without the status bar's job display.
        self.quiet = background_runner()
        self.seq = 0  # number of the newest search started
        self.shown_seq = 0  # number of the search whose result is on screen
        self.shown: ShownResult | None = None
        self.index_job: Job | None = None
        self.dialogs: list[QWidget] = []  # open large views, kept alive
        self._build()
        self._connect()
        self._load = load
        window.when_painted(lambda: self.load_model(self._load))
        window.model_changed.connect(self.model_changed)

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.box = QLineEdit()
        self.box.setPlaceholderText(LOADING_TEXT)
        self.box.setClearButtonEnabled(True)
        self.box.setEnabled(False)
        self.similar_button = QPushButton("Find similar")
        self.similar_button.setToolTip("Show images like the selected one")
        self.similar_button.setEnabled(False)
        self.index_label = QLabel()
        self.index_button = QPushButton("Index now")
        self.index_button.setToolTip("Compute embeddings of the images that have none yet")
        self.notice = QLabel()  # truncation notice
        self.notice.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.grid = results_grid(self.library)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.detail = DetailPane(self.library)
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(self.library.settings.search_debounce_ms)

        top = QHBoxLayout()
        top.addWidget(self.box, 1)
        top.addWidget(self.similar_button)
        index_row = QHBoxLayout()
        index_row.addWidget(self.index_label, 1)
        index_row.addWidget(self.index_button)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.grid)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([880, 380])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(index_row)
        layout.addWidget(self.notice)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        self._show_index_offer(0)
        self.notice.hide()

    def _connect(self) -> None:
        self.box.textChanged.connect(lambda _text: self.debounce.start())
        self.box.returnPressed.connect(self.search_now)
        self.debounce.timeout.connect(self.search_now)
        self.similar_button.clicked.connect(self.find_similar)
        self.index_button.clicked.connect(self.index_now)
        self.grid.current_changed.connect(self._on_current)
        self.grid.item_activated.connect(self.open_large_view)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.window_.status_changed.connect(self.library_changed)
        self.window_.installEventFilter(self)
        focus = QAction("Search", self.window_)
        focus.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        focus.triggered.connect(self.focus_search)
        self.window_.addAction(focus)
        similar = QAction("Find &similar", self)
        similar.triggered.connect(self.find_similar)
        self.similar_action = similar

    def focus_search(self) -> None:
        """Ctrl+F from anywhere: this page, cursor in the search box."""
        self.window_.tabs.setCurrentWidget(self)
        self.box.setFocus()
        self.box.selectAll()

    # -- model -----------------------------------------------------------------------------------
    def load_model(self, load: Any = None) -> Job:
        """Load the library's model (and warm it up) in the background."""
        library = self.library

        def default_load(progress: ProgressCallback, _cancel: CancelToken) -> Any:
            from mclip_gui.core.modelspec import load_model

            return load_model(library.settings.model, library.settings.device, library, progress)

        loader = load or default_load

        def load_and_open(
            progress: ProgressCallback, cancel: CancelToken
        ) -> tuple[SearchService, int]:
            from mclip_gui.core.search import SearchService

            service = SearchService(library, loader(progress, cancel))
            return service, service.missing_count()

        job = self.quiet.start("Loading model", load_and_open)
        job.progress.connect(self._model_progress)
        job.succeeded.connect(self._model_ready)
        job.failed.connect(self._model_failed)
        return job

    def _model_progress(self, p: Progress) -> None:
        if p.message:  # e.g. downloading weights on first use
            percent = f" {100 * p.done // p.total}%" if p.total else ""
            self.status.setText(f"{p.message}{percent}")

    def _model_ready(self, loaded: tuple[SearchService, int]) -> None:
        service, missing = loaded
        self.service = service
        self.box.setPlaceholderText(READY_TEXT)
        self.box.setEnabled(True)
        self.box.setFocus()
        self._show_index_offer(missing)
        if self.box.text().strip():
            self.search_now()

    def _model_failed(self, error: BaseException, details: str) -> None:
        self.box.setPlaceholderText(FAILED_TEXT)
        self.status.setText(f"The model could not be loaded: {error}")
        if not isinstance(error, MclipError):  # a bug, not a missing model: show the details
            self.window_.errors.show_exception(error, details)

    def model_changed(self, _spec: str) -> None:
        """The active model changed: keep searching with the old one until the new one is up."""
        self.status.setText("Loading the new model …")
        self.load_model(self._load)

    # -- searching -------------------------------------------------------------------------------
    def search_now(self) -> None:
        """Search for the box's text (called after the typing pause, or on Enter)."""
        self.debounce.stop()
        query = self.box.text()
        if self.service is None:
            return
        if not query.strip():
            self.seq += 1
            self._show(self.seq, None)
            return
        service = self.service
        top_k = self.library.settings.search_top_k
        self._start(lambda: service.search_text(query, top_k), "")

    def find_similar(self) -> None:
        """Search by the selected image."""
        item = self.grid.current_item()
        if self.service is None or item is None:
            return
        service, top_k = self.service, self.library.settings.search_top_k
        self._start(lambda: service.search_image(item.id, top_k), item.name)

    def _start(self, search: Any, similar_to: str) -> None:
        self.seq += 1
        seq = self.seq
        library = self.library

        def run(_progress: ProgressCallback, _cancel: CancelToken) -> SearchOutcome:
            try:
                result = search()
            except MclipError as e:
                return SearchOutcome(seq, error=str(e))
            items = list_items(library, [hit.image_id for hit in result.hits])
            scores = {hit.image_id: hit.score for hit in result.hits}
            return SearchOutcome(seq, ShownResult(result, items, scores, similar_to))

        job = self.quiet.start(f"search {seq}", run)
        job.succeeded.connect(self._search_done)
        job.failed.connect(self.window_.errors.show_exception)  # a bug, not a user error

    def _search_done(self, outcome: SearchOutcome) -> None:
        if outcome.error:
            if outcome.seq == self.seq:
                self.status.setText(f"Search failed: {outcome.error}")
            return
        self._show(outcome.seq, outcome.shown)

    def _show(self, seq: int, shown: ShownResult | None) -> None:
        if seq != self.seq:
            log.debug("dropping stale search result %d (newest %d)", seq, self.seq)
            return
        self.shown_seq = seq
        self.shown = shown
        model = self.grid.grid_model
        assert isinstance(model, ScoredGridModel)
        model.scores = shown.scores if shown else {}
        self.grid.set_items(shown.items if shown else [])
        if shown is None:
            self.status.clear()
            self.notice.hide()
            return
        result = shown.result
        self.notice.setText(result.truncation_notice)
        self.notice.setVisible(result.truncated)
        like = f" like {shown.similar_to}" if shown.similar_to else ""
        count = plural(len(shown.items), "result")
        self.status.setText(f"{count}{like} in {result.seconds * 1000:.0f} ms")

    # -- indexing --------------------------------------------------------------------------------
    def _show_index_offer(self, missing: int) -> None:
        self.index_label.setText(
            f"{plural(missing, 'image')} {'has' if missing == 1 else 'have'} no embedding yet "
            "and cannot be found."
            if missing
            else ""
        )
        self.index_label.setVisible(bool(missing))
        self.index_button.setVisible(bool(missing))

    def index_now(self) -> Job | None:
        """Embed and index the images without embeddings, as a job with progress and Cancel."""
        from mclip_gui.core.embed import embed_library

        service = self.service
        if service is None or (self.index_job is not None and self.index_job.running):
            return None

        def run(progress: ProgressCallback, cancel: CancelToken) -> tuple[Any, int]:
            try:
                report = embed_library(self.library, service.model, progress, cancel)
            finally:
                service.reload_index()  # a cancelled run still keeps what it embedded
            return report, service.missing_count()

        self.index_button.setEnabled(False)
        job = self.window_.runner.start("Indexing", run)
        job.succeeded.connect(self._indexed)
        job.finished.connect(self._index_finished)
        job.cancelled.connect(self.library_changed)
        self.index_job = job
        return job

    def _index_finished(self) -> None:
        self.index_button.setEnabled(True)

    def _indexed(self, outcome: tuple[Any, int]) -> None:
        report, missing = outcome
        self.window_.statusBar().showMessage(report.summary(), 30_000)
        self._show_index_offer(missing)
        if report.skipped:
            self.window_.status_changed.emit()  # images were marked unreadable
        self.search_now()

    def library_changed(self) -> None:
        """Images were added, removed or marked unreadable: update what searches may return."""
        service = self.service
        if service is None:
            return

        def refresh(_progress: ProgressCallback, _cancel: CancelToken) -> int:
            service.refresh()
            return service.missing_count()

        job = self.quiet.start("refresh search", refresh)
        job.succeeded.connect(self._show_index_offer)

    # -- selection, context menu, shutdown -------------------------------------------------------
    def _on_current(self, item: ImageItem | None) -> None:
        self.similar_button.setEnabled(item is not None and self.service is not None)
        self.detail.show_image(item.id if item is not None else None)

    def open_large_view(self, item: ImageItem) -> None:
        """Show a result large in its own window (Enter or double click)."""
        view = LargeView(self.library, Path(item.path), self)
        view.finished.connect(lambda _=0, v=view: self.dialogs.remove(v))
        self.dialogs.append(view)
        view.show()

    def _context_menu(self, pos: QPoint) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        self.grid.setCurrentIndex(index)
        menu = QMenu(self)
        menu.addAction(self.similar_action)
        menu.popup(self.grid.viewport().mapToGlobal(pos))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window_ and event.type() == QEvent.Type.Close:
            self.grid.shutdown()
            self.detail.shutdown()
        return False

"""A reusable grid of image thumbnails that stays smooth at 50,000 images.

- `ImageGridModel` is a flat list model over `ImageItem`s (id, path, content hash). It asks for a
  thumbnail only when the view asks for an item's icon, which Qt does for visible items only.
- `ThumbnailLoader` reads (or makes) thumbnail files on its own small thread pool, newest request
  first, dropping requests that scrolled out of view long ago, and hands back QImages by signal.
- QImage -> QPixmap happens on the main thread (pixmaps belong to the GUI thread); pixmaps live in
  an LRU cache bounded in count, so memory does not grow with the library.
- `ImageGrid` is the QListView (icon mode, uniform item sizes) wired to both.

Reuse (e.g. search results): `grid = ImageGrid.for_library(library)`, then
`grid.set_items(core.browse.list_items(library, ids))` keeps the order of `ids`; connect
`grid.current_changed` / `grid.item_activated`; call `grid.shutdown()` when the window closes.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from mclip_gui.core.browse import ImageItem
from mclip_gui.core.errors import MclipError
from mclip_gui.core.library import Library

log = logging.getLogger(__name__)

ItemRole = Qt.ItemDataRole.UserRole + 1  # the row's ImageItem
ImageIdRole = Qt.ItemDataRole.UserRole + 2  # the row's image id

# Returns the path of the thumbnail file of an item (making it if needed); runs on a worker.
ThumbnailFetch = Callable[[ImageItem], Path]
ModelIndex = QModelIndex | QPersistentModelIndex


class ThumbnailLoader(QObject):
    """Loads thumbnails off the main thread, most recently requested first.

    Only the newest `max_queue` requests are kept: when the user flings through thousands of
    rows, the ones that flew past are dropped instead of delaying what is on screen now.
    """

    loaded = Signal(str, QImage)  # content hash, image scaled to fit the icon size
    failed = Signal(str, str)  # content hash, reason

    def __init__(
        self,
        fetch: ThumbnailFetch,
        icon_size: int,
        workers: int = 2,
        max_queue: int = 256,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self._fetch = fetch
        self._icon_size = icon_size
        self._workers = workers
        self._max_queue = max_queue
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(workers)
        self._lock = threading.Lock()
        self._queue: OrderedDict[str, ImageItem] = OrderedDict()  # newest last
        self._busy: set[str] = set()
        self._running = 0
        self._stopped = False

    def request(self, item: ImageItem) -> None:
        """Queue the thumbnail of `item` (ignored when already queued or loading)."""
        key = item.content_hash
        if key is None:
            return
        with self._lock:
            if self._stopped or key in self._busy:
                return
            self._queue[key] = item
            self._queue.move_to_end(key)
            while len(self._queue) > self._max_queue:
                self._queue.popitem(last=False)
            start = self._running < self._workers
            if start:
                self._running += 1
        if start:
            self._pool.start(_LoaderRunnable(self))

    def clear_pending(self) -> None:
        """Forget queued requests (the items shown changed)."""
        with self._lock:
            self._queue.clear()

    def shutdown(self, msecs: int = 5000) -> None:
        """Stop taking requests and wait for the workers; call before the loader goes away."""
        with self._lock:
            self._stopped = True
            self._queue.clear()
        self._pool.waitForDone(msecs)

    def _next(self) -> ImageItem | None:
        with self._lock:
            if self._stopped or not self._queue:
                self._running -= 1
                return None
            key, item = self._queue.popitem(last=True)
            self._busy.add(key)
            return item

    def work(self) -> None:
        """Worker loop: load queued thumbnails until the queue is empty."""
        while (item := self._next()) is not None:
            key = item.content_hash or ""
            try:
                self.loaded.emit(key, self._load(item))
            except (MclipError, OSError) as e:
                log.warning("no thumbnail for %s: %s", item.path, e)
                self.failed.emit(key, str(e))
            except Exception as e:  # a bug must cost one icon, not the worker thread
                log.exception("thumbnail loader failed on %s", item.path)
                self.failed.emit(key, f"{type(e).__name__}: {e}")
            finally:
                with self._lock:
                    self._busy.discard(key)

    def _load(self, item: ImageItem) -> QImage:
        path = self._fetch(item)
        image = QImage(str(path))
        if image.isNull():
            raise OSError(f"cannot read thumbnail file {path}")
        size = self._icon_size
        if image.width() > size or image.height() > size:
            image = image.scaled(
                size,
                size,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        return image


class _LoaderRunnable(QRunnable):
    def __init__(self, loader: ThumbnailLoader):
        super().__init__()
        self._loader = loader

    def run(self) -> None:
        lower_thread_priority()
        self._loader.work()


def lower_thread_priority() -> None:
    """Let the main thread win the CPU over this worker, so scrolling stays smooth."""
    from mclip_gui.core.thumbnails import background_priority

    background_priority()


class ImageGridModel(QAbstractListModel):
    """List model over image items; icons come lazily from a ThumbnailLoader."""

    def __init__(self, loader: ThumbnailLoader, icon_size: int, cache_size: int = 600):
        super().__init__()
        self.loader = loader
        self._items: list[ImageItem] = []
        self._rows_by_key: dict[str, list[int]] = {}
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._cache_size = cache_size
        self._failed: dict[str, str] = {}
        self.placeholder = _placeholder(icon_size, QColor(226, 226, 226))
        self.broken = _placeholder(icon_size, QColor(240, 200, 200))
        loader.loaded.connect(self._on_loaded)
        loader.failed.connect(self._on_failed)

    def set_items(self, items: Sequence[ImageItem]) -> None:
        """Show these items, in this order."""
        self.beginResetModel()
        self._items = list(items)
        self._rows_by_key = {}
        for row, item in enumerate(self._items):
            if item.content_hash is not None:
                self._rows_by_key.setdefault(item.content_hash, []).append(row)
        self.loader.clear_pending()
        self.endResetModel()

    def item(self, row: int) -> ImageItem:
        return self._items[row]

    def row_of(self, image_id: int) -> int | None:
        """The row showing image `image_id`, or None (a linear scan; for tests and selection)."""
        return next((r for r, item in enumerate(self._items) if item.id == image_id), None)

    def has_thumbnail(self, row: int) -> bool:
        key = self._items[row].content_hash
        return key is not None and key in self._pixmaps

    @property
    def cached_pixmaps(self) -> int:
        return len(self._pixmaps)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's idiom)
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(item)
        if role == Qt.ItemDataRole.DisplayRole:
            return item.name
        if role == Qt.ItemDataRole.ToolTipRole:
            reason = self._failed.get(item.content_hash or "")
            return f"{item.path}\n{reason}" if reason else item.path
        if role == ItemRole:
            return item
        if role == ImageIdRole:
            return item.id
        return None

    def _icon(self, item: ImageItem) -> QPixmap:
        key = item.content_hash
        if key is None or key in self._failed:
            return self.broken
        pixmap = self._pixmaps.get(key)
        if pixmap is not None:
            self._pixmaps.move_to_end(key)
            return pixmap
        self.loader.request(item)
        return self.placeholder

    def _on_loaded(self, key: str, image: QImage) -> None:
        rows = self._rows_by_key.get(key)
        if not rows:
            return  # the items changed while it loaded
        self._pixmaps[key] = QPixmap.fromImage(image)
        while len(self._pixmaps) > self._cache_size:
            self._pixmaps.popitem(last=False)
        self._changed(rows)

    def _on_failed(self, key: str, reason: str) -> None:
        self._failed[key] = reason
        self._changed(self._rows_by_key.get(key, []))

    def _changed(self, rows: list[int]) -> None:
        for row in rows:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


def _placeholder(size: int, colour: QColor) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.fillRect(size // 8, size // 8, size * 3 // 4, size * 3 // 4, colour)
    painter.end()
    return pixmap


class ImageGrid(QListView):
    """Icon-mode list of thumbnails with keyboard navigation; Enter activates the current item."""

    current_changed = Signal(object)  # ImageItem or None
    item_activated = Signal(object)  # ImageItem (Enter or double click)

    def __init__(self, model: ImageGridModel, icon_size: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid_model = model
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        # Uniform sizes let the view lay out 50,000 cells without asking each for its size.
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(icon_size, icon_size))
        self.base_cell = QSize(icon_size + 16, icon_size + 28)
        self.setGridSize(self.base_cell)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setWordWrap(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(icon_size // 3)
        self.setModel(model)
        self.selectionModel().currentChanged.connect(self._on_current)
        self.activated.connect(self._on_activated)
        model.modelReset.connect(lambda: self.current_changed.emit(None))

    @classmethod
    def for_library(cls, library: Library, parent: QWidget | None = None) -> ImageGrid:
        """A grid whose thumbnails come from (and are made into) the library's cache."""

        def fetch(item: ImageItem) -> Path:
            # Imported here, on a worker: Pillow and its plugins are not needed for the first paint.
            from mclip_gui.core.thumbnails import ensure_thumbnail

            assert item.content_hash is not None  # the loader skips items without a hash
            return ensure_thumbnail(library, item.content_hash, Path(item.path))

        icon_size = min(library.settings.thumbnail_size, 160)
        loader = ThumbnailLoader(fetch, icon_size)
        grid = cls(ImageGridModel(loader, icon_size), icon_size, parent)
        loader.setParent(grid)
        return grid

    def set_items(self, items: Sequence[ImageItem]) -> None:
        self.grid_model.set_items(items)

    def current_item(self) -> ImageItem | None:
        index = self.currentIndex()
        return self.grid_model.item(index.row()) if index.isValid() else None

    def select_row(self, row: int) -> None:
        index = self.grid_model.index(row)
        self.setCurrentIndex(index)
        self.scrollTo(index)

    def shutdown(self) -> None:
        """Wait for thumbnail workers; call when the window closes."""
        self.grid_model.loader.shutdown()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Widen the cells so whole columns fill the width (no ragged gap on the right).

        The width is taken as if the vertical scroll bar were shown, so that the bar coming
        or going cannot change the column count back and forth.
        """
        bar = self.verticalScrollBar().sizeHint().width()
        width = self.width() - 2 * self.frameWidth() - bar
        columns = max(1, width // self.base_cell.width())
        cell = QSize(max(self.base_cell.width(), width // columns), self.base_cell.height())
        if cell != self.gridSize():
            self.setGridSize(cell)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Qt only activates on Enter on some platforms; make it the same everywhere.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self._on_activated(self.currentIndex())
            return
        super().keyPressEvent(event)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_changed.emit(
            self.grid_model.item(current.row()) if current.isValid() else None
        )

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.item_activated.emit(self.grid_model.item(index.row()))

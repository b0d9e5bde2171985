"""The pane beside the grid: the selected image large, its file facts and its captions.

The image is decoded on a worker thread (through core.images.open_image, so EXIF orientation and
odd modes are handled as everywhere else); a newer selection makes older results stale.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QAction, QGuiApplication, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QListWidget,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mclip_gui.core.browse import ImageDetails, image_details
from mclip_gui.core.errors import ImageError
from mclip_gui.core.library import Library

log = logging.getLogger(__name__)

# Longest side the pane decodes to: sharp on a large screen, fast for 50-megapixel photos.
PREVIEW_SIZE = 1600


class ImageDecoder(QObject):
    """Decodes images for display on one worker thread; results carry the request number."""

    decoded = Signal(int, QImage)  # request number, image
    failed = Signal(int, str)  # request number, reason

    def __init__(self, max_pixels: int, parent: QObject | None = None):
        super().__init__(parent)
        self._max_pixels = max_pixels
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.latest = 0

    def request(self, path: Path) -> int:
        """Start decoding `path`; returns the request number its result will carry."""
        self.latest += 1
        self._pool.clear()  # a queued older request is no longer wanted
        self._pool.start(_DecodeRunnable(self, self.latest, path))
        return self.latest

    def decode(self, number: int, path: Path) -> None:
        """Runs on the worker thread."""
        if number != self.latest:
            return
        try:
            self.decoded.emit(number, load_qimage(path, self._max_pixels))
        except ImageError as e:
            self.failed.emit(number, str(e))

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone(5000)


class _DecodeRunnable(QRunnable):
    def __init__(self, decoder: ImageDecoder, number: int, path: Path):
        super().__init__()
        self._args = (decoder, number, path)

    def run(self) -> None:
        decoder, number, path = self._args
        decoder.decode(number, path)


def load_qimage(path: Path, max_pixels: int, size: int = PREVIEW_SIZE) -> QImage:
    """Decode `path` upright into a QImage whose longest side is at most `size`."""
    from PIL import Image as PILImage

    from mclip_gui.core.images import open_image

    img = open_image(path, max_pixels, draft_size=size)
    img.thumbnail((size, size), PILImage.Resampling.BICUBIC)
    data = img.tobytes()
    image = QImage(data, img.width, img.height, 3 * img.width, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: `data` is freed when this function returns


class ScaledImageLabel(QLabel):
    """A label showing a pixmap scaled to fit, kept sharp on resize."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._pixmap = QPixmap()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(QSize(160, 160))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_image(self, pixmap: QPixmap) -> None:
        self._pixmap = pixmap
        self._rescale()

    def clear_image(self, text: str = "") -> None:
        self._pixmap = QPixmap()
        self.setPixmap(QPixmap())
        self.setText(text)

    def has_image(self) -> bool:
        return not self._pixmap.isNull()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap.isNull():
            return
        self.setPixmap(
            self._pixmap.scaled(
                self.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )


class ElidedLabel(QLabel):
    """One line elided in the middle to fit the pane; tooltip and Copy give the full text.

    Long paths and hashes would otherwise widen the pane at the grid's expense.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)
        copy = QAction("Copy", self)
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(self._full))
        self.addAction(copy)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), 40)
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, width))


FACTS = ("Path", "Size", "Dimensions", "Format", "Content hash", "State", "Split", "Duplicate of")


class DetailPane(QWidget):
    """Shows one image: large preview, file facts, captions."""

    def __init__(self, library: Library, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.details: ImageDetails | None = None
        self.decoder = ImageDecoder(library.settings.max_image_pixels, self)
        self.decoder.decoded.connect(self._on_decoded)
        self.decoder.failed.connect(self._on_failed)
        self.preview = ScaledImageLabel()
        self.facts: dict[str, ElidedLabel] = {}
        self.captions_title = QLabel("Captions")
        self.captions = QListWidget()
        self.captions.setWordWrap(True)
        self._build()
        self.show_image(None)

    def _build(self) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name in FACTS:
            label = ElidedLabel()
            self.facts[name] = label
            form.addRow(f"{name}:", label)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 3)
        layout.addLayout(form)
        layout.addWidget(self.captions_title)
        layout.addWidget(self.captions, 1)

    def show_image(self, image_id: int | None) -> None:
        """Show image `image_id` (None clears the pane)."""
        self.details = image_details(self.library, image_id) if image_id is not None else None
        details = self.details
        if details is None:
            self.preview.clear_image("Select an image")
            for label in self.facts.values():
                label.set_full_text("")
            self.captions.clear()
            self.captions_title.setText("Captions")
            return
        self.preview.clear_image("Loading…")
        self.decoder.request(Path(details.path))
        self._fill_facts(details)
        self._fill_captions(details)

    def _fill_facts(self, d: ImageDetails) -> None:
        state = d.state if not d.reason else f"{d.state}: {d.reason}"
        values = {
            "Path": d.path,
            "Size": human_size(d.size),
            "Dimensions": f"{d.width} × {d.height}" if d.width and d.height else "unknown",
            "Format": d.format or "unknown",
            "Content hash": d.content_hash or "not computed",
            "State": state,
            "Split": d.split or "not assigned",
            "Duplicate of": f"image {d.duplicate_of}" if d.duplicate_of else "no",
        }
        for name, value in values.items():
            self.facts[name].set_full_text(value)

    def _fill_captions(self, d: ImageDetails) -> None:
        self.captions.clear()
        self.captions_title.setText(f"Captions ({len(d.captions)})" if d.captions else "Captions")
        if not d.captions:
            self.captions.addItem("No captions yet.")
        for c in d.captions:
            author = f", {c.author}" if c.author else ""
            self.captions.addItem(f"{c.text}\n({c.state}, {c.language}{author})")

    def _on_decoded(self, number: int, image: QImage) -> None:
        if number == self.decoder.latest and self.details is not None:
            self.preview.set_image(QPixmap.fromImage(image))

    def _on_failed(self, number: int, reason: str) -> None:
        if number == self.decoder.latest:
            self.preview.clear_image(f"Cannot show this image: {reason}")

    def shutdown(self) -> None:
        self.decoder.shutdown()


class LargeView(QDialog):
    """The image alone, as large as the screen allows (Enter in the grid; Esc closes)."""

    def __init__(self, library: Library, path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(path.name)
        self.resize(1000, 800)
        self.label = ScaledImageLabel()
        self.label.setText("Loading…")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        self.decoder = ImageDecoder(library.settings.max_image_pixels, self)
        self.decoder.decoded.connect(
            lambda _n, image: self.label.set_image(QPixmap.fromImage(image))
        )
        self.decoder.failed.connect(lambda _n, reason: self.label.clear_image(reason))
        self.decoder.request(path)
        self.finished.connect(self.decoder.shutdown)


def human_size(n: int) -> str:
    """ "12.3 KB (12,345 bytes)"."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            short = f"{n:,} bytes" if unit == "bytes" else f"{value:.1f} {unit} ({n:,} bytes)"
            return short
        value /= 1024
    return f"{n:,} bytes"

"""Caption screen: the next image that needs a caption, the task, rules while typing, tokens.

Keys: Ctrl+Enter submits, Alt+Right skips, Alt+Left goes back to the previous image, Alt+Z
withdraws one's own last caption that nobody has judged yet. The text is saved as a draft
while typing (debounced) and comes back with the image. Images are decoded on a worker thread.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QObject,
    QRunnable,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mclip_gui.core.captions.rules import RuleViolation, check_caption
from mclip_gui.core.captions.service import CaptionService, ImageItem
from mclip_gui.core.errors import CaptionError, ImageError
from mclip_gui.gui.annotator import annotator_switcher
from mclip_gui.gui.jobs import connect_alive
from mclip_gui.gui.translations import add_language_menu, ensure_installed

log = logging.getLogger(__name__)

DRAFT_DEBOUNCE_MS = 400
TOKENIZER_DELAY_MS = 300


def load_tokenizer_or_reason(spec: str, library: Any) -> tuple[Any, str]:
    """(tokenizer, "") or (None, why not): runs on a worker thread, imports open_clip there."""
    from mclip_gui.core.errors import MclipError
    from mclip_gui.core.modelspec import load_tokenizer

    try:
        return load_tokenizer(spec, library), ""
    except MclipError as e:
        return None, str(e)


# Replaced in tests that do not look at the token preview (loading open_clip takes seconds).
tokenizer_loader = load_tokenizer_or_reason


# -- image display, shared with the validate screen -----------------------------------------
class _LoadImage(QRunnable):
    def __init__(self, loader: ImageLoader, key: int, path: str, max_pixels: int):
        super().__init__()
        self.loader, self.key, self.path, self.max_pixels = loader, key, path, max_pixels

    def run(self) -> None:
        from mclip_gui.core.images import open_image

        try:
            picture = open_image(Path(self.path), self.max_pixels)
            data = picture.tobytes("raw", "RGB")
            image = QImage(
                data, picture.width, picture.height, 3 * picture.width, QImage.Format.Format_RGB888
            ).copy()
        except ImageError as e:
            self.loader.failed.emit(self.key, str(e))
        except Exception as e:  # any decoder failure is shown, never a crash
            log.exception("image %s could not be shown", self.path)
            self.loader.failed.emit(self.key, f"{type(e).__name__}: {e}")
        else:
            self.loader.loaded.emit(self.key, image)


class ImageLoader(QObject):
    """Decodes images off the main thread; results arrive by signal on the main thread."""

    loaded = Signal(int, QImage)
    failed = Signal(int, str)

    def load(self, key: int, path: str, max_pixels: int) -> None:
        QThreadPool.globalInstance().start(_LoadImage(self, key, path, max_pixels))


class ImageView(QLabel):
    """A large image, scaled to fit, or the reason it cannot be shown."""

    shown = Signal(int)  # key of the image now on screen (tests wait for it)
    load_failed = Signal(int, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("imageView")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(360, 360)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.key: int | None = None
        self._image: QImage | None = None
        self.loader = ImageLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_failed)

    def show_image(self, key: int, path: str, max_pixels: int) -> None:
        self.key = key
        self._image = None
        self.setPixmap(QPixmap())
        self.setText(self.tr("Loading image…"))
        self.loader.load(key, path, max_pixels)

    def clear_image(self, text: str) -> None:
        self.key = None
        self._image = None
        self.setPixmap(QPixmap())
        self.setText(text)

    def _on_loaded(self, key: int, image: QImage) -> None:
        if key != self.key:
            return  # an older image finished after the user moved on
        self._image = image
        self._rescale()
        self.shown.emit(key)

    def _on_failed(self, key: int, reason: str) -> None:
        if key != self.key:
            return
        self.setText(self.tr("This image cannot be shown: %1").replace("%1", reason))
        self.load_failed.emit(key, reason)

    def _rescale(self) -> None:
        if self._image is None:
            return
        pixmap = QPixmap.fromImage(self._image)
        self.setPixmap(
            pixmap.scaled(
                self.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()


# -- rule messages, translated from the rule ids ----------------------------------------------
def rule_message(violation: RuleViolation, min_words: int) -> str:
    """The message of a broken rule in the interface language."""

    if violation.rule == "empty":
        return QCoreApplication.translate("CaptionRules", "The caption is empty.")
    if violation.rule == "punctuation_only":
        return QCoreApplication.translate(
            "CaptionRules", "The caption has no words, only punctuation or symbols."
        )
    if violation.rule == "too_few_words":
        text = QCoreApplication.translate("CaptionRules", "Write at least %1 words (now %2).")
        return text.replace("%1", str(min_words)).replace("%2", violation.detail)
    if violation.rule == "separators":
        text = QCoreApplication.translate(
            "CaptionRules", 'Separate words only with a space or ", " (found %1).'
        )
        return text.replace("%1", violation.detail)
    if violation.rule == "symbols":
        text = QCoreApplication.translate(
            "CaptionRules", "Write words, not emoji or symbols (found %1)."
        )
        return text.replace("%1", violation.detail)
    if violation.rule == "opening":
        text = QCoreApplication.translate(
            "CaptionRules", 'Do not start with "%1": name the product right away.'
        )
        return text.replace("%1", violation.detail)
    return violation.message


class CaptionPage(QWidget):
    """The caption screen; all storage goes through CaptionService."""

    submitted = Signal(int)  # caption id
    item_changed = Signal(object)  # ImageItem or None

    def __init__(self, window: Any):
        super().__init__()
        self.setObjectName("captionPage")
        self.window_ = window
        self.library = window.library
        ensure_installed(self.library)
        add_language_menu(window)
        self.switcher = annotator_switcher(window)
        self.service: CaptionService | None = None
        self.item: ImageItem | None = None
        self.tokenizer: Any = None
        self.tokenizer_error = ""
        self.tokenizer_spec: str | None = None  # the model whose tokenizer is loaded or loading
        self._build()
        self._connect()
        self.retranslate()
        self.switcher.changed.connect(self.start_session)
        self.switcher.closing.connect(self.end_session)
        if self.switcher.name:
            self.start_session(self.switcher.name)

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.image_view = ImageView()
        self.path_label = QLabel()
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left = QVBoxLayout()
        left.addWidget(self.image_view, 1)
        left.addWidget(self.path_label)
        self.language_label = QLabel()
        self.language_combo = QComboBox()
        self.language_combo.setObjectName("captionLanguage")
        self.language_combo.addItem("Deutsch (de)", "de")
        self.language_combo.addItem("English (en)", "en")
        self.language_combo.setCurrentIndex(
            self.language_combo.findData(self.library.settings.caption_language)
        )
        language_row = QHBoxLayout()
        language_row.addWidget(self.language_label)
        language_row.addWidget(self.language_combo)
        language_row.addStretch(1)
        self.task_label = QLabel()
        self.task_label.setObjectName("taskText")
        self.task_label.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("captionEditor")
        self.editor.setTabChangesFocus(True)
        self.editor.setMaximumHeight(120)
        self.rules_label = QLabel()
        self.rules_label.setObjectName("ruleMessages")
        self.rules_label.setWordWrap(True)
        self.rules_label.setStyleSheet("color: #b00020;")
        self.tokens_label = QLabel()
        self.tokens_label.setObjectName("tokenPreview")
        self.tokens_label.setWordWrap(True)
        self.tokens_label.setTextFormat(Qt.TextFormat.PlainText)
        self.token_warning = QLabel()
        self.token_warning.setObjectName("tokenWarning")
        self.token_warning.setWordWrap(True)
        self.token_warning.setStyleSheet("color: #a15c00;")
        self.status_label = QLabel()
        self.status_label.setObjectName("captionStatus")
        self.status_label.setWordWrap(True)
        self.submit_button = QPushButton()
        self.skip_button = QPushButton()
        self.back_button = QPushButton()
        self.undo_button = QPushButton()
        buttons = QHBoxLayout()
        for button in (self.back_button, self.skip_button, self.undo_button, self.submit_button):
            buttons.addWidget(button)
        right = QVBoxLayout()
        right.addLayout(language_row)
        for widget in (self.task_label, self.editor, self.rules_label):
            right.addWidget(widget)
        right.addWidget(self.tokens_label)
        right.addWidget(self.token_warning)
        right.addLayout(buttons)
        right.addWidget(self.status_label)
        right.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addLayout(right, 2)
        self.draft_timer = QTimer(self)
        self.draft_timer.setSingleShot(True)
        self.draft_timer.setInterval(DRAFT_DEBOUNCE_MS)

    def _connect(self) -> None:
        self.editor.textChanged.connect(self._on_text_changed)
        self.language_combo.currentIndexChanged.connect(self._on_language)
        self.draft_timer.timeout.connect(self.save_draft)
        self.submit_button.clicked.connect(self.submit)
        self.skip_button.clicked.connect(self.skip)
        self.back_button.clicked.connect(self.back)
        self.undo_button.clicked.connect(self.undo)
        keys = [
            ("Ctrl+Return", self.submit),
            ("Ctrl+Enter", self.submit),
            ("Alt+Right", self.skip),
            ("Alt+Left", self.back),
            ("Alt+Z", self.undo),
        ]
        self.shortcuts = []
        for key, slot in keys:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
            self.shortcuts.append(shortcut)

    def retranslate(self) -> None:
        self.task_label.setText(
            self.tr(
                "Write a search query that would find this product: name its type, a guess at "
                "its material, where it might be worn, its colour, texture and details."
            )
        )
        self.editor.setPlaceholderText(self.tr("e.g. leichte Damenjacke aus Baumwolle, braun"))
        self.language_label.setText(self.tr("Caption language:"))
        self.submit_button.setText(self.tr("Submit (Ctrl+Enter)"))
        self.skip_button.setText(self.tr("Skip (Alt+→)"))
        self.back_button.setText(self.tr("Back (Alt+←)"))
        self.undo_button.setText(self.tr("Undo my last caption (Alt+Z)"))
        self._retitle()
        self._update_checks()
        if self.item is None:
            self._show_empty()

    def _retitle(self) -> None:
        tabs = getattr(self.window_, "tabs", None)
        if tabs is not None and tabs.indexOf(self) >= 0:
            tabs.setTabText(tabs.indexOf(self), self.tr("Caption"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        # The keys work while focus is inside the page: start in the text box.
        QTimer.singleShot(0, self.editor, self.editor.setFocus)
        QTimer.singleShot(0, self.switcher, self.switcher.ask_on_first_start)
        # Loading a tokenizer imports open_clip and torch: only after the window has painted,
        # and again when the active model changed since.
        QTimer.singleShot(TOKENIZER_DELAY_MS, self, self._ensure_tokenizer)

    def _ensure_tokenizer(self) -> None:
        if self.isVisible() and self.tokenizer_spec != self.library.settings.model:
            self.load_tokenizer()

    # -- session and queue -------------------------------------------------------------------
    def start_session(self, name: str) -> None:
        """(Re)start work as annotator `name`: give back the old claims, serve the next image."""
        self.flush_draft()
        if self.service is not None:
            self.service.close()
        self.service = CaptionService(self.library, name, f"{self.switcher.session_id}-caption")
        self.show_item(self.service.next_image())

    def end_session(self) -> None:
        """Save the text typed last and give back this page's claims (the window closes)."""
        self.flush_draft()
        if self.service is not None:
            self.service.close()

    def show_item(self, item: ImageItem | None) -> None:
        self.item = item
        self.draft_timer.stop()
        self.editor.blockSignals(True)
        self.editor.setPlainText((item.draft or item.own_caption) if item else "")
        self.editor.blockSignals(False)
        if item is None:
            self._show_empty()
        else:
            self.image_view.show_image(
                item.image_id, item.path, self.library.settings.max_image_pixels
            )
            self.path_label.setText(item.path)
            if item.own_caption_id is not None and not item.draft:
                self.status_label.setText(
                    self.tr("You captioned this image already; submitting replaces your caption.")
                )
        self.editor.setEnabled(item is not None)
        self._update_checks()
        if self.isVisible():
            self.editor.setFocus()
        self.item_changed.emit(item)

    def _show_empty(self) -> None:
        if self.service is None:
            self.image_view.clear_image(self.tr("Choose an annotator name to start."))
        else:
            self.image_view.clear_image(self.tr("No image needs a caption right now."))
        self.path_label.clear()

    def _on_language(self) -> None:
        """Switch the caption language: its rule set, and the queue of images without one."""
        language = str(self.language_combo.currentData())
        if language == self.library.settings.caption_language:
            return
        self.library.update_settings(caption_language=language)
        log.info("caption language set to %s", language)
        if self.service is not None:
            self.start_session(self.service.annotator_name)

    # -- typing ------------------------------------------------------------------------------
    def _on_text_changed(self) -> None:
        self.status_label.clear()
        self._update_checks()
        self.draft_timer.start()

    def violations(self) -> list[RuleViolation]:
        settings = self.library.settings
        text = self.editor.toPlainText()
        return check_caption(text, settings.caption_language, settings.min_caption_words)

    def _update_checks(self) -> None:
        broken = self.violations() if self.item is not None else []
        typed = bool(self.editor.toPlainText().strip())
        min_words = self.library.settings.min_caption_words
        # An untouched box shows no scolding; the empty rule still blocks submission.
        shown = [rule_message(v, min_words) for v in broken if typed or v.rule != "empty"]
        self.rules_label.setText("\n".join(shown))
        self.submit_button.setEnabled(self.item is not None and not broken)
        self.skip_button.setEnabled(self.item is not None)
        self._update_tokens()

    def save_draft(self) -> None:
        if self.service is not None and self.item is not None:
            self.service.save_draft(self.item.image_id, self.editor.toPlainText())

    def flush_draft(self) -> None:
        if self.draft_timer.isActive():
            self.draft_timer.stop()
            self.save_draft()

    # -- actions -----------------------------------------------------------------------------
    def submit(self) -> None:
        if self.service is None or self.item is None:
            return
        broken = self.violations()
        if broken:
            self.status_label.setText(self.tr("Fix the caption first: each message says how."))
            return
        self.draft_timer.stop()
        try:
            caption_id = self.service.submit(self.item.image_id, self.editor.toPlainText())
        except CaptionError as e:
            self.save_draft()
            self.status_label.setText(str(e))
            return
        self.submitted.emit(caption_id)
        self.window_.status_changed.emit()
        self.show_item(self.service.next_image())
        self.status_label.setText(self.tr("Caption saved."))

    def skip(self) -> None:
        if self.service is None or self.item is None:
            return
        self.flush_draft()
        self.show_item(self.service.skip(self.item.image_id))

    def back(self) -> None:
        if self.service is None:
            return
        self.flush_draft()
        try:
            item = self.service.previous()
        except CaptionError as e:
            self.status_label.setText(str(e))
            return
        if item is None:
            self.status_label.setText(self.tr("This is the first image of this session."))
            return
        self.show_item(item)

    def undo(self) -> None:
        if self.service is None:
            return
        self.flush_draft()
        try:
            item = self.service.undo_last()
        except CaptionError:
            self.status_label.setText(
                self.tr("Nothing to undo: none of your captions is still waiting for validation.")
            )
            return
        self.window_.status_changed.emit()
        self.show_item(item)
        self.status_label.setText(self.tr("Your last caption was withdrawn; edit and submit it."))

    # -- token preview -----------------------------------------------------------------------
    def load_tokenizer(self) -> None:
        """Load the active model's tokenizer in the background (no weights)."""
        spec, library = self.library.settings.model, self.library
        self.tokenizer_spec = spec
        self.tokenizer, self.tokenizer_error = None, ""
        job = self.window_.runner.start(
            self.tr("Loading tokenizer"), lambda _p, _c: tokenizer_loader(spec, library)
        )
        connect_alive(job.succeeded, self, lambda result: self._on_tokenizer(result, spec))

    def _on_tokenizer(self, result: tuple[Any, str], spec: str) -> None:
        if spec != self.tokenizer_spec:
            return  # the model changed while this one loaded
        self.tokenizer, self.tokenizer_error = result
        if self.tokenizer is None:
            log.warning("token preview unavailable: %s", self.tokenizer_error)
        self._update_tokens()

    def _update_tokens(self) -> None:
        text = self.editor.toPlainText().strip()
        self.token_warning.clear()
        if self.tokenizer is None:
            message = self.tr("Token preview unavailable: %1").replace("%1", self.tokenizer_error)
            self.tokens_label.setText(message if self.tokenizer_error else "")
            return
        if not text:
            self.tokens_label.clear()
            return
        pieces = self.tokenizer.pieces(text)
        count = self.tokenizer.count(text)
        limit = self.tokenizer.context_length
        self.tokens_label.setText(
            self.tr("%1 pieces (%2 of %3 tokens): ")
            .replace("%1", str(len(pieces)))
            .replace("%2", str(count))
            .replace("%3", str(limit))
            + " · ".join(pieces)
        )
        if count > limit:
            self.token_warning.setText(
                self.tr(
                    "The caption is longer than the model's context (%1 of %2 tokens); "
                    "the end will be cut off."
                )
                .replace("%1", str(count))
                .replace("%2", str(limit))
            )


def create_page(window: Any) -> tuple[str, QWidget]:
    page = CaptionPage(window)
    return QCoreApplication.translate("CaptionPage", "Caption"), page

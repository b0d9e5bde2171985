"""Validate screen: an image and a caption by someone else; keys 1, 2, 3 give the verdict.

1 appropriate, 2 inappropriate, 3 image failed to load, S skips. One's own captions are never
served unless settings.allow_self_review is on. The majority rule lives in the service.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from mclip_gui.core.captions.service import CaptionService, ValidationItem
from mclip_gui.core.errors import CaptionError
from mclip_gui.gui.annotator import annotator_switcher
from mclip_gui.gui.pages.caption_page import ImageView
from mclip_gui.gui.translations import add_language_menu, ensure_installed

log = logging.getLogger(__name__)


class ValidatePage(QWidget):
    """The validate screen."""

    judged = Signal(int, str, object)  # caption id, verdict, new state or None
    item_changed = Signal(object)  # ValidationItem or None

    def __init__(self, window: Any):
        super().__init__()
        self.setObjectName("validatePage")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # keys 1, 2, 3, S act while focused
        self.window_ = window
        self.library = window.library
        ensure_installed(self.library)
        add_language_menu(window)
        self.switcher = annotator_switcher(window)
        self.service: CaptionService | None = None
        self.item: ValidationItem | None = None
        self._build()
        self.retranslate()
        self.switcher.changed.connect(self.start_session)
        self.switcher.closing.connect(self.end_session)
        if self.switcher.name:
            self.start_session(self.switcher.name)

    def _build(self) -> None:
        self.image_view = ImageView()
        self.caption_label = QLabel()
        self.caption_label.setObjectName("captionText")
        self.caption_label.setWordWrap(True)
        self.caption_label.setTextFormat(Qt.TextFormat.PlainText)
        self.caption_label.setStyleSheet("font-size: 16pt;")
        self.caption_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info_label = QLabel()
        self.status_label = QLabel()
        self.status_label.setObjectName("validateStatus")
        self.status_label.setWordWrap(True)
        self.verdict_buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for key, verdict in (("1", "appropriate"), ("2", "inappropriate"), ("3", "image_failed")):
            button = QPushButton()
            button.clicked.connect(lambda _=False, v=verdict: self.give(v))
            self.verdict_buttons[verdict] = button
            row.addWidget(button)
            self._shortcut(key, lambda v=verdict: self.give(v))
        self.skip_button = QPushButton()
        self.skip_button.clicked.connect(self.skip)
        row.addWidget(self.skip_button)
        self._shortcut("S", self.skip)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image_view, 1)
        layout.addWidget(self.caption_label)
        layout.addWidget(self.info_label)
        layout.addLayout(row)
        layout.addWidget(self.status_label)

    def _shortcut(self, key: str, slot: Any) -> None:
        shortcut = QShortcut(QKeySequence(key), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(slot)

    def retranslate(self) -> None:
        labels = {
            "appropriate": self.tr("1  Appropriate"),
            "inappropriate": self.tr("2  Inappropriate"),
            "image_failed": self.tr("3  Image failed to load"),
        }
        for verdict, button in self.verdict_buttons.items():
            button.setText(labels[verdict])
        self.skip_button.setText(self.tr("Skip (S)"))
        tabs = getattr(self.window_, "tabs", None)
        if tabs is not None and tabs.indexOf(self) >= 0:
            tabs.setTabText(tabs.indexOf(self), self.tr("Validate"))
        self._show_texts()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def start_session(self, name: str) -> None:
        """(Re)start as annotator `name`: give back the old claims and serve a caption."""
        if self.service is not None:
            self.service.close()
        self.service = CaptionService(self.library, name, f"{self.switcher.session_id}-validate")
        self.show_item(self.service.next_caption_to_validate())

    def end_session(self) -> None:
        """Give back this page's claim (the window closes)."""
        if self.service is not None:
            self.service.close()

    def refresh(self) -> None:
        """Serve a caption when none is shown (new captions may have arrived)."""
        if self.service is not None and self.item is None:
            self.show_item(self.service.next_caption_to_validate())

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.refresh()
        QTimer.singleShot(0, self, self.setFocus)

    def show_item(self, item: ValidationItem | None) -> None:
        self.item = item
        if item is not None:
            self.image_view.show_image(
                item.image_id, item.path, self.library.settings.max_image_pixels
            )
        for button in (*self.verdict_buttons.values(), self.skip_button):
            button.setEnabled(item is not None)
        self._show_texts()
        self.setFocus()
        self.item_changed.emit(item)

    def _show_texts(self) -> None:
        item = self.item
        if item is None:
            self.caption_label.clear()
            self.info_label.clear()
            text = (
                self.tr("Choose an annotator name to start.")
                if self.service is None
                else self.tr("No caption needs your verdict right now.")
            )
            self.image_view.clear_image(text)
            return
        self.caption_label.setText(item.text)
        self.info_label.setText(
            self.tr("Language: %1 · verdicts so far: %2")
            .replace("%1", item.language)
            .replace("%2", str(item.verdicts_so_far))
        )

    def give(self, verdict: str) -> None:
        if self.service is None or self.item is None:
            return
        caption_id = self.item.caption_id
        try:
            state = self.service.give_verdict(caption_id, verdict)
        except CaptionError as e:
            self.status_label.setText(str(e))
            self.show_item(self.service.next_caption_to_validate())
            return
        outcome = {
            None: self.tr("Verdict saved; the caption waits for more verdicts."),
            "accepted": self.tr("Verdict saved; the caption is accepted."),
            "rejected": self.tr(
                "Verdict saved; the caption is rejected and the image is back in the caption queue."
            ),
            "problem": self.tr("Verdict saved; the image is flagged as a problem."),
        }
        self.judged.emit(caption_id, verdict, state)
        self.window_.status_changed.emit()
        self.show_item(self.service.next_caption_to_validate())
        self.status_label.setText(outcome[state])

    def skip(self) -> None:
        if self.service is None or self.item is None:
            return
        self.show_item(self.service.skip_caption(self.item.caption_id))
        self.status_label.clear()


def create_page(window: Any) -> tuple[str, QWidget]:
    page = ValidatePage(window)
    return QCoreApplication.translate("ValidatePage", "Validate"), page

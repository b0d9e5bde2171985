"""Who is working: the first-start name dialog and a one-click switch in the toolbar.

Annotators have names only (attribution, not security). The active one is saved in
settings.annotator. Pages get the shared switcher with `annotator_switcher(window)` and
follow its `changed` signal; each page builds its own CaptionService for the active name.
"""

from __future__ import annotations

import logging
import uuid

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from mclip_gui.core.captions.service import annotator_names, ensure_annotator
from mclip_gui.core.errors import CaptionError
from mclip_gui.core.library import Library

log = logging.getLogger(__name__)


class NameDialog(QDialog):
    """Asks for an annotator name; OK stays disabled while the name is empty."""

    def __init__(self, parent: QWidget | None, first_start: bool):
        super().__init__(parent)
        self.setObjectName("annotatorNameDialog")
        self.first_start = first_start
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(200)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.name_edit)
        layout.addWidget(self.buttons)
        self.name_edit.textChanged.connect(self._update_ok)
        self.retranslate()
        self._update_ok()

    def name(self) -> str:
        return " ".join(self.name_edit.text().split())

    def _update_ok(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.name()))

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Annotator"))
        if self.first_start:
            self.label.setText(
                self.tr(
                    "Who is writing captions? Your name is stored with every caption and "
                    "verdict. There is no password; others can add their own names later."
                )
            )
        else:
            self.label.setText(self.tr("Name of the new annotator:"))


class AnnotatorSwitcher(QObject):
    """The toolbar combo of annotators plus "Add annotator…"; emits `changed(name)`."""

    changed = Signal(str)
    closing = Signal()  # the window is closing: pages save drafts and give back claims

    def __init__(self, window: QWidget, library: Library):
        super().__init__(window)
        self.window = window
        self.library = library
        self.session_id = uuid.uuid4().hex  # one per app instance; pages add a suffix
        self.dialog: NameDialog | None = None
        self.toolbar = QToolBar("Annotator")
        self.toolbar.setObjectName("annotatorToolbar")
        self.label = QLabel()
        self.combo = QComboBox()
        self.combo.setObjectName("annotatorCombo")
        self.combo.setMinimumContentsLength(14)
        self.toolbar.addWidget(self.label)
        self.toolbar.addWidget(self.combo)
        window.addToolBar(self.toolbar)  # type: ignore[attr-defined]
        self.combo.activated.connect(self._on_activated)
        self.toolbar.installEventFilter(self)
        window.installEventFilter(self)
        self._fill()
        self.retranslate()

    @property
    def name(self) -> str:
        return self.library.settings.annotator

    def _fill(self) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        for name in annotator_names(self.library):
            self.combo.addItem(name, name)
        self.combo.addItem(self.tr("Add annotator…"), None)
        index = self.combo.findData(self.name)
        self.combo.setCurrentIndex(index if index >= 0 else self.combo.count() - 1)
        self.combo.blockSignals(False)

    def _on_activated(self, index: int) -> None:
        name = self.combo.itemData(index)
        if name is None:
            self.ask_name(first_start=False)
        else:
            self.switch(str(name))

    def switch(self, name: str) -> None:
        """Make `name` the active annotator (created when new) and tell the pages."""
        try:
            ensure_annotator(self.library, name)
        except CaptionError as e:
            self.window.errors.show_exception(e)  # type: ignore[attr-defined]
            return
        name = " ".join(name.split())
        changed = name != self.name
        self.library.update_settings(annotator=name)
        self._fill()
        if changed:
            log.info("annotator switched to %s", name)
            self.changed.emit(name)

    def ask_name(self, first_start: bool) -> NameDialog:
        """Open the name dialog (not blocking); accepting it switches to the new name."""
        if self.dialog is not None:
            self.dialog.close()
        dialog = NameDialog(self.window, first_start)
        dialog.accepted.connect(lambda: self.switch(dialog.name()))
        dialog.rejected.connect(self._fill)
        self.dialog = dialog
        dialog.open()
        return dialog

    def ask_on_first_start(self) -> None:
        if not self.name:
            self.ask_name(first_start=True)

    def retranslate(self) -> None:
        self.label.setText(self.tr("Annotator:") + " ")
        self._fill()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.closing.emit()
            return False
        if watched is self.toolbar and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
            if self.dialog is not None:
                self.dialog.retranslate()
        return False


def annotator_switcher(window: QWidget) -> AnnotatorSwitcher:
    """The window's switcher, created (and the first-start dialog scheduled) on first use."""
    switcher = getattr(window, "annotator_switcher", None)
    if switcher is None:
        switcher = AnnotatorSwitcher(window, window.library)  # type: ignore[attr-defined]
        window.annotator_switcher = switcher  # type: ignore[attr-defined]
        QTimer.singleShot(0, switcher, switcher.ask_on_first_start)
    return switcher

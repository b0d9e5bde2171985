"""Uncaught errors, on the main thread or any other, are logged and shown as a dialog."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from mclip_gui.core.errors import MclipError

log = logging.getLogger(__name__)


class ErrorReporter(QObject):
    """Receives errors from any thread and shows them on the main thread."""

    report = Signal(str, str)  # short message, details

    def __init__(self, parent_widget: QWidget | None = None):
        super().__init__()
        self.parent_widget = parent_widget
        self.shown: list[str] = []  # messages shown so far (tests read it)
        self.report.connect(self._show)

    def install(self) -> None:
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook

    def show_exception(self, error: BaseException, details: str = "") -> None:
        """Show a caught error: typed core errors briefly, anything else with its traceback."""
        text = str(error) if isinstance(error, MclipError) else f"{type(error).__name__}: {error}"
        self.report.emit(text, details)

    def _excepthook(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        details = "".join(traceback.format_exception(kind, value, tb))
        log.error("uncaught error\n%s", details)
        self.report.emit(f"{kind.__name__}: {value}", details)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        details = "".join(
            traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
        )
        log.error("uncaught error in thread %s\n%s", args.thread, details)
        self.report.emit(f"{args.exc_type.__name__}: {args.exc_value}", details)

    def _show(self, text: str, details: str) -> None:
        self.shown.append(text)
        box = QMessageBox(self.parent_widget)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("mclip-gui: error")
        box.setText(text)
        if details:
            box.setDetailedText(details)
        box.setModal(False)
        box.show()

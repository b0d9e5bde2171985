"""Start-up timing for bench/bench_window.py: report the first painted frame, then quit."""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer


class _FirstPaint(QObject):
    def __init__(self, app: QCoreApplication):
        super().__init__(app)
        self._app = app
        self._seen = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._seen and event.type() == QEvent.Type.Paint:
            self._seen = True
            # After this paint event is handled: the frame is on screen (or offscreen buffer).
            QTimer.singleShot(0, self._report)
        return False

    def _report(self) -> None:
        torch = "yes" if "torch" in sys.modules else "no"
        sys.stdout.write(f"first-paint-at {time.time():.6f} torch-imported {torch}\n")
        sys.stdout.flush()
        self._app.quit()


def quit_after_first_paint(app: QCoreApplication) -> None:
    """Print `first-paint-at <unix time> torch-imported <yes|no>` at the first paint and quit."""
    app.installEventFilter(_FirstPaint(app))

"""The one shape of long work: a function taking a progress callback and a cancel token.

The GUI runs such functions on worker threads and forwards progress by signal; the command
line passes a tqdm-backed callback. Cancellation is checked between steps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mclip_gui.core.errors import JobCancelled


@dataclass(frozen=True)
class Progress:
    """One progress report: `done` of `total` steps (total 0 when unknown) and a short text."""

    done: int
    total: int
    message: str = ""
    eta_s: float | None = None


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """A progress callback that ignores every report."""


class CancelToken:
    """Thread-safe flag a job polls between steps; `check()` raises JobCancelled once set."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise JobCancelled("cancelled")


class EtaTracker:
    """Builds Progress reports with an ETA from the average rate since the start."""

    def __init__(self, total: int, callback: ProgressCallback, min_interval_s: float = 0.1):
        self.total = total
        self._callback = callback
        self._start = time.monotonic()
        self._last = 0.0
        self._min_interval = min_interval_s

    def report(self, done: int, message: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not force and done < self.total and now - self._last < self._min_interval:
            return
        self._last = now
        elapsed = now - self._start
        eta = None
        if done > 0 and self.total > 0:
            eta = elapsed / done * (self.total - done)
        self._callback(Progress(done, self.total, message, eta))

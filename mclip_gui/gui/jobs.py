"""Runs core jobs off the main thread and hands progress, result and error back by signal.

A core job is a callable `fn(progress, cancel) -> result`. `JobRunner.start` runs it on Qt's
global thread pool; signals are delivered on the main thread, so slots may touch widgets.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from mclip_gui.core.errors import JobCancelled, MclipError
from mclip_gui.core.jobs import CancelToken, Progress

log = logging.getLogger(__name__)

JobFn = Callable[[Callable[[Progress], None], CancelToken], Any]


class Job(QObject):
    """Handle of one running job: connect to its signals, call cancel() to stop it."""

    progress = Signal(object)  # Progress
    succeeded = Signal(object)  # the job's return value
    failed = Signal(object, str)  # the exception, formatted traceback
    cancelled = Signal()
    finished = Signal()  # after any of the three above

    def __init__(self, name: str, fn: JobFn):
        super().__init__()
        self.name = name
        self.fn = fn
        self.token = CancelToken()
        self.running = False

    def cancel(self) -> None:
        self.token.cancel()


class _Runnable(QRunnable):
    def __init__(self, job: Job):
        super().__init__()
        self.job = job
        self.setAutoDelete(True)

    def run(self) -> None:
        job = self.job

        def progress(p: Progress) -> None:
            if shiboken6.isValid(job):  # the window (and the job) may be gone at shutdown
                job.progress.emit(p)

        try:
            result = job.fn(progress, job.token)
        except JobCancelled:
            log.info("job %s cancelled", job.name)
            self._emit(job.cancelled)
        except Exception as e:  # every failure of a job is reported, none is lost
            if isinstance(e, MclipError):  # an expected failure: its message is enough
                log.warning("job %s failed: %s", job.name, e)
                log.debug("job %s failed", job.name, exc_info=True)
            else:
                log.exception("job %s failed", job.name)
            self._emit(job.failed, e, traceback.format_exc())
        else:
            self._emit(job.succeeded, result)
        finally:
            job.running = False
            self._emit(job.finished)

    def _emit(self, signal: Any, *args: Any) -> None:
        if shiboken6.isValid(self.job):
            signal.emit(*args)
        else:
            log.debug("job %s finished after its window closed; result dropped", self.job.name)


class JobRunner(QObject):
    """Starts jobs and keeps them alive until they finish."""

    job_started = Signal(object)  # Job

    def __init__(self, pool: QThreadPool | None = None):
        super().__init__()
        self.pool = pool or QThreadPool.globalInstance()
        self._jobs: set[Job] = set()

    def start(self, name: str, fn: JobFn) -> Job:
        job = Job(name, fn)
        job.running = True
        self._jobs.add(job)
        job.finished.connect(lambda: self._jobs.discard(job))
        self.job_started.emit(job)
        # Handed to the pool from the event loop, not here: callers connect to the job's signals
        # after start() returns, and a quick job must not emit before anyone listens.
        QTimer.singleShot(0, self, lambda: self.pool.start(_Runnable(job)))
        return job

    def cancel_all(self) -> None:
        for job in list(self._jobs):
            job.cancel()

    def wait(self, msecs: int = 30_000) -> bool:
        return bool(self.pool.waitForDone(msecs))

    @property
    def active(self) -> list[Job]:
        return list(self._jobs)


def connect_alive(signal: Any, receiver: QObject, slot: Callable[..., Any]) -> None:
    """Connect `slot` to a job's `signal`, calling it only while `receiver` still exists.

    A job may finish after the page that started it was closed; its results are then dropped
    instead of touching a deleted widget.
    """

    def guarded(*args: Any) -> None:
        if shiboken6.isValid(receiver):
            slot(*args)

    signal.connect(guarded)

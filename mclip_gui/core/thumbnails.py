"""Thumbnails: one small JPEG per distinct image content, cached in the library's data folder.

A thumbnail is keyed by the image's content hash, so a moved or renamed file keeps its thumbnail
and byte-identical copies share one. Files live under `thumbnails/<size>/<hash[:2]>/<hash>.jpg`,
so changing `settings.thumbnail_size` starts a fresh cache instead of showing wrong sizes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image as PILImage
from sqlalchemy import select, update

from mclip_gui.core.errors import ImageError
from mclip_gui.core.images import open_image
from mclip_gui.core.jobs import CancelToken, EtaTracker, ProgressCallback, no_progress
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Image, utcnow

log = logging.getLogger(__name__)

SUFFIX = ".jpg"
# JPEG at 85: a 192-pixel thumbnail is ~8 KB and encodes in well under a millisecond.
JPEG_QUALITY = 85


@dataclass(frozen=True)
class ThumbnailTask:
    """One thumbnail to make: from which file, for which content hash, into which file."""

    image_id: int
    source: Path
    content_hash: str
    target: Path


@dataclass
class ThumbnailReport:
    """What `make_thumbnails` did."""

    made: int = 0
    # (path, reason) of images that could not be decoded; they were marked unreadable.
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    # Files that vanished since the import; the next rescan marks them missing.
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0


def thumbnail_dir(library: Library) -> Path:
    """The folder holding thumbnails of the current `thumbnail_size`."""
    return library.layout.thumbnails / str(library.settings.thumbnail_size)


def thumbnail_path(library: Library, content_hash: str) -> Path:
    """Where the thumbnail of content `content_hash` is (or will be) cached."""
    return thumbnail_dir(library) / content_hash[:2] / f"{content_hash}{SUFFIX}"


def write_thumbnail(source: Path, target: Path, size: int, max_pixels: int) -> None:
    """Decode `source` (reduced-scale for JPEG) and save its thumbnail atomically to `target`.

    Raises ImageError naming why the source cannot be read.
    """
    img = open_image(source, max_pixels, draft_size=size)
    img.thumbnail((size, size), PILImage.Resampling.BICUBIC)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A unique temporary name: the grid's loader may make the same thumbnail at the same time.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        img.save(tmp, "JPEG", quality=JPEG_QUALITY)
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ImageError(f"cannot write thumbnail {target}: {e}") from e


def ensure_thumbnail(library: Library, content_hash: str, source: Path) -> Path:
    """The cached thumbnail of `source`, made now if missing; raises ImageError."""
    target = thumbnail_path(library, content_hash)
    if not target.exists():
        settings = library.settings
        write_thumbnail(source, target, settings.thumbnail_size, settings.max_image_pixels)
    return target


def missing_thumbnails(library: Library) -> list[ThumbnailTask]:
    """Readable images whose content has no cached thumbnail yet, one task per content hash."""
    with library.store.session() as s:
        rows = s.execute(
            select(Image.id, Image.path, Image.content_hash)
            .where(Image.state == "ok", Image.content_hash.is_not(None))
            .order_by(Image.id)
        ).all()
    existing = _cached_hashes(thumbnail_dir(library))
    tasks: dict[str, ThumbnailTask] = {}
    for image_id, path, content_hash in rows:
        if content_hash is None or content_hash in existing or content_hash in tasks:
            continue
        target = thumbnail_path(library, content_hash)
        tasks[content_hash] = ThumbnailTask(image_id, Path(path), content_hash, target)
    return list(tasks.values())


def _cached_hashes(folder: Path) -> set[str]:
    # One directory listing per shard is far cheaper than a stat() per image.
    if not folder.is_dir():
        return set()
    return {
        entry.name.removesuffix(SUFFIX)
        for shard in os.scandir(folder)
        if shard.is_dir()
        for entry in os.scandir(shard.path)
        if entry.name.endswith(SUFFIX) and not entry.name.startswith(".")
    }


# Nice value of thumbnail workers (Linux): the window's main thread should win the CPU.
BACKGROUND_NICE = 10


def background_priority() -> None:
    """Lower this worker thread's (or process's) priority; a no-op where not supported."""
    try:
        tid = threading.get_native_id()  # a thread id is also a valid target for setpriority
        if os.getpriority(os.PRIO_PROCESS, tid) < BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: normal priority is fine
        pass


def _make_one(task: ThumbnailTask, size: int, max_pixels: int) -> str | None:
    """Make one thumbnail; returns the reason it failed, or None. Runs in a worker."""
    try:
        write_thumbnail(task.source, task.target, size, max_pixels)
    except ImageError as e:
        return str(e)
    return None


def make_thumbnails(
    library: Library,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    workers: int = 0,
    processes: bool = False,
) -> ThumbnailReport:
    """Make every missing thumbnail in parallel; a job (progress, cancel between images).

    `workers` 0 means one per CPU core. Threads are the default: Pillow releases the GIL while
    decoding and encoding, and bench/bench_thumbnails.py measured them as fast as processes on
    two cores without the start-up cost. Unreadable images are marked unreadable with the reason.
    """
    cancel = cancel or CancelToken()
    start = time.monotonic()
    tasks = missing_thumbnails(library)
    report = ThumbnailReport()
    unreadable: list[tuple[ThumbnailTask, str]] = []
    tracker = EtaTracker(len(tasks), progress)
    tracker.report(0, "making thumbnails", force=True)
    settings = library.settings
    workers = workers or max(2, os.cpu_count() or 2)
    pool_class = ProcessPoolExecutor if processes else ThreadPoolExecutor
    with pool_class(max_workers=workers, initializer=background_priority) as pool:
        results = _bounded_map(
            pool,
            lambda t: pool.submit(_make_one, t, settings.thumbnail_size, settings.max_image_pixels),
            tasks,
            in_flight=workers * 4,
            cancel=cancel,
        )
        for done, (task, reason) in enumerate(results, start=1):
            if _record(report, task, reason):
                unreadable.append((task, reason or ""))
            tracker.report(done, "making thumbnails")
    _mark_unreadable(library, unreadable)
    report.seconds = time.monotonic() - start
    log.info(
        "made %d thumbnails in %.1f s (%d unreadable, %d missing files)",
        report.made,
        report.seconds,
        len(report.unreadable),
        len(report.missing),
    )
    return report


def _bounded_map(
    pool: Executor,
    submit: Callable[[ThumbnailTask], Future[str | None]],
    tasks: Iterable[ThumbnailTask],
    in_flight: int,
    cancel: CancelToken,
) -> Iterator[tuple[ThumbnailTask, str | None]]:
    """Yield (task, result) as they finish, never queueing more than `in_flight` at once.

    Keeping the queue short is what makes cancel take effect within a few images.
    """
    pending: dict[Future[str | None], ThumbnailTask] = {}
    queue = iter(tasks)
    try:
        while True:
            cancel.check()
            for task in queue:
                pending[submit(task)] = task
                if len(pending) >= in_flight:
                    break
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield pending.pop(future), future.result()
    finally:
        for future in pending:
            future.cancel()


def _record(report: ThumbnailReport, task: ThumbnailTask, reason: str | None) -> bool:
    """Count one result; True when the image is unreadable."""
    if reason is None:
        report.made += 1
        return False
    if not task.source.exists():
        log.warning(
            "skipping %s: file is gone (rescan the library to mark it missing)", task.source
        )
        report.missing.append(str(task.source))
        return False
    log.warning("skipping %s: %s", task.source, reason)
    report.unreadable.append((str(task.source), reason))
    return True


def _mark_unreadable(library: Library, unreadable: list[tuple[ThumbnailTask, str]]) -> None:
    """Record images the importer accepted but that fail to decode (e.g. truncated JPEGs).

    Byte-identical copies share the content hash and so the failure: all are marked.
    """
    if not unreadable:
        return
    with library.store.session() as s:
        for task, reason in unreadable:
            s.execute(
                update(Image)
                .where(Image.content_hash == task.content_hash, Image.state == "ok")
                .values(state="unreadable", reason=reason, updated_at=utcnow())
            )

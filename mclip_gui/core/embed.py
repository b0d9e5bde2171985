"""The embedding job: compute image embeddings of the library with one model, resumably.

Images are decoded and preprocessed by a pool of worker threads (Pillow and torch release the
GIL for the heavy parts) a few batches ahead of the model, so decoding overlaps the forward pass
while memory stays bounded. Work is saved in parts as it goes, so a cancel or crash keeps what
was done and the next run only embeds images that have no embedding for this model yet.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select, update

from mclip_gui.core.errors import ImageError, JobCancelled
from mclip_gui.core.images import open_image
from mclip_gui.core.index import IndexParams, SearchIndex
from mclip_gui.core.jobs import CancelToken, EtaTracker, Progress, ProgressCallback, no_progress
from mclip_gui.core.library import Library
from mclip_gui.core.schema import EmbeddingSet, Image, utcnow

log = logging.getLogger(__name__)

# Images embedded between two saves of a part file (a cancel loses at most the batch in flight).
SAVE_EVERY = 512


class ImageModel(Protocol):
    """What embedding needs of a loaded model (core.modelspec.LoadedModel has it)."""

    spec: str
    fingerprint: str
    embed_dim: int
    preprocess: Callable[[Any], Any]

    def encode_images(self, batch: Any) -> np.ndarray: ...


@dataclass
class EmbedReport:
    """What an embedding run did. `skipped` holds (path, reason) of unreadable images."""

    fingerprint: str
    total: int = 0  # images to embed at the start of this run
    embedded: int = 0
    already: int = 0  # images that had an embedding for this model before the run
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_s(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        text = (
            f"embedded {self.embedded} images in {self.seconds:.1f} s "
            f"({self.images_per_s:.1f} images/s); {self.already} already done"
        )
        if self.skipped:
            text += f"; {len(self.skipped)} unreadable skipped"
        return text


def index_params(library: Library) -> IndexParams:
    s = library.settings
    return IndexParams(
        m=s.hnsw_m,
        ef_construction=s.hnsw_ef_construction,
        ef_search=s.hnsw_ef_search,
        exact_below=s.exact_search_below,
    )


def open_index(library: Library, model: ImageModel) -> SearchIndex:
    """The embeddings and index of `model` in this library (empty when none were made)."""
    folder = library.layout.embeddings / model.fingerprint
    return SearchIndex.open(
        folder, model.fingerprint, model.embed_dim, index_params(library), model.spec
    )


def searchable_images(library: Library) -> dict[int, str]:
    """Image id -> path of every image a search may return: readable, present, not a copy."""
    with library.store.session() as s:
        rows = s.execute(
            select(Image.id, Image.path).where(Image.state == "ok", Image.duplicate_of.is_(None))
        )
        return {int(image_id): str(path) for image_id, path in rows}


def missing_embeddings(library: Library, index: SearchIndex) -> list[tuple[int, str]]:
    """(id, path) of searchable images without an embedding in `index`, by id."""
    images = searchable_images(library)
    return sorted((i, p) for i, p in images.items() if i not in index.embeddings)


def embed_library(
    library: Library,
    model: ImageModel,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    *,
    index: SearchIndex | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
) -> EmbedReport:
    """Embed every searchable image that has no embedding for `model`, then update the index.

    Unreadable images are skipped, named in the report and marked unreadable in the database.
    Cancelling raises JobCancelled after saving the finished work.
    """
    cancel = cancel or CancelToken()
    index = index or open_index(library, model)
    todo = missing_embeddings(library, index)
    report = EmbedReport(model.fingerprint, total=len(todo), already=len(index.embeddings))
    batch_size = batch_size or library.settings.embed_batch_size
    workers = workers or library.settings.embed_workers or default_workers()
    log.info(
        "embedding %d images with %s (%d already done, batch %d, %d decode workers)",
        len(todo),
        model.spec,
        report.already,
        batch_size,
        workers,
    )
    started = time.monotonic()
    try:
        _run_batches(library, model, index, todo, report, progress, cancel, batch_size, workers)
    except JobCancelled:
        index.embeddings.flush_part()
        _record_set(library, model, index)
        log.info("embedding cancelled; %d images saved", report.embedded)
        raise
    finally:
        report.seconds = time.monotonic() - started

    progress(Progress(report.total, report.total, "saving the index"))
    index.save()
    _record_set(library, model, index)
    log.info("%s", report.summary())
    return report


def default_workers() -> int:
    """Decode threads: one per core, but at least 2 and at most 8."""
    return max(2, min(8, os.cpu_count() or 2))


def _run_batches(
    library: Library,
    model: ImageModel,
    index: SearchIndex,
    todo: Sequence[tuple[int, str]],
    report: EmbedReport,
    progress: ProgressCallback,
    cancel: CancelToken,
    batch_size: int,
    workers: int,
) -> None:
    tracker = EtaTracker(len(todo), progress)
    tracker.report(0, f"0 of {len(todo)} images", force=True)
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    decoder = BatchDecoder(model.preprocess, library.settings.max_image_pixels)
    unsaved = 0
    with ThreadPoolExecutor(workers, thread_name_prefix="embed-decode") as pool:
        pending: deque[Future[DecodedBatch]] = deque()
        try:
            for batch in batches:
                pending.append(pool.submit(decoder, batch))
                # Only a few batches are decoded ahead: bounded memory.
                if len(pending) > workers:
                    unsaved += _embed_one(library, model, index, pending.popleft(), report)
                    unsaved = _maybe_flush(index, unsaved)
                    tracker.report(report.embedded + len(report.skipped), _done_text(report))
                    cancel.check()
            while pending:
                unsaved += _embed_one(library, model, index, pending.popleft(), report)
                unsaved = _maybe_flush(index, unsaved)
                tracker.report(report.embedded + len(report.skipped), _done_text(report))
                cancel.check()
        finally:
            for future in pending:
                future.cancel()
    index.embeddings.flush_part()


def _done_text(report: EmbedReport) -> str:
    return f"{report.embedded + len(report.skipped)} of {report.total} images"


def _maybe_flush(index: SearchIndex, unsaved: int) -> int:
    if unsaved >= SAVE_EVERY:
        index.embeddings.flush_part()
        return 0
    return unsaved


@dataclass
class DecodedBatch:
    """Preprocessed pixels of the readable images of a batch, and why the others failed."""

    ids: list[int]
    pixels: Any  # torch tensor [n, 3, H, W], or None when no image was readable
    failed: list[tuple[int, str, str]]  # (id, path, reason)


class BatchDecoder:
    """Decodes and preprocesses one batch of (id, path); runs on a worker thread."""

    def __init__(self, preprocess: Callable[[Any], Any], max_pixels: int):
        self.preprocess = preprocess
        self.max_pixels = max_pixels

    def __call__(self, batch: Sequence[tuple[int, str]]) -> DecodedBatch:
        import torch

        ids: list[int] = []
        tensors: list[Any] = []
        failed: list[tuple[int, str, str]] = []
        for image_id, path in batch:
            try:
                tensors.append(self.preprocess(open_image(Path(path), self.max_pixels)))
                ids.append(image_id)
            except ImageError as e:
                failed.append((image_id, path, str(e)))
        pixels = torch.stack(tensors) if tensors else None
        return DecodedBatch(ids, pixels, failed)


def _embed_one(
    library: Library,
    model: ImageModel,
    index: SearchIndex,
    future: Future[DecodedBatch],
    report: EmbedReport,
) -> int:
    decoded = future.result()
    if decoded.failed:
        _mark_unreadable(library, decoded.failed)
        for _, path, reason in decoded.failed:
            log.warning("skipping %s: %s", path, reason)
            report.skipped.append((path, reason))
    if decoded.pixels is None:
        return 0
    vectors = model.encode_images(decoded.pixels)
    index.embeddings.add(decoded.ids, vectors)
    report.embedded += len(decoded.ids)
    return len(decoded.ids)


def _mark_unreadable(library: Library, failed: list[tuple[int, str, str]]) -> None:
    with library.store.session() as s:
        for image_id, _, reason in failed:
            s.execute(
                update(Image)
                .where(Image.id == image_id)
                .values(state="unreadable", reason=reason, updated_at=utcnow())
            )


def _record_set(library: Library, model: ImageModel, index: SearchIndex) -> None:
    """Create or update the EmbeddingSet row describing this model's embeddings."""
    with library.store.session() as s:
        row = s.get(EmbeddingSet, model.fingerprint)
        if row is None:
            row = EmbeddingSet(fingerprint=model.fingerprint, model=model.spec, dim=model.embed_dim)
            s.add(row)
        row.model = model.spec
        row.count = len(index.embeddings)
        row.path = str(index.folder)
        row.updated_at = utcnow()

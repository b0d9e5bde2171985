"""What fine-tuning and evaluation read: accepted captions of the train and eval splits.

A caption takes part when it is accepted and its image is readable, present, not a duplicate
copy and not marked as a problem. Items are plain data (ids, paths, texts), so they cross the
process boundary to the training child cheaply and can be recorded as the run's data snapshot.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from mclip_gui.core.errors import TrainingError
from mclip_gui.core.jobs import CancelToken, EtaTracker, ProgressCallback, no_progress
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Caption, Image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaptionItem:
    """One accepted caption and its image."""

    caption_id: int
    image_id: int
    path: str
    text: str


@dataclass
class EvalSet:
    """Eval split: each caption is a query; the images with a caption are the candidates."""

    items: list[CaptionItem]
    image_ids: list[int]  # candidates, in a fixed order
    image_paths: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    @property
    def queries(self) -> list[str]:
        return [item.text for item in self.items]

    def own(self) -> np.ndarray:
        """Index (into image_ids) of each query's own image."""
        column = {image_id: i for i, image_id in enumerate(self.image_ids)}
        return np.array([column[item.image_id] for item in self.items], dtype=np.int64)

    def relevance(self) -> np.ndarray:
        """relevant[q, c]: candidate c has a caption equal to query q (duplicates count)."""
        texts_of: dict[int, set[str]] = {}
        for item in self.items:
            texts_of.setdefault(item.image_id, set()).add(normalise(item.text))
        relevant = np.zeros((len(self.items), len(self.image_ids)), dtype=bool)
        by_text: dict[str, list[int]] = {}
        for c, image_id in enumerate(self.image_ids):
            for text in texts_of.get(image_id, ()):
                by_text.setdefault(text, []).append(c)
        for q, item in enumerate(self.items):
            relevant[q, by_text[normalise(item.text)]] = True
        return relevant

    def without_images(self, failed: dict[int, str]) -> EvalSet:
        """A copy without unreadable images (and without the queries written for them)."""
        keep = [i for i, image_id in enumerate(self.image_ids) if image_id not in failed]
        skipped = list(self.skipped)
        for image_id, path in zip(self.image_ids, self.image_paths, strict=True):
            if image_id in failed:
                skipped.append((path, failed[image_id]))
        return EvalSet(
            [item for item in self.items if item.image_id not in failed],
            [self.image_ids[i] for i in keep],
            [self.image_paths[i] for i in keep],
            skipped,
        )


def normalise(text: str) -> str:
    """Captions are compared with runs of white space collapsed (and nothing else changed)."""
    return " ".join(text.split())


def accepted_captions(library: Library, split: str, assign: bool = True) -> list[CaptionItem]:
    """Accepted captions of usable images in `split`, ordered by caption id.

    `assign` first gives images without a split one (a write; counts for display skip it).
    """
    if assign:
        ensure_splits(library)
    with library.store.session() as s:
        rows = s.execute(
            select(Caption.id, Image.id, Image.path, Caption.text)
            .join(Image, Caption.image_id == Image.id)
            .where(
                Caption.state == "accepted",
                Image.split == split,
                Image.state == "ok",
                Image.duplicate_of.is_(None),
                Image.problem.is_(False),
            )
            .order_by(Caption.id)
        ).all()
    return [CaptionItem(int(c), int(i), str(p), str(t)) for c, i, p, t in rows]


def ensure_splits(library: Library) -> None:
    """Give every image a split (train/eval by content hash; see core.captions.split)."""
    from mclip_gui.core.captions.split import ensure_splits as assign

    assign(library)


def train_items(library: Library, max_captions: int = 0, seed: int = 0) -> list[CaptionItem]:
    """The training captions; a reproducible random subset when `max_captions` is set."""
    items = accepted_captions(library, "train")
    if not items:
        raise TrainingError(
            "There are no accepted captions of training images yet: write and validate "
            "captions first (one image in six is held out for evaluation)."
        )
    return subset(items, max_captions, seed)


def subset(items: Sequence[CaptionItem], size: int, seed: int) -> list[CaptionItem]:
    """A random subset of `size` items (all when size is 0 or larger), nested for growing sizes."""
    if not size or size >= len(items):
        return list(items)
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in sorted(order[:size])]


def eval_set(library: Library) -> EvalSet:
    """The evaluation set; TrainingError when the eval split has no accepted captions."""
    items = accepted_captions(library, "eval")
    if not items:
        raise TrainingError(
            "There are no accepted captions of evaluation images yet, so nothing can be "
            "measured: the eval split needs captions too."
        )
    paths: dict[int, str] = {}
    for item in items:
        paths.setdefault(item.image_id, item.path)
    ids = sorted(paths)
    return EvalSet(items, ids, [paths[i] for i in ids])


def snapshot(items: Sequence[CaptionItem]) -> dict[str, Any]:
    """What the run trained on: counts and a digest of the caption ids and texts."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(f"{item.caption_id}\x1f{item.text}\x1e".encode())
    return {
        "captions": len(items),
        "images": len({item.image_id for item in items}),
        "digest": digest.hexdigest()[:16],
        "caption_ids": [item.caption_id for item in items],
    }


def decode_images(
    paths: Sequence[str],
    preprocess: Any,
    max_pixels: int,
    workers: int,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    message: str = "reading images",
) -> tuple[Any, dict[int, str]]:
    """Preprocessed tensors of `paths` ([n, 3, H, W], unreadable rows zero) and failures.

    Failures map the row index to the reason; the images are named in the log.
    """
    import torch

    from mclip_gui.core.embed import BatchDecoder

    decoder = BatchDecoder(preprocess, max_pixels)
    chunks = [list(enumerate(paths))[i : i + 64] for i in range(0, len(paths), 64)]
    tracker = EtaTracker(len(paths), progress)
    rows: dict[int, Any] = {}
    failed: dict[int, str] = {}
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="train-decode") as pool:
        for decoded in pool.map(decoder, chunks):
            if cancel is not None:
                cancel.check()
            if decoded.pixels is not None:
                for row, tensor in zip(decoded.ids, decoded.pixels, strict=True):
                    rows[row] = tensor
            for row, path, reason in decoded.failed:
                log.warning("skipping %s: %s", path, reason)
                failed[row] = reason
            tracker.report(len(rows) + len(failed), message)
    if not rows:
        raise TrainingError(f"none of the {len(paths)} images could be read")
    sample = next(iter(rows.values()))
    out = torch.zeros((len(paths), *sample.shape), dtype=sample.dtype)
    for row, tensor in rows.items():
        out[row] = tensor
    return out, failed

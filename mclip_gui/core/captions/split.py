"""Train/eval split: each image is assigned once, from a stable hash of its content.

The split of an image depends only on its content hash and `one_in`, so adding images never
moves an existing image between train and eval, and byte-identical copies share a split. The
value of `one_in` (settings.eval_one_in) may change until the first training run; the first run
freezes it in Meta (`split.eval_one_in`) and later changes are refused.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import func, select, update

from mclip_gui.core.errors import ConfigError
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Image, TrainingRun

log = logging.getLogger(__name__)

FROZEN_KEY = "split.eval_one_in"
TRAIN, EVAL = "train", "eval"


def split_for_hash(content_hash: str, one_in: int) -> str:
    """`eval` for about one content hash in `one_in`, else `train`; always the same answer."""
    if one_in < 2:
        raise ValueError(f"one_in must be at least 2, not {one_in}")
    # Re-hash with a prefix so the split does not correlate with other uses of the hash.
    digest = hashlib.sha256(f"mclip-split:{content_hash}".encode()).digest()
    return EVAL if int.from_bytes(digest[:8], "big") % one_in == 0 else TRAIN


def eval_one_in(library: Library) -> int:
    """The value in force: the frozen one once training has started, else the setting."""
    frozen = library.store.get_meta(FROZEN_KEY)
    if frozen is None:
        return library.settings.eval_one_in
    value = int(frozen)
    if value != library.settings.eval_one_in:
        log.warning(
            "settings.eval_one_in=%s ignored: the split was frozen at one in %s by the first "
            "training run",
            library.settings.eval_one_in,
            value,
        )
    return value


def training_started(library: Library) -> bool:
    with library.store.session() as s:
        return bool(s.scalar(select(func.count()).select_from(TrainingRun)))


def freeze(library: Library) -> int:
    """Freeze the split value (training calls this before its first run); returns it."""
    value = eval_one_in(library)
    if library.store.get_meta(FROZEN_KEY) is None:
        library.store.set_meta(FROZEN_KEY, str(value))
        log.info("split frozen at one image in %s held out for evaluation", value)
    ensure_splits(library)
    return value


def set_eval_one_in(library: Library, one_in: int) -> int:
    """Change the held-out share before the first training; re-assigns every image's split.

    Raises ConfigError once a training run exists (the evaluation set must not move).
    Returns how many images changed split.
    """
    current = eval_one_in(library)
    if library.store.get_meta(FROZEN_KEY) is not None or training_started(library):
        if one_in == current:
            return 0
        raise ConfigError(
            f"The evaluation split is fixed at one image in {current} since the first training "
            f"run; changing it to one in {one_in} would move images between train and eval."
        )
    library.update_settings(eval_one_in=one_in)
    with library.store.session() as s:
        s.execute(update(Image).values(split=None))
    return ensure_splits(library)


def ensure_splits(library: Library) -> int:
    """Assign a split to every image that has a content hash but no split; returns the count."""
    if training_started(library) and library.store.get_meta(FROZEN_KEY) is None:
        library.store.set_meta(FROZEN_KEY, str(library.settings.eval_one_in))
    one_in = eval_one_in(library)
    with library.store.session() as s:
        rows = s.execute(
            select(Image.id, Image.content_hash).where(
                Image.split.is_(None), Image.content_hash.is_not(None)
            )
        ).all()
        by_split: dict[str, list[int]] = {TRAIN: [], EVAL: []}
        for image_id, content_hash in rows:
            by_split[split_for_hash(str(content_hash), one_in)].append(image_id)
        for name, ids in by_split.items():
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                s.execute(update(Image).where(Image.id.in_(chunk)).values(split=name))
    assigned = len(rows)
    if assigned:
        log.info("assigned a split to %s images (one in %s held out)", assigned, one_in)
    return assigned


def split_counts(library: Library) -> dict[str | None, int]:
    """Images per split (None: not assigned, e.g. no content hash yet)."""
    with library.store.session() as s:
        query = select(Image.split, func.count()).group_by(Image.split)
        return {name: int(count) for name, count in s.execute(query)}

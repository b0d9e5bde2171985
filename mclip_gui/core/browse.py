"""Read-only views of the library for browsing: grid items, one image's details, counts."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from mclip_gui.core.library import Library
from mclip_gui.core.schema import Annotator, Caption, Image

# SQLite allows 999 bound parameters in older builds; stay under it.
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class ImageItem:
    """What a grid cell needs: the image id, its file and the key of its thumbnail."""

    id: int
    path: str
    content_hash: str | None

    @property
    def name(self) -> str:
        # os.path, not pathlib: the grid asks for every painted cell, and this is 30x cheaper.
        return os.path.basename(self.path)


@dataclass(frozen=True)
class CaptionLine:
    """One caption of an image as the detail pane lists it."""

    text: str
    state: str
    language: str
    author: str | None


@dataclass(frozen=True)
class ImageDetails:
    """The file facts and captions of one image."""

    id: int
    path: str
    size: int
    width: int | None
    height: int | None
    format: str | None
    content_hash: str | None
    state: str
    reason: str | None
    split: str | None
    duplicate_of: int | None
    captions: list[CaptionLine] = field(default_factory=list)


def list_items(library: Library, ids: Sequence[int] | None = None) -> list[ImageItem]:
    """Grid items of readable images: all, by path; or those of `ids`, in that order."""
    columns = select(Image.id, Image.path, Image.content_hash).where(Image.state == "ok")
    with library.store.session() as s:
        if ids is None:
            return [ImageItem(*row) for row in s.execute(columns.order_by(Image.path))]
        found: dict[int, ImageItem] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for row in s.execute(columns.where(Image.id.in_(chunk))):
                found[row[0]] = ImageItem(*row)
    return [found[i] for i in ids if i in found]


def image_details(library: Library, image_id: int) -> ImageDetails | None:
    """Facts and captions of one image, or None when no such image exists."""
    with library.store.session() as s:
        image = s.get(Image, image_id)
        if image is None:
            return None
        rows = s.execute(
            select(Caption.text, Caption.state, Caption.language, Annotator.name)
            .outerjoin(Annotator, Caption.author_id == Annotator.id)
            .where(Caption.image_id == image_id)
            .order_by(Caption.created_at)
        ).all()
        return ImageDetails(
            id=image.id,
            path=image.path,
            size=image.size,
            width=image.width,
            height=image.height,
            format=image.format,
            content_hash=image.content_hash,
            state=image.state,
            reason=image.reason,
            split=image.split,
            duplicate_of=image.duplicate_of,
            captions=[CaptionLine(*row) for row in rows],
        )


def count_by_state(library: Library) -> dict[str, int]:
    """Number of images per state (ok, unreadable, missing)."""
    with library.store.session() as s:
        rows = s.execute(select(Image.state, func.count()).group_by(Image.state)).all()
        return {state: count for state, count in rows}


def counts_text(counts: dict[str, int]) -> str:
    """The status bar's line, e.g. "9,583 images · 2 unreadable"."""
    parts = [plural(counts.get("ok", 0), "image")]
    for state in ("unreadable", "missing"):
        if counts.get(state):
            parts.append(f"{counts[state]:,} {state}")
    return " · ".join(parts)


def plural(n: int, word: str) -> str:
    """ "1 image", "9,583 images"."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"

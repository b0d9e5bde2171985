"""Small real images and Image rows for the caption tests (the folder importer is elsewhere)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PIL import Image as PILImage
from sqlalchemy import insert, select

from mclip_gui.core.library import Library
from mclip_gui.core.schema import Image


def make_images(library: Library, folder: Path, count: int, start: int = 0) -> list[int]:
    """Write `count` distinct PNGs into `folder` and insert their Image rows; returns the ids."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(start, start + count):
        path = folder / f"product_{i:04d}.png"
        colour = ((i * 53) % 256, (i * 97) % 256, (i * 31) % 256)
        PILImage.new("RGB", (48, 40), colour).save(path)
        data = path.read_bytes()
        rows.append(
            {
                "path": str(path),
                "size": len(data),
                "content_hash": hashlib.sha256(data).hexdigest(),
                "width": 48,
                "height": 40,
                "format": "PNG",
            }
        )
    return insert_rows(library, rows)


def insert_rows(library: Library, rows: list[dict[str, object]]) -> list[int]:
    """Insert Image rows given as dicts (path required) and return their ids in order."""
    with library.store.session() as s:
        s.execute(insert(Image), rows)
        paths = [str(r["path"]) for r in rows]
        query = select(Image.path, Image.id).where(Image.path.in_(paths))
        found = {path: image_id for path, image_id in s.execute(query)}
    return [found[p] for p in paths]


def drop_new_log_handlers(before: list[logging.Handler]) -> None:
    """Remove root handlers `mclip` main() installed, whose stream pytest closes after a test."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler not in before and getattr(handler, "_mclip", False):
            root.removeHandler(handler)
            handler.close()

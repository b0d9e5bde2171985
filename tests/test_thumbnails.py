"""Thumbnails: cached by content hash, made in parallel, unreadable images skipped and recorded."""

from __future__ import annotations

import hashlib
import random
import shutil
from pathlib import Path

import pytest
from conftest import shared_data
from PIL import Image as PILImage
from sqlalchemy import select

from mclip_gui.core.browse import count_by_state, counts_text, image_details, list_items
from mclip_gui.core.errors import JobCancelled
from mclip_gui.core.jobs import CancelToken, Progress
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Image
from mclip_gui.core.thumbnails import (
    ensure_thumbnail,
    make_thumbnails,
    missing_thumbnails,
    thumbnail_path,
)


def write_photos(folder: Path, count: int, size: tuple[int, int] = (64, 48)) -> list[Path]:
    """`count` small distinct JPEGs (random colours) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    paths = []
    for i in range(count):
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        path = folder / f"photo-{i:04d}.jpg"
        PILImage.new("RGB", size, colour).save(path, quality=90)
        paths.append(path)
    return paths


def add_images(library: Library, paths: list[Path]) -> list[int]:
    """Insert image rows as the importer would (state ok, content hash); returns their ids."""
    with library.store.session() as s:
        rows = []
        for path in paths:
            data = path.read_bytes()
            rows.append(
                Image(
                    path=str(path),
                    size=len(data),
                    content_hash=hashlib.sha256(data).hexdigest(),
                    format="JPEG",
                    width=64,
                    height=48,
                    split="train",
                )
            )
        s.add_all(rows)
        s.flush()
        return [row.id for row in rows]


def test_make_thumbnails_caches_every_image_by_content_hash(library, tmp_path: Path) -> None:
    paths = write_photos(tmp_path / "photos", 12, size=(400, 300))
    add_images(library, paths)
    reports: list[Progress] = []

    report = make_thumbnails(library, reports.append)

    assert report.made == 12
    assert report.unreadable == []
    for path in paths:
        content_hash = hashlib.sha256(path.read_bytes()).hexdigest()
        with PILImage.open(thumbnail_path(library, content_hash)) as thumb:
            assert thumb.size == (192, 144)
    assert reports[-1].done == reports[-1].total == 12
    assert missing_thumbnails(library) == []
    assert make_thumbnails(library).made == 0


def test_moved_file_keeps_its_thumbnail_and_copies_share_one(library, tmp_path: Path) -> None:
    [original] = write_photos(tmp_path / "a", 1)
    copy = tmp_path / "b" / "copy.jpg"
    copy.parent.mkdir()
    shutil.copy(original, copy)
    add_images(library, [original, copy])

    report = make_thumbnails(library)

    assert report.made == 1
    moved = tmp_path / "moved.jpg"
    original.rename(moved)
    content_hash = hashlib.sha256(moved.read_bytes()).hexdigest()
    assert ensure_thumbnail(library, content_hash, moved) == thumbnail_path(library, content_hash)


def test_truncated_jpeg_is_skipped_and_marked_unreadable(library, tmp_path: Path) -> None:
    paths = write_photos(tmp_path / "photos", 3, size=(300, 300))
    broken = tmp_path / "photos" / "broken.jpg"
    broken.write_bytes(paths[0].read_bytes()[:400])
    add_images(library, [*paths, broken])

    report = make_thumbnails(library)

    assert report.made == 3
    assert [p for p, _ in report.unreadable] == [str(broken)]
    with library.store.session() as s:
        row = s.scalars(select(Image).where(Image.path == str(broken))).one()
        assert row.state == "unreadable"
        assert row.reason.startswith("cannot decode:")
    assert [item.path for item in list_items(library)] == [str(p) for p in paths]


def test_vanished_file_is_skipped_not_marked(library, tmp_path: Path) -> None:
    paths = write_photos(tmp_path / "photos", 2)
    add_images(library, paths)
    paths[1].unlink()

    report = make_thumbnails(library)

    assert report.made == 1
    assert report.missing == [str(paths[1])]
    assert count_by_state(library) == {"ok": 2}


def test_cancel_stops_before_the_next_image(library, tmp_path: Path) -> None:
    add_images(library, write_photos(tmp_path / "photos", 40))
    token = CancelToken()

    with pytest.raises(JobCancelled):
        make_thumbnails(library, lambda _: token.cancel(), token, workers=2)

    assert len(missing_thumbnails(library)) == 40


def test_large_jpeg_is_drafted_to_thumbnail_size(library, tmp_path: Path) -> None:
    [path] = write_photos(tmp_path / "big", 1, size=(3000, 1000))
    add_images(library, [path])

    make_thumbnails(library)

    content_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    with PILImage.open(thumbnail_path(library, content_hash)) as thumb:
        assert thumb.size == (192, 64)


def test_processes_make_the_same_thumbnails(library, tmp_path: Path) -> None:
    add_images(library, write_photos(tmp_path / "photos", 4))

    report = make_thumbnails(library, processes=True, workers=2)

    assert report.made == 4


def test_details_and_counts(library, tmp_path: Path) -> None:
    [image_id] = add_images(library, write_photos(tmp_path / "photos", 1))

    details = image_details(library, image_id)

    assert details is not None
    assert (details.width, details.height, details.format, details.split) == (
        64,
        48,
        "JPEG",
        "train",
    )
    assert details.captions == []
    assert image_details(library, image_id + 1) is None
    assert counts_text({"ok": 9583, "unreadable": 2}) == "9,583 images · 2 unreadable"
    assert counts_text({"ok": 1}) == "1 image"


def test_bad_inputs_never_crash(library) -> None:
    folder = shared_data("bad-inputs")
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    add_images(library, paths)

    report = make_thumbnails(library)

    reasons = dict(report.unreadable)
    assert reasons[str(folder / "empty.jpg")] == "empty file (0 bytes)"
    assert reasons[str(folder / "not-an-image.jpg")] == "not an image file (unknown format)"
    assert reasons[str(folder / "truncated.jpg")].startswith("cannot decode:")
    assert "above the limit" in reasons[str(folder / "huge-20000x20000.png")]
    # Byte-identical duplicate: one thumbnail for both files.
    assert report.made + len(report.unreadable) == len(paths) - 1

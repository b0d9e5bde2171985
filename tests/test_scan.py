"""Importing folders: bad files, reconciliation on re-import, cancel, progress."""

from __future__ import annotations

import errno
import os
import random
import shutil
from pathlib import Path

import pytest
from conftest import shared_data
from PIL import Image as PILImage
from sqlalchemy import select

from mclip_gui.core import scan
from mclip_gui.core.errors import ConfigError, JobCancelled
from mclip_gui.core.images import HEIF_SUPPORTED, open_image
from mclip_gui.core.jobs import CancelToken, Progress
from mclip_gui.core.library import Library
from mclip_gui.core.scan import (
    MISSING_REASON,
    ImportReport,
    Problem,
    import_folder,
    list_problems,
)
from mclip_gui.core.schema import Caption, Folder, Image

HUGE_REASON = (
    "20000x20000 pixels is above the limit of 100,000,000 "
    "(setting max_image_pixels; guards against decompression bombs)"
)


def make_jpeg(path: Path, seed: int, size: tuple[int, int] = (48, 32)) -> Path:
    """A small JPEG of random noise: every seed gives different bytes."""
    rng = random.Random(seed)
    pixels = bytes(rng.randrange(256) for _ in range(size[0] * size[1] * 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.frombytes("RGB", size, pixels).save(path, "JPEG", quality=90)
    return path


def rows(library: Library) -> dict[str, Image]:
    with library.store.session() as s:
        return {row.path: row for row in s.scalars(select(Image))}


def snapshot(folder: Path) -> dict[str, tuple[int, float]]:
    """Every entry below `folder` with size and mtime: proves the import wrote nothing there."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            found[os.path.join(dirpath, name)] = (st.st_size, st.st_mtime)
    return found


# --------------------------------------------------------------------------- shared bad inputs

EXPECTED_BAD_INPUTS = {
    # name: (state, reason, format, width, height)
    "animated.gif": ("ok", None, "GIF", 224, 224),
    "cmyk.jpg": ("ok", None, "JPEG", 224, 224),
    "duplicate-of-unicode.jpg": ("ok", None, "JPEG", 224, 224),
    "empty.jpg": ("unreadable", "empty file (0 bytes)", None, None, None),
    "exif-orientation-6.jpg": ("ok", None, "JPEG", 224, 224),
    "gray-16bit.png": ("ok", None, "PNG", 64, 64),
    "huge-20000x20000.png": ("unreadable", HUGE_REASON, "PNG", 20000, 20000),
    "not-an-image.jpg": ("unreadable", "not an image file (unknown format)", None, None, None),
    "photo.webp": ("ok", None, "WEBP", 224, 224),
    "transparent.png": ("ok", None, "PNG", 224, 224),
    "truncated.jpg": ("unreadable", "cannot decode: image file is truncated", "JPEG", 224, 224),
    "Jürgen Bilder/Straße_日本 über.jpg": ("ok", None, "JPEG", 224, 224),
}


def test_shared_bad_inputs_each_get_their_state_and_reason(library: Library) -> None:
    folder = shared_data("bad-inputs")

    report = import_folder(library, folder)

    recorded = rows(library)
    assert sorted(recorded) == sorted(str(folder / name) for name in EXPECTED_BAD_INPUTS)
    for name, (state, reason, fmt, width, height) in EXPECTED_BAD_INPUTS.items():
        row = recorded[str(folder / name)]
        assert (row.state, row.format, row.width, row.height) == (state, fmt, width, height), name
        if reason is None:
            assert row.reason is None, name
        else:
            # Pillow appends how many bytes it left over; the start is ours.
            assert row.reason is not None and row.reason.startswith(reason), name
    assert (report.imported, report.duplicates, report.unreadable) == (7, 1, 4)
    assert (report.unchanged, report.moved, report.missing) == (0, 0, 0)


def test_shared_duplicate_points_at_the_unicode_original(library: Library) -> None:
    folder = shared_data("bad-inputs")
    original = str(folder / "Jürgen Bilder" / "Straße_日本 über.jpg")
    copy = str(folder / "duplicate-of-unicode.jpg")

    report = import_folder(library, folder)

    recorded = rows(library)
    assert recorded[copy].duplicate_of == recorded[original].id
    assert recorded[original].duplicate_of is None
    assert recorded[copy].content_hash == recorded[original].content_hash
    assert report.duplicate_pairs == [(copy, original)]


def test_shared_readable_inputs_open_upright_rgb(library: Library) -> None:
    folder = shared_data("bad-inputs")

    import_folder(library, folder)

    readable = [row for row in rows(library).values() if row.state == "ok"]
    assert len(readable) == 8
    for row in readable:
        assert open_image(Path(row.path)).mode == "RGB", row.path


# --------------------------------------------------------------------------- bad files built here


@pytest.fixture
def messy_folder(tmp_path: Path) -> Path:
    """A folder with one of each kind of bad file, built here so no shared data is needed."""
    folder = tmp_path / "photos"
    good = make_jpeg(folder / "good.jpg", seed=1)
    shutil.copyfile(good, folder / "copy of good.jpg")
    (folder / "empty.jpg").write_bytes(b"")
    whole = make_jpeg(tmp_path / "whole.jpg", seed=2, size=(64, 64)).read_bytes()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "text.jpg").write_text("Dies ist kein Bild.\n")
    (folder / "notes.txt").write_text("not an image extension: ignored")
    (folder / ".hidden.jpg").write_text("hidden files are skipped")
    (folder / "UPPER.PNG").parent.mkdir(exist_ok=True)
    PILImage.new("RGBA", (40, 30), (255, 0, 0, 128)).save(folder / "UPPER.PNG")
    make_jpeg(folder / "Jürgen Bilder" / "Straße_日本 über.jpg", seed=3)
    (folder / "Jürgen Bilder" / "back to top").symlink_to(folder, target_is_directory=True)
    (folder / "loop-a.jpg").symlink_to(folder / "loop-b.jpg")
    (folder / "loop-b.jpg").symlink_to(folder / "loop-a.jpg")
    (folder / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (folder / "linked.jpg").symlink_to(make_jpeg(tmp_path / "outside.jpg", seed=4))
    os.mkfifo(folder / "pipe.jpg")
    return folder


EXPECTED_MESSY = {
    "UPPER.PNG": ("ok", None),
    "copy of good.jpg": ("ok", None),
    "dangling.jpg": ("unreadable", "broken symbolic link (its target does not exist)"),
    "empty.jpg": ("unreadable", "empty file (0 bytes)"),
    "good.jpg": ("ok", None),
    "linked.jpg": ("ok", None),
    "loop-a.jpg": ("unreadable", "symbolic link loop"),
    "loop-b.jpg": ("unreadable", "symbolic link loop"),
    "pipe.jpg": ("unreadable", "not a regular file (device, pipe or socket)"),
    "text.jpg": ("unreadable", "not an image file (unknown format)"),
    "truncated.jpg": ("unreadable", "cannot decode: image file is truncated"),
    "Jürgen Bilder/Straße_日本 über.jpg": ("ok", None),
}


def test_every_bad_file_is_recorded_with_its_reason(library: Library, messy_folder: Path) -> None:
    report = import_folder(library, messy_folder)

    recorded = rows(library)
    assert sorted(recorded) == sorted(str(messy_folder / name) for name in EXPECTED_MESSY)
    for name, (state, reason) in EXPECTED_MESSY.items():
        row = recorded[str(messy_folder / name)]
        assert row.state == state, name
        assert (row.reason or "").startswith(reason or ""), name
    assert [p.path for p in report.problems] == sorted(
        str(messy_folder / n) for n, (state, _) in EXPECTED_MESSY.items() if state != "ok"
    )
    assert (report.imported, report.duplicates, report.unreadable) == (4, 1, 7)


def noise(size: tuple[int, int] = (64, 48)) -> PILImage.Image:
    rng = random.Random(7)
    return PILImage.frombytes(
        "RGB", size, bytes(rng.randrange(256) for _ in range(size[0] * size[1] * 3))
    )


@pytest.mark.parametrize(
    ("name", "fmt", "reason"),
    [
        ("cut.jpg", "JPEG", "cannot decode: image file is truncated"),
        ("cut.png", "PNG", "cannot decode: image file is truncated"),
        ("cut.gif", "GIF", "cannot decode: image file is truncated"),
        ("cut.webp", "WEBP", "cannot read the image header: could not create decoder object"),
    ],
)
def test_truncated_file_of_each_format_is_unreadable(
    library: Library, tmp_path: Path, name: str, fmt: str, reason: str
) -> None:
    whole = tmp_path / f"whole.{fmt.lower()}"
    noise().save(whole, fmt)
    data = whole.read_bytes()
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / name).write_bytes(data[: len(data) // 2])

    report = import_folder(library, tmp_path / "photos")

    assert len(report.problems) == 1
    assert report.problems[0].reason.startswith(reason)


def test_jpeg_with_trailing_data_is_decoded_and_kept(library: Library, tmp_path: Path) -> None:
    # Data after the end marker (cameras append some) fails the cheap check; the decode rescues it.
    folder = tmp_path / "photos"
    path = make_jpeg(folder / "trailer.jpg", seed=8)
    with path.open("ab") as handle:
        handle.write(b"\xff\xda" + bytes(100_000))

    report = import_folder(library, folder)

    assert (report.imported, report.unreadable) == (1, 0)


def test_heic_is_read_when_pillow_heif_is_installed(library: Library, tmp_path: Path) -> None:
    if not HEIF_SUPPORTED:
        pytest.skip("pillow-heif is not installed")
    folder = tmp_path / "photos"
    folder.mkdir()
    noise().save(folder / "phone.heic", "HEIF")

    import_folder(library, folder)

    row = rows(library)[str(folder / "phone.heic")]
    assert (row.state, row.format, row.width, row.height) == ("ok", "HEIF", 64, 48)


def test_heic_without_pillow_heif_names_the_package(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "HEIF_SUPPORTED", False)
    monkeypatch.setattr(scan, "pil_formats", lambda: ("JPEG", "PNG"))
    folder = tmp_path / "photos"
    folder.mkdir()
    # The start of an HEIC file: enough to be no format Pillow reads without the plugin.
    (folder / "phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))

    report = import_folder(library, folder)

    assert report.problems == [
        Problem(str(folder / "phone.heic"), "HEIC/AVIF needs the optional package pillow-heif")
    ]


def test_recorded_facts_of_a_readable_image(library: Library, messy_folder: Path) -> None:
    import hashlib

    import_folder(library, messy_folder)

    path = messy_folder / "UPPER.PNG"
    row = rows(library)[str(path)]
    st = path.stat()
    assert (row.format, row.width, row.height) == ("PNG", 40, 30)
    assert (row.size, row.mtime) == (st.st_size, st.st_mtime)
    assert row.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    with library.store.session() as s:
        folder = s.scalars(select(Folder)).one()
    assert folder.path == str(messy_folder)
    assert row.folder_id == folder.id
    assert folder.scanned_at is not None


def test_import_never_writes_into_the_image_folder(library: Library, messy_folder: Path) -> None:
    before = snapshot(messy_folder)

    import_folder(library, messy_folder)
    import_folder(library, messy_folder)

    assert snapshot(messy_folder) == before


def test_image_over_the_pixel_limit_is_refused_from_its_header(
    library: Library, tmp_path: Path
) -> None:
    library.update_settings(max_image_pixels=1_000)
    make_jpeg(tmp_path / "big" / "40x30.jpg", seed=5, size=(40, 30))

    report = import_folder(library, tmp_path / "big")

    assert report.problems == [
        Problem(
            str(tmp_path / "big" / "40x30.jpg"),
            "40x30 pixels is above the limit of 1,000 "
            "(setting max_image_pixels; guards against decompression bombs)",
        )
    ]


def test_file_deleted_between_listing_and_reading(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "photos"
    make_jpeg(folder / "a.jpg", seed=1)
    doomed = make_jpeg(folder / "b.jpg", seed=2)
    real_listing = scan.list_image_files

    def list_then_delete(*args: object, **kwargs: object) -> scan.Listing:
        listing = real_listing(*args, **kwargs)  # type: ignore[arg-type]
        doomed.unlink()
        return listing

    monkeypatch.setattr(scan, "list_image_files", list_then_delete)

    report = import_folder(library, folder)

    assert report.imported == 1
    assert report.problems == [
        Problem(str(doomed), "file disappeared during the import (deleted or moved)")
    ]


def test_permission_denied_is_recorded(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "photos"
    make_jpeg(folder / "a.jpg", seed=1)
    locked = make_jpeg(folder / "locked.jpg", seed=2)

    def guarded_open(path: str, *args: object, **kwargs: object) -> object:
        # root reads files whatever their mode, so the refusal is simulated at open().
        if path == str(locked):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(scan, "open", guarded_open, raising=False)

    report = import_folder(library, folder)

    assert report.imported == 1
    assert report.problems == [Problem(str(locked), "permission denied")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_and_folder_by_mode(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    locked = make_jpeg(folder / "locked.jpg", seed=1)
    make_jpeg(folder / "closed" / "inside.jpg", seed=2)
    locked.chmod(0)
    (folder / "closed").chmod(0)
    try:
        report = import_folder(library, folder)
    finally:
        (folder / "closed").chmod(0o755)

    assert report.problems == [Problem(str(locked), "permission denied")]
    assert report.skipped == [
        Problem(str(folder / "closed"), "folder cannot be read: permission denied")
    ]


def test_file_name_that_is_not_utf8_is_skipped_and_named(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    make_jpeg(folder / "a.jpg", seed=1)
    bad_name = os.fsencode(folder) + b"/caf\xe9.jpg"
    try:
        with open(bad_name, "wb") as handle:
            handle.write(b"x")
    except OSError:
        pytest.skip("this file system refuses file names that are not UTF-8")

    report = import_folder(library, folder)

    assert report.imported == 1
    assert report.skipped == [
        Problem(f"{folder}/caf\\xe9.jpg", "name is not valid UTF-8 (rename it to import it)")
    ]


def test_data_folder_inside_the_image_folder_is_not_imported(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    make_jpeg(folder / "a.jpg", seed=1)
    library = Library(folder / "mclip-data")
    make_jpeg(library.layout.thumbnails / "cached.jpg", seed=2)
    try:
        report = import_folder(library, folder)
        assert report.imported == 1
        assert list(rows(library)) == [str(folder / "a.jpg")]
    finally:
        library.close()


def test_missing_folder_and_file_instead_of_folder(library: Library, tmp_path: Path) -> None:
    make_jpeg(tmp_path / "a.jpg", seed=1)

    with pytest.raises(ConfigError, match=r"^folder not found: .*nowhere$"):
        import_folder(library, tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=r"^not a folder: .*a\.jpg$"):
        import_folder(library, tmp_path / "a.jpg")


# --------------------------------------------------------------------------- re-import


@pytest.fixture
def imported(library: Library, tmp_path: Path) -> tuple[Library, Path]:
    folder = tmp_path / "photos"
    for i in range(5):
        make_jpeg(folder / f"img{i}.jpg", seed=i)
    import_folder(library, folder)
    return library, folder


def add_caption(library: Library, path: Path, text: str) -> int:
    with library.store.session() as s:
        image = s.scalars(select(Image).where(Image.path == str(path))).one()
        caption = Caption(image_id=image.id, text=text)
        s.add(caption)
        s.flush()
        return caption.id


def test_reimport_adds_new_marks_missing_and_follows_moves(
    imported: tuple[Library, Path],
) -> None:
    library, folder = imported
    before = rows(library)
    caption_id = add_caption(library, folder / "img1.jpg", "ein rotes Kleid mit weißen Punkten")
    make_jpeg(folder / "new.jpg", seed=99)
    (folder / "img0.jpg").unlink()
    (folder / "img1.jpg").rename(folder / "renamed.jpg")
    (folder / "sub").mkdir()
    (folder / "img2.jpg").rename(folder / "sub" / "img2.jpg")

    report = import_folder(library, folder)

    after = rows(library)
    assert (report.imported, report.moved, report.missing, report.unchanged) == (1, 2, 1, 2)
    assert after[str(folder / "img0.jpg")].state == "missing"
    assert after[str(folder / "img0.jpg")].reason == MISSING_REASON
    assert after[str(folder / "renamed.jpg")].id == before[str(folder / "img1.jpg")].id
    assert after[str(folder / "sub" / "img2.jpg")].id == before[str(folder / "img2.jpg")].id
    assert str(folder / "img1.jpg") not in after
    with library.store.session() as s:
        caption = s.get_one(Caption, caption_id)
        assert caption.image.path == str(folder / "renamed.jpg")


def test_moved_file_keeps_its_caption_across_folders(
    imported: tuple[Library, Path], tmp_path: Path
) -> None:
    library, folder = imported
    caption_id = add_caption(library, folder / "img3.jpg", "eine blaue Jeans auf weißem Grund")
    other = tmp_path / "other"
    other.mkdir()
    (folder / "img3.jpg").rename(other / "img3.jpg")

    into_other = import_folder(library, other)
    again = import_folder(library, folder)

    assert (into_other.moved, into_other.imported) == (1, 0)
    assert (again.missing, again.unchanged) == (0, 4)
    with library.store.session() as s:
        assert s.get_one(Caption, caption_id).image.path == str(other / "img3.jpg")


def test_missing_file_that_comes_back_keeps_its_row(imported: tuple[Library, Path]) -> None:
    library, folder = imported
    path = folder / "img4.jpg"
    kept = path.read_bytes()
    first_id = rows(library)[str(path)].id
    path.unlink()
    gone = import_folder(library, folder)
    still_gone = import_folder(library, folder)
    path.write_bytes(kept)

    back = import_folder(library, folder)

    assert (gone.missing, still_gone.missing, back.imported) == (1, 0, 1)
    assert rows(library)[str(path)].id == first_id
    assert rows(library)[str(path)].state == "ok"


def test_unchanged_files_are_not_read_again(
    imported: tuple[Library, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    library, folder = imported
    (folder / "broken.jpg").write_text("kein Bild")
    import_folder(library, folder)
    read: list[str] = []
    real_read = scan.read_facts

    def counting_read(listed: scan.Listed, max_pixels: int) -> scan.FileFacts:
        read.append(listed.path)
        return real_read(listed, max_pixels)

    monkeypatch.setattr(scan, "read_facts", counting_read)

    report = import_folder(library, folder)

    # Unreadable files are tried again: a fixed permission or a new plugin may make them readable.
    assert read == [str(folder / "broken.jpg")]
    assert (report.unchanged, report.unreadable, report.imported) == (5, 1, 0)


def test_changed_file_is_read_again_and_keeps_its_id(imported: tuple[Library, Path]) -> None:
    library, folder = imported
    path = folder / "img2.jpg"
    before = rows(library)[str(path)]
    make_jpeg(path, seed=1234, size=(20, 10))
    os.utime(path, (before.mtime + 10, before.mtime + 10))

    report = import_folder(library, folder)

    after = rows(library)[str(path)]
    assert (report.imported, report.unchanged) == (1, 4)
    assert after.id == before.id
    assert (after.width, after.height) == (20, 10)
    assert after.content_hash != before.content_hash


def test_copy_added_later_is_a_duplicate_of_the_first(imported: tuple[Library, Path]) -> None:
    library, folder = imported
    shutil.copyfile(folder / "img3.jpg", folder / "zz copy.jpg")
    shutil.copyfile(folder / "img3.jpg", folder / "zz second copy.jpg")

    report = import_folder(library, folder)

    recorded = rows(library)
    original = recorded[str(folder / "img3.jpg")]
    assert report.duplicates == 2
    assert recorded[str(folder / "zz copy.jpg")].duplicate_of == original.id
    assert recorded[str(folder / "zz second copy.jpg")].duplicate_of == original.id
    assert report.duplicate_pairs == [
        (str(folder / "zz copy.jpg"), str(original.path)),
        (str(folder / "zz second copy.jpg"), str(original.path)),
    ]


# --------------------------------------------------------------------------- job behaviour


def test_cancel_keeps_committed_batches(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "BATCH_SIZE", 2)
    folder = tmp_path / "photos"
    for i in range(7):
        make_jpeg(folder / f"img{i}.jpg", seed=i)
    token = CancelToken()
    real_write = scan._Importer._write_batch

    def write_then_cancel(self: scan._Importer, batch: list[scan.FileFacts]) -> None:
        real_write(self, batch)
        token.cancel()  # as if the user pressed Cancel while the first batch was written

    monkeypatch.setattr(scan._Importer, "_write_batch", write_then_cancel)

    with pytest.raises(JobCancelled):
        import_folder(library, folder, cancel=token)

    assert sorted(rows(library)) == [str(folder / "img0.jpg"), str(folder / "img1.jpg")]
    monkeypatch.undo()
    finished = import_folder(library, folder)
    assert (finished.unchanged, finished.imported) == (2, 5)


def test_cancel_before_start_writes_no_image(library: Library, imported_folder: Path) -> None:
    token = CancelToken()
    token.cancel()

    with pytest.raises(JobCancelled):
        import_folder(library, imported_folder, cancel=token)

    assert rows(library) == {}
    with library.store.session() as s:
        assert s.scalars(select(Folder)).all() == []


@pytest.fixture
def imported_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "fresh"
    for i in range(3):
        make_jpeg(folder / f"img{i}.jpg", seed=i)
    return folder


def test_progress_reaches_the_total(library: Library, imported_folder: Path) -> None:
    reports: list[Progress] = []

    import_folder(library, imported_folder, reports.append)

    assert reports[0].total == 0  # listing: total unknown
    assert reports[-1].done == reports[-1].total == 3
    assert reports[-1].message == f"imported {imported_folder}"


def test_list_problems_sorted_by_path(library: Library, messy_folder: Path) -> None:
    import_folder(library, messy_folder)

    problems = list_problems(library)

    assert [p.path for p in problems] == sorted(
        str(messy_folder / n) for n, (state, _) in EXPECTED_MESSY.items() if state != "ok"
    )
    assert problems[0] == Problem(
        str(messy_folder / "dangling.jpg"), "broken symbolic link (its target does not exist)"
    )


def test_report_json_keys() -> None:
    report = ImportReport(
        folder="/p",
        imported=1,
        problems=[Problem("/p/x.jpg", "empty file (0 bytes)")],
        duplicate_pairs=[("/p/b.jpg", "/p/a.jpg")],
    )

    assert report.to_json() == {
        "folder": "/p",
        "imported": 1,
        "duplicates": 0,
        "unreadable": 0,
        "missing": 0,
        "moved": 0,
        "unchanged": 0,
        "unreadable_files": [{"path": "/p/x.jpg", "reason": "empty file (0 bytes)"}],
        "duplicate_files": [{"path": "/p/b.jpg", "original": "/p/a.jpg"}],
        "skipped": [],
    }

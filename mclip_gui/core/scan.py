"""Importing a folder of images into the library: walk, hash, read headers, reconcile.

`import_folder` is a job (progress callback, cancel token). It never writes into the image
folder; everything it learns goes into the library's database.

How much of each file is checked, and why: every file is read once in full to hash it, and its
header is parsed with Pillow (size, format, pixel limit) without decoding pixels. Decoding takes
tens of milliseconds per camera photo, which would cap an import far below 500 images/s on a
laptop, so instead the end of the file is checked for the format's closing marker (JPEG
end-of-image after the last scan, PNG IEND, GIF trailer, WebP RIFF length). Only files failing
that cheap check are decoded (JPEG at 1/8 scale), which catches truncated downloads while keeping
healthy files on the fast path. Damage hidden in the middle of a file with an intact ending is
caught later, when thumbnails or embeddings decode the image through `core.images.open_image`
(the thumbnail job records such images unreadable). TIFF and BMP have no closing marker: their
truncation, too, is found at that first decode.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import logging
import os
import stat
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mclip_gui.core.errors import ConfigError, ImageError
from mclip_gui.core.images import HEIF_SUPPORTED, check_size
from mclip_gui.core.jobs import CancelToken, EtaTracker, Progress, ProgressCallback, no_progress
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Folder, Image, utcnow

log = logging.getLogger(__name__)

# Files counted as images, by extension (compared in lower case). Other files are ignored.
HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".avif"})
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".dib", ".tif", ".tiff", ".gif"}
    | HEIF_EXTENSIONS
)
# Pillow decoders allowed to open a file; exotic ones (EPS, PSD…) are not offered user files.
WANTED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "DIB", "TIFF", "GIF", "HEIF", "AVIF")
# sha256 runs on the CPU's SHA instructions: 3x faster here than blake2b.
HASH_ALGORITHM = "sha256"
# Rows written per transaction; also how often progress is reported and cancel is checked.
BATCH_SIZE = 256
# Bytes at the end of a file searched for the format's closing marker.
TAIL_BYTES = 64 * 1024
MISSING_REASON = "file not found at the last import"


@dataclass
class Problem:
    """An image (or folder) that could not be read, with the reason shown to the user."""

    path: str
    reason: str


@dataclass
class ImportReport:
    """What one import did. Counts are of files found in this scan, one category each.

    imported: new (or changed) files recorded as readable images; unchanged: same size and
    modification time as recorded, not read again; moved: files recognised by content as an image
    recorded under another path (the row keeps its id, so captions stay attached); duplicates:
    byte-identical copies of an image already recorded; unreadable: files recorded with a reason
    (every unreadable file is read again on each import); missing: images of this folder that were
    recorded before and are gone now. `skipped` names what could not be recorded at all (a folder
    that cannot be listed, a file name that is not valid UTF-8).
    """

    folder: str
    imported: int = 0
    unchanged: int = 0
    moved: int = 0
    duplicates: int = 0
    unreadable: int = 0
    missing: int = 0
    problems: list[Problem] = field(default_factory=list)
    duplicate_pairs: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (the `mclip import --json` output)."""
        return {
            "folder": self.folder,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "unreadable": self.unreadable,
            "missing": self.missing,
            "moved": self.moved,
            "unchanged": self.unchanged,
            "unreadable_files": [{"path": p.path, "reason": p.reason} for p in self.problems],
            "duplicate_files": [
                {"path": copy, "original": original} for copy, original in self.duplicate_pairs
            ],
            "skipped": [{"path": p.path, "reason": p.reason} for p in self.skipped],
        }


@dataclass(frozen=True)
class Listed:
    """A file found by the walk; `reason` is set when it is already known to be unreadable."""

    path: str
    size: int = 0
    mtime: float = 0.0
    reason: str | None = None


@dataclass
class Listing:
    """The result of walking a folder: image files sorted by path, and what was skipped."""

    files: list[Listed] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)


@dataclass
class FileFacts:
    """What reading one file found out; `reason` is None for a readable image."""

    path: str
    size: int
    mtime: float
    content_hash: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    reason: str | None = None


@dataclass
class _Known:
    """A recorded image with a given content hash, as much as reconciling needs of it."""

    path: str
    state: str
    duplicate_of: int | None
    id: int | None = None  # None for a row inserted in this run, until its id is needed


@dataclass(frozen=True)
class PriorRow:
    """The recorded facts of an image, enough to tell whether its file changed."""

    id: int
    size: int
    mtime: float
    state: str


# ----------------------------------------------------------------------------- walking


def list_image_files(
    root: Path,
    exclude: Path | None = None,
    cancel: CancelToken | None = None,
    progress: ProgressCallback = no_progress,
) -> Listing:
    """Walk `root` recursively and list files with an image extension, sorted by path.

    Symbolic links to files and folders are followed; a folder reached twice (a link loop, or two
    links to one folder) is walked once. Names starting with a dot are hidden files (macOS
    resource forks, thumbnail caches) and are skipped. `exclude` (the library's data folder, if it
    lies inside) is not walked.
    """
    listing = Listing()
    visited: set[str] = set()
    excluded = os.path.realpath(exclude) if exclude else None
    stack = [str(root)]
    last_report = time.monotonic()
    while stack:
        directory = stack.pop()
        real = os.path.realpath(directory)
        if real == excluded:
            log.info("not walking %s: it is the library's data folder", directory)
            continue
        if real in visited:
            log.info("not walking %s again (link to a folder already walked)", printable(directory))
            continue
        visited.add(real)
        stack.extend(sorted(_scan_directory(directory, listing), reverse=True))
        if cancel is not None:
            cancel.check()
        if time.monotonic() - last_report > 0.2:  # a big tree takes a while to list
            progress(Progress(len(listing.files), 0, f"listing {root}"))
            last_report = time.monotonic()
    listing.files.sort(key=lambda f: f.path)
    return listing


def _scan_directory(directory: str, listing: Listing) -> list[str]:
    """Add the image files of one folder to `listing`; return its subfolders."""
    try:
        with os.scandir(directory) as it:
            entries = list(it)
    except OSError as e:
        listing.skipped.append(
            Problem(printable(directory), f"folder cannot be read: {_os_reason(e)}")
        )
        log.info("skipping folder %s: %s", printable(directory), _os_reason(e))
        return []
    subfolders = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if not _is_utf8(entry.path):
            reason = "name is not valid UTF-8 (rename it to import it)"
            listing.skipped.append(Problem(printable(entry.path), reason))
        elif _is_dir(entry):
            subfolders.append(entry.path)
        elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
            listing.files.append(_listed(entry))
    return subfolders


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a broken or looping link: reported as a file when it has an image name
        return False


def _listed(entry: os.DirEntry[str]) -> Listed:
    try:
        st = entry.stat()  # follows a symbolic link to the file it names
    except OSError as e:
        return Listed(entry.path, reason=_os_reason(e, link=entry.is_symlink()))
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or device named like an image would block or never end when read.
        return Listed(entry.path, reason="not a regular file (device, pipe or socket)")
    return Listed(entry.path, st.st_size, st.st_mtime)


def _is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(path: str) -> str:
    """A path safe to print and store, with bytes that are not UTF-8 shown as escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _os_reason(e: OSError, link: bool = False) -> str:
    if e.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(e, FileNotFoundError):
        if link:
            return "broken symbolic link (its target does not exist)"
        return "file disappeared during the import (deleted or moved)"
    if isinstance(e, PermissionError):
        return "permission denied"
    return f"cannot read: {e.strerror or e}"


# ----------------------------------------------------------------------------- reading


def read_facts(listed: Listed, max_pixels: int) -> FileFacts:
    """Hash one file and read its image header; never raises for a bad file (sets `reason`)."""
    facts = FileFacts(listed.path, listed.size, listed.mtime, reason=listed.reason)
    if facts.reason is not None:
        return facts
    try:
        with open(listed.path, "rb") as handle:
            _read_into(facts, handle, max_pixels)
    except ImageError as e:
        facts.reason = str(e)
    except OSError as e:
        facts.reason = _os_reason(e)
    except Exception as e:  # Pillow's parsers raise odd errors on malformed files
        log.debug("unexpected error reading %s", listed.path, exc_info=True)
        facts.reason = f"cannot read the image: {type(e).__name__}: {e}"
    return facts


def _read_into(facts: FileFacts, handle: io.BufferedReader, max_pixels: int) -> None:
    st = os.fstat(handle.fileno())  # the file as hashed, should it have changed since the walk
    facts.size, facts.mtime = st.st_size, st.st_mtime
    if facts.size == 0:
        raise ImageError("empty file (0 bytes)")
    facts.content_hash = hashlib.file_digest(handle, HASH_ALGORITHM).hexdigest()

    handle.seek(0)
    facts.width, facts.height, facts.format = read_header(handle, facts.path)
    check_size(facts.width, facts.height, max_pixels)

    if not ends_complete(handle, facts.format, facts.size):
        decode_check(handle)


def read_header(handle: BinaryIO, path: str) -> tuple[int, int, str]:
    """Width, height and format from the header alone; ImageError when it is no image."""
    try:
        with PILImage.open(handle, formats=pil_formats()) as img:
            return img.width, img.height, img.format or "unknown"
    except UnidentifiedImageError as e:
        if os.path.splitext(path)[1].lower() in HEIF_EXTENSIONS and not HEIF_SUPPORTED:
            raise ImageError("HEIC/AVIF needs the optional package pillow-heif") from e
        raise ImageError("not an image file (unknown format)") from e
    except OSError as e:
        if e.errno is not None:
            raise  # a real read error, reported as such by the caller
        raise ImageError(f"cannot read the image header: {e}") from e
    except (SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"cannot read the image header: {e}") from e


@functools.cache
def pil_formats() -> tuple[str, ...]:
    """The wanted formats this Pillow can open (HEIF/AVIF only with their plugin)."""
    PILImage.init()
    return tuple(f for f in WANTED_FORMATS if f in PILImage.OPEN)


def ends_complete(handle: BinaryIO, image_format: str, size: int) -> bool:
    """Whether the file ends as its format says a whole file ends (a cheap truncation check)."""
    handle.seek(max(0, size - TAIL_BYTES))
    tail = handle.read()
    if image_format in ("JPEG", "MPO"):
        # End-of-image must follow the last start-of-scan; entropy data cannot contain FF D9.
        return tail.rfind(b"\xff\xd9") > tail.rfind(b"\xff\xda")
    if image_format == "PNG":
        return b"IEND" in tail
    if image_format == "GIF":
        return tail.rstrip(b"\x00").endswith(b";")
    if image_format == "WEBP":
        handle.seek(4)
        return int.from_bytes(handle.read(4), "little") + 8 <= size
    return True  # other formats are checked when first decoded


def decode_check(handle: BinaryIO) -> None:
    """Decode the image (JPEG at 1/8 scale) and raise ImageError naming why it fails."""
    handle.seek(0)
    try:
        with PILImage.open(handle, formats=pil_formats()) as img:
            if img.format in ("JPEG", "MPO"):
                img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"cannot decode: {e}") from e


# ----------------------------------------------------------------------------- importing


def import_folder(
    library: Library,
    folder: Path,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ImportReport:
    """Import every image below `folder` into the library, reconciling with an earlier import.

    New files are added, files gone are marked missing, moved files keep their row (found by
    content hash), unchanged files are not read again, byte-identical copies are recorded as
    duplicates. Bad files never stop the import: each is recorded unreadable with a reason.
    Raises ConfigError when `folder` is not a folder, JobCancelled when cancelled (batches
    already written stay written).
    """
    root = _checked_root(folder)
    started = time.monotonic()
    cancel = cancel or CancelToken()
    progress(Progress(0, 0, f"listing {root}"))
    listing = list_image_files(root, library.data_dir, cancel, progress)
    try:
        report = _Importer(library, root, cancel).run(listing, progress)
    except IntegrityError as e:
        # Another import of the same files committed first (two windows, or window and CLI).
        raise ConfigError(
            f"another import of {root} into this library ran at the same time; what it recorded "
            "is kept: run this import again to reconcile the rest"
        ) from e
    report.seconds = time.monotonic() - started
    log.info(
        "imported %s in %.1f s: %d new, %d unchanged, %d moved, %d duplicates, %d unreadable, "
        "%d missing",
        root,
        report.seconds,
        report.imported,
        report.unchanged,
        report.moved,
        report.duplicates,
        report.unreadable,
        report.missing,
    )
    return report


def _checked_root(folder: Path) -> Path:
    root = Path(folder).expanduser()
    if not root.exists():
        raise ConfigError(f"folder not found: {root}")
    if not root.is_dir():
        raise ConfigError(f"not a folder: {root}")
    return root.resolve()


class _Importer:
    """One import run: the plan from the walk, then batches read in threads and written."""

    def __init__(self, library: Library, root: Path, cancel: CancelToken):
        self.library = library
        self.root = str(root)
        self.cancel = cancel
        self.report = ImportReport(folder=self.root)
        self.folder_id = self._folder_id()
        self.prior = self._prior_rows()
        # Rows recorded under this folder whose files were not found: missing unless moved.
        self.vanished: dict[int, str] = {}
        self.seen: set[str] = set()
        # Rows of the batch being written: new ones (inserted together) and changed ones.
        self.pending: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []

    def run(self, listing: Listing, progress: ProgressCallback) -> ImportReport:
        self.report.skipped = listing.skipped
        to_read = self._plan(listing.files)
        tracker = EtaTracker(len(listing.files), progress)
        done = self.report.unchanged
        tracker.report(done, f"importing {self.root}", force=True)
        for facts in self._read_batches(to_read):
            self._write_batch(facts)
            done += len(facts)
            tracker.report(done, f"importing {self.root}")
        self._finish()
        tracker.report(done, f"imported {self.root}", force=True)
        return self.report

    def _folder_id(self) -> int:
        with self.library.store.session() as s:
            folder = s.scalar(select(Folder).where(Folder.path == self.root))
            if folder is None:
                folder = Folder(path=self.root)
                s.add(folder)
                s.flush()
            return folder.id

    def _prior_rows(self) -> dict[str, PriorRow]:
        """Recorded images whose paths lie below this folder."""
        prefix = self.root if self.root.endswith(os.sep) else self.root + os.sep
        # Paths starting with the prefix sort between it and the prefix with its last character
        # incremented: a range the unique index on path answers. A database whose collation is
        # not byte order may miss some there, so this folder's own rows are asked for by id too.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        query = select(Image.id, Image.path, Image.size, Image.mtime, Image.state).where(
            or_(
                Image.folder_id == self.folder_id,
                and_(Image.path >= prefix, Image.path < upper),
            )
        )
        with self.library.store.session() as s:
            rows = s.execute(query).all()
        return {
            path: PriorRow(id_, size, mtime, state)
            for id_, path, size, mtime, state in rows
            if path.startswith(prefix)
        }

    def _plan(self, files: list[Listed]) -> list[Listed]:
        """Count unchanged files, note vanished ones; return the files that must be read."""
        self.seen = {f.path for f in files}
        self.vanished = {
            row.id: path
            for path, row in self.prior.items()
            if path not in self.seen and row.state != "missing"
        }
        to_read = []
        for f in files:
            row = self.prior.get(f.path)
            if row and row.state == "ok" and (row.size, row.mtime) == (f.size, f.mtime):
                self.report.unchanged += 1
            else:
                to_read.append(f)
        return to_read

    def _read_batches(self, files: list[Listed]) -> Iterator[list[FileFacts]]:
        """Read files on a thread pool, yielding batches in path order while the next is read."""
        max_pixels = self.library.settings.max_image_pixels
        batches = [files[i : i + BATCH_SIZE] for i in range(0, len(files), BATCH_SIZE)]
        pool = ThreadPoolExecutor(max_workers=reader_threads(), thread_name_prefix="import")
        try:
            pending: list[Future[FileFacts]] = []
            for batch in [*batches, []]:
                # The next batch is read while the current one is written.
                submitted = [pool.submit(read_facts, f, max_pixels) for f in batch]
                if pending:
                    self.cancel.check()
                    yield [future.result() for future in pending]
                pending = submitted
        finally:
            # On cancel or error: drop files not started, wait for the few being read.
            pool.shutdown(wait=True, cancel_futures=True)

    def _write_batch(self, batch: list[FileFacts]) -> None:
        """Record one batch in one transaction: new rows in one insert, changes in one update."""
        with self.library.store.session() as s:
            matches = self._matches(s, batch)
            for facts in batch:
                self._apply(s, facts, matches)
            self._insert_pending(s)
            if self.updates:
                s.execute(update(Image), self.updates)
                self.updates = []

    def _matches(self, s: Session, batch: list[FileFacts]) -> dict[str, list[_Known]]:
        """Recorded images sharing a content hash with a readable file of the batch."""
        hashes = {f.content_hash for f in batch if f.reason is None and f.content_hash}
        query = (
            select(Image.content_hash, Image.id, Image.path, Image.state, Image.duplicate_of)
            .where(Image.content_hash.in_(hashes))
            .order_by(Image.id)
        )
        matches: dict[str, list[_Known]] = {}
        for content_hash, id_, path, state, duplicate_of in s.execute(query):
            matches.setdefault(content_hash or "", []).append(
                _Known(path, state, duplicate_of, id_)
            )
        return matches

    def _apply(self, s: Session, facts: FileFacts, matches: dict[str, list[_Known]]) -> None:
        readable = facts.reason is None and facts.content_hash is not None
        same_hash = matches.setdefault(facts.content_hash or "", []) if readable else []
        values = _values(facts)
        prior = self.prior.get(facts.path)
        if prior is not None:
            values.update(id=prior.id, duplicate_of=self._original_id(s, facts, same_hash))
            self.updates.append(values)
            self._count(facts, values)
            return

        source = self._move_source(same_hash)
        if source is not None:
            self._move(source, facts, values)
            return

        duplicate_of = self._original_id(s, facts, same_hash)
        values.update(path=facts.path, folder_id=self.folder_id, duplicate_of=duplicate_of)
        values["added_at"] = values["updated_at"]
        self.pending.append(values)
        same_hash.append(_Known(facts.path, values["state"], duplicate_of))
        self._count(facts, values)

    def _move_source(self, same_hash: list[_Known]) -> _Known | None:
        """A recorded image with these bytes whose file is gone: the file was moved here."""
        for known in same_hash:
            if known.id is None or known.path in self.seen:
                continue  # recorded in this run, or its file is still there
            if known.state == "missing" or known.id in self.vanished:
                return known
            # Under another folder and not yet re-imported: it moved if its file is gone.
            if not known.path.startswith(self.root + os.sep) and not os.path.exists(known.path):
                return known
        return None

    def _move(self, source: _Known, facts: FileFacts, values: dict[str, Any]) -> None:
        log.info("%s moved to %s", source.path, facts.path)
        assert source.id is not None  # _move_source returns recorded rows only
        self.vanished.pop(source.id, None)
        values.update(id=source.id, path=facts.path, folder_id=self.folder_id)
        self.updates.append(values)
        source.path, source.state = facts.path, "ok"
        self.report.moved += 1

    def _original_id(self, s: Session, facts: FileFacts, same_hash: list[_Known]) -> int | None:
        """The id of the first recorded image with the same bytes (None if there is none)."""
        originals = [k for k in same_hash if k.state == "ok" and k.path != facts.path]
        if facts.reason is not None or not originals:
            return None
        first = next((k for k in originals if k.duplicate_of is None), originals[0])
        if first.duplicate_of is not None:
            original = s.get_one(Image, first.duplicate_of)
            first = _Known(original.path, original.state, None, original.id)
        if first.id is None:
            # The original is new in this batch: insert what is pending to learn its id.
            self._insert_pending(s)
            first.id = s.scalar(select(Image.id).where(Image.path == first.path))
        self.report.duplicate_pairs.append((facts.path, first.path))
        return first.id

    def _insert_pending(self, s: Session) -> None:
        if not self.pending:
            return
        # No RETURNING: one executemany is several times faster, and ids are rarely needed.
        s.execute(insert(Image), self.pending)
        self.pending = []

    def _count(self, facts: FileFacts, values: dict[str, Any]) -> None:
        if facts.reason is not None:
            self.report.unreadable += 1
            self.report.problems.append(Problem(facts.path, facts.reason))
            log.info("skipping %s: %s", facts.path, facts.reason)
        elif values["duplicate_of"] is not None:
            self.report.duplicates += 1
        else:
            self.report.imported += 1

    def _finish(self) -> None:
        """Mark images whose files are gone as missing, and note when the folder was scanned."""
        ids = list(self.vanished)
        with self.library.store.session() as s:
            for i in range(0, len(ids), BATCH_SIZE):
                s.execute(
                    update(Image)
                    .where(Image.id.in_(ids[i : i + BATCH_SIZE]))
                    .values(state="missing", reason=MISSING_REASON, updated_at=utcnow())
                )
            s.execute(update(Folder).where(Folder.id == self.folder_id).values(scanned_at=utcnow()))
        for path in self.vanished.values():
            log.info("missing: %s", path)
        self.report.missing = len(ids)


def _values(facts: FileFacts) -> dict[str, Any]:
    """The columns an import sets from what reading the file found."""
    return {
        "size": facts.size,
        "mtime": facts.mtime,
        "content_hash": facts.content_hash,
        "width": facts.width,
        "height": facts.height,
        "format": facts.format,
        "state": "ok" if facts.reason is None else "unreadable",
        "reason": facts.reason,
        "updated_at": utcnow(),
    }


def reader_threads() -> int:
    """Threads reading files: hashing and file reads release the GIL, header parsing does not."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


# ----------------------------------------------------------------------------- queries


def list_problems(library: Library) -> list[Problem]:
    """Every image recorded as unreadable, with its reason, sorted by path."""
    query = select(Image.path, Image.reason).where(Image.state == "unreadable").order_by(Image.path)
    with library.store.session() as s:
        rows = s.execute(query).all()
    return [Problem(path, reason or "unknown reason") for path, reason in rows]

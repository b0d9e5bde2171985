"""Import and export of captions: Toloka TSV, CSV/TSV/JSONL with named columns, open_clip CSV.

Import matches each row to a library image by path, then by file name, then by file name
without extension (case-insensitive), so a URL such as `https://…/90758519_2.jpeg` finds the
library image `…/90758519_2.jpeg`. Captions that break the rules are imported and flagged
(Caption.rule_flags), never dropped; a caption already stored for the same image, language and
text is not stored twice, so importing a file again changes nothing. Importing a file again
with another language (the first import named the wrong one) moves the captions that file had
imported to the new language, keeping their verdicts, instead of storing them twice. Rows whose
image is not in the library are counted and named in the report. Bytes that are not valid
UTF-8 are read as Windows-1252 (the real Toloka file has such stray bytes) and the lines are
counted.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import zip_longest
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import insert, select, update

from mclip_gui.core.captions.rules import LANGUAGES, check_caption
from mclip_gui.core.captions.split import TRAIN, ensure_splits
from mclip_gui.core.errors import CaptionError, ConfigError
from mclip_gui.core.jobs import CancelToken, EtaTracker, ProgressCallback, no_progress
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Annotator, Caption, Image, Verdict

log = logging.getLogger(__name__)

IMPORT_FORMATS = ("auto", "toloka", "csv", "tsv", "jsonl")
EXPORT_FORMATS = ("csv", "jsonl", "openclip", "toloka")
TOLOKA_COLUMNS = ("image", "English query", "German query")
TOLOKA_LANGUAGES = {"English query": "en", "German query": "de"}
EXPORT_COLUMNS = (
    "caption_id",
    "image",
    "file_name",
    "text",
    "language",
    "state",
    "author",
    "source",
    "created_at",
    "decided_at",
    "rule_flags",
    "split",
)


@dataclass
class ImportOptions:
    """How to read a caption file. Column options apply to CSV, TSV and JSONL."""

    format: str = "auto"
    language: str = "de"  # language of captions when the file does not say
    accepted: bool = False  # store the captions as already accepted (no validation)
    image_column: str = "image"
    text_column: str = "caption"
    language_column: str | None = None  # a column with de/en per row


@dataclass
class ImportReport:
    """What an import did; `summary_lines()` is what the command line prints."""

    file: str
    format: str = ""
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    relabelled: int = 0  # imported earlier under another language, now moved to this one
    empty_cells: int = 0
    unmatched_rows: int = 0
    unmatched_names: list[str] = field(default_factory=list)
    ambiguous_names: list[str] = field(default_factory=list)
    bad_rows: list[str] = field(default_factory=list)
    undecodable_lines: int = 0
    # per language: captions checked, and how many break each rule
    checked: Counter[str] = field(default_factory=Counter)
    flagged: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    clean: Counter[str] = field(default_factory=Counter)

    def summary_lines(self, max_names: int = 20) -> list[str]:
        lines = [
            f"{self.file} ({self.format}): {self.rows} rows, {self.imported} captions imported, "
            f"{self.duplicates} already present, {self.empty_cells} empty cells skipped",
        ]
        if self.relabelled:
            lines.append(
                f"{self.relabelled} captions imported earlier under another language were "
                "moved to this file's language"
            )
        if self.unmatched_rows:
            shown = ", ".join(self.unmatched_names[:max_names])
            more = len(self.unmatched_names) - max_names
            tail = f" … and {more} more" if more > 0 else ""
            lines.append(
                f"{self.unmatched_rows} rows name no image in the library "
                f"({len(self.unmatched_names)} file names): {shown}{tail}"
            )
        if self.ambiguous_names:
            lines.append(
                f"{len(self.ambiguous_names)} file names match several images (the first was "
                f"used): {', '.join(self.ambiguous_names[:max_names])}"
            )
        for problem in self.bad_rows[:max_names]:
            lines.append(f"skipped {problem}")
        if self.undecodable_lines:
            lines.append(
                f"{self.undecodable_lines} lines were not valid UTF-8; their stray bytes were "
                "read as Windows-1252"
            )
        for language in sorted(self.checked):
            lines.extend(self._rule_lines(language))
        return lines

    def _rule_lines(self, language: str) -> list[str]:
        total = self.checked[language]
        lines = [
            f"rules ({language}): {total} captions checked, {self.clean[language]} break no rule"
        ]
        for rule, count in sorted(self.flagged[language].items(), key=lambda kv: -kv[1]):
            lines.append(f"  {rule}: {count} ({100 * count / max(total, 1):.1f}%)")
        return lines


@dataclass(frozen=True)
class _Row:
    number: int
    image: str
    text: str
    language: str


# -- reading ---------------------------------------------------------------------------------
def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return bytes(bad).decode("cp1252", errors="replace"), error.end


codecs.register_error("mclip-cp1252", _cp1252_fallback)


def read_text(path: Path) -> tuple[str, int]:
    """The file's text and how many of its lines were not valid UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CaptionError(f"Cannot read {path}: {e.strerror or e}") from e
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\x00" in data[:8192]:  # text files have no NUL bytes; images and archives do
        raise CaptionError(
            f"{path.name} is not a text file; captions come as CSV, TSV, JSONL or a Toloka TSV"
        )
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError:
        pass
    bad_lines = 0
    for line in data.splitlines():
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines += 1
    log.warning("%s: %s lines are not valid UTF-8; read as Windows-1252", path, bad_lines)
    return data.decode("utf-8", errors="mclip-cp1252"), bad_lines


def detect_format(path: Path, text: str, requested: str) -> str:
    """The import format: as requested, or from the header and the file extension."""
    if requested not in IMPORT_FORMATS:
        raise ConfigError(f"unknown import format {requested!r}; use {', '.join(IMPORT_FORMATS)}")
    if requested != "auto":
        return requested
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    header = text.split("\n", 1)[0]
    if all(column.casefold() in header.casefold() for column in TOLOKA_COLUMNS[1:]):
        return "toloka"
    return "tsv" if suffix == ".tsv" or ("\t" in header and "," not in header) else "csv"


def _table(text: str, delimiter: str) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    for number, row in enumerate(reader, start=2):
        yield number, {k.strip(): (v or "") for k, v in row.items() if k is not None}


def _column(row: dict[str, Any], wanted: str) -> Any:
    if wanted in row:
        return row[wanted]
    folded = {k.casefold(): v for k, v in row.items()}
    return folded.get(wanted.casefold())


def _rows(text: str, fmt: str, options: ImportOptions, report: ImportReport) -> Iterator[_Row]:
    if fmt == "jsonl":
        yield from _jsonl_rows(text, options, report)
        return
    delimiter = "," if fmt == "csv" else "\t"
    first = True
    for number, row in _table(text, delimiter):
        if first:
            if fmt != "toloka":
                options = _own_export_columns(options, row)
            columns = TOLOKA_COLUMNS[1:] if fmt == "toloka" else (options.text_column,)
            image_column = "image" if fmt == "toloka" else options.image_column
            extra = (options.language_column,) if options.language_column else ()
            _require_columns(row, (image_column, *columns, *extra))
            first = False
        report.rows += 1
        image = _column(row, image_column) or ""
        for column in columns:
            language = TOLOKA_LANGUAGES.get(column) or _row_language(row, options, number, report)
            if language is not None:
                yield _Row(number, image.strip(), _column(row, column) or "", language)


def _own_export_columns(options: ImportOptions, columns: dict[str, Any]) -> ImportOptions:
    """Read this app's own exports without options: their caption column is `text`, and a
    `language` column, when a file has one, gives each row's language."""
    have = {str(c).casefold() for c in columns}
    changes: dict[str, Any] = {}
    if options.text_column == "caption" and "caption" not in have and "text" in have:
        changes["text_column"] = "text"
    if options.language_column is None and "language" in have:
        changes["language_column"] = "language"
    return replace(options, **changes) if changes else options


def _require_columns(row: dict[str, str], needed: tuple[str, ...]) -> None:
    have = {k.casefold() for k in row}
    missing = [c for c in needed if c.casefold() not in have]
    if missing:
        raise CaptionError(
            f"The file has no column {', '.join(missing)} (columns: {', '.join(row)}); "
            "name the right ones with --image-column, --text-column and --language-column."
        )


def _row_language(
    row: dict[str, Any], options: ImportOptions, number: int, report: ImportReport
) -> str | None:
    """The row's caption language; None (and the row named as skipped) when it is neither."""
    if not options.language_column:
        return options.language
    value = str(_column(row, options.language_column) or "").strip().lower()
    if not value:
        return options.language
    if value not in LANGUAGES:
        report.bad_rows.append(
            f"line {number}: language {value!r} is not one of {', '.join(LANGUAGES)}"
        )
        return None
    return value


def _jsonl_rows(text: str, options: ImportOptions, report: ImportReport) -> Iterator[_Row]:
    first = True
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        report.rows += 1
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not an object")
        except ValueError as e:
            report.bad_rows.append(f"line {number}: not a JSON object ({e})")
            continue
        if first:
            options = _own_export_columns(options, record)
            first = False
        image = str(record.get(options.image_column) or "")
        caption = record.get(options.text_column)
        language = _row_language(record, options, number, report)
        if language is not None:
            yield _Row(number, image.strip(), "" if caption is None else str(caption), language)


# -- matching --------------------------------------------------------------------------------
class _ImageIndex:
    """Finds library images by path, file name, or file name without extension."""

    def __init__(self, library: Library):
        self.by_path: dict[str, int] = {}
        self.by_name: dict[str, list[int]] = defaultdict(list)
        self.by_stem: dict[str, list[int]] = defaultdict(list)
        with library.store.session() as s:
            for image_id, path in s.execute(select(Image.id, Image.path).order_by(Image.id)):
                name = PurePosixPath(path.replace("\\", "/")).name
                self.by_path[path] = image_id
                self.by_name[name].append(image_id)
                self.by_stem[name.rsplit(".", 1)[0].casefold()].append(image_id)

    def find(self, reference: str) -> tuple[int | None, bool]:
        """(image id or None, whether several images matched)."""
        if reference in self.by_path:
            return self.by_path[reference], False
        name = file_name(reference)
        for ids in (self.by_name.get(name), self.by_stem.get(name.rsplit(".", 1)[0].casefold())):
            if ids:
                return ids[0], len(ids) > 1
        return None, False


def file_name(reference: str) -> str:
    """The file name in a path or URL (`https://…/a/b.jpeg?x=1` gives `b.jpeg`)."""
    if "://" in reference:
        reference = urlparse(reference).path
    return PurePosixPath(reference.replace("\\", "/")).name


# -- import ----------------------------------------------------------------------------------
def import_captions(
    library: Library,
    path: Path,
    options: ImportOptions | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ImportReport:
    """Import a caption file in one transaction; returns what was imported and what not."""
    options = options or ImportOptions()
    if options.language not in LANGUAGES:
        raise ConfigError(f"unknown caption language {options.language!r}; use de or en")
    path = Path(path)
    text, undecodable = read_text(path)
    fmt = detect_format(path, text, options.format)
    report = ImportReport(file=path.name, format=fmt, undecodable_lines=undecodable)
    # One import at a time per data folder: each checks what is stored before it writes.
    with library.lock("caption-import"):
        records, relabels = _collect(library, path, text, fmt, options, report, progress, cancel)
        with library.store.session() as s:
            for start in range(0, len(records), 2000):
                s.execute(insert(Caption), records[start : start + 2000])
            if relabels:
                s.execute(update(Caption), relabels)
    report.imported = len(records)
    report.relabelled = len(relabels)
    log.info("imported %s captions from %s (%s)", report.imported, path, fmt)
    return report


def _collect(
    library: Library,
    path: Path,
    text: str,
    fmt: str,
    options: ImportOptions,
    report: ImportReport,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """New caption rows to insert, and language changes of earlier imported captions."""
    images = _ImageIndex(library)
    seen, imported_before = _existing_captions(library, _source(path))
    relabels: list[dict[str, Any]] = []
    unmatched: set[str] = set()
    ambiguous: set[str] = set()
    unmatched_rows: set[int] = set()
    now = datetime.now(UTC)
    eta = EtaTracker(max(text.count("\n"), 1), progress)
    min_words = library.settings.min_caption_words
    records: list[dict[str, Any]] = []
    for row in _rows(text, fmt, options, report):
        if row.number % 500 == 0:
            if cancel is not None:
                cancel.check()
            eta.report(row.number, "reading captions")
        caption = row.text.strip()
        if not caption:
            report.empty_cells += 1
            continue
        image_id, several = images.find(row.image)
        if image_id is None:
            unmatched_rows.add(row.number)
            unmatched.add(file_name(row.image) or "(no image given)")
            continue
        if several:
            ambiguous.add(file_name(row.image))
        flags = [v.rule for v in check_caption(caption, row.language, min_words)]
        _count_rules(report, row.language, flags)
        key = (image_id, row.language, caption)
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        earlier = imported_before.pop((image_id, caption), None)
        if earlier is not None:
            caption_id, old_language = earlier
            seen.discard((image_id, old_language, caption))
            relabels.append(
                {"id": caption_id, "language": row.language, "rule_flags": _flags_json(flags)}
            )
            continue
        records.append(_record(image_id, caption, row.language, flags, path, options, now))
    report.unmatched_rows = len(unmatched_rows)
    report.unmatched_names = sorted(unmatched)
    report.ambiguous_names = sorted(ambiguous)
    eta.report(eta.total, "storing captions", force=True)
    return records, relabels


def _existing_captions(
    library: Library, source: str
) -> tuple[set[tuple[int, str, str]], dict[tuple[int, str], tuple[int, str]]]:
    """(image, language, text) of every stored caption; and, for captions imported from a file
    of this name whose text is stored for their image once, (image, text) -> (caption id,
    language): the ones importing that file under another language moves, not duplicates."""
    with library.store.session() as s:
        rows = s.execute(
            select(Caption.id, Caption.image_id, Caption.language, Caption.text, Caption.source)
        ).all()
    seen = {(int(i), str(lang), str(t)) for _, i, lang, t, _ in rows}
    languages = Counter((int(i), str(t)) for _, i, _, t, _ in rows)
    movable = {
        (int(i), str(t)): (int(cid), str(lang))
        for cid, i, lang, t, from_file in rows
        if source == from_file and languages[(int(i), str(t))] == 1
    }
    return seen, movable


def _count_rules(report: ImportReport, language: str, flags: list[str]) -> None:
    report.checked[language] += 1
    if not flags:
        report.clean[language] += 1
    for rule in flags:
        report.flagged[language][rule] += 1


def _source(path: Path) -> str:
    return f"imported:{path.name}"[:200]


def _flags_json(flags: list[str]) -> str | None:
    return json.dumps(flags) if flags else None


def _record(
    image_id: int,
    text: str,
    language: str,
    flags: list[str],
    path: Path,
    options: ImportOptions,
    now: datetime,
) -> dict[str, Any]:
    return {
        "image_id": image_id,
        "text": text,
        "language": language,
        "author_id": None,
        "source": _source(path),
        "state": "accepted" if options.accepted else "pending",
        "rule_flags": _flags_json(flags),
        "created_at": now,
        "decided_at": now if options.accepted else None,
    }


# -- export ----------------------------------------------------------------------------------
def export_captions(
    library: Library,
    path: Path,
    fmt: str,
    states: tuple[str, ...] = (),
    language: str | None = None,
) -> int:
    """Write captions to `path`; returns how many were written.

    csv/jsonl: every caption (or those in `states`) with image path, author, state, split.
    openclip: tab-separated `filepath`/`title`, accepted captions of train-split images.
    toloka: `image`, `English query`, `German query`, one row per image and caption pair.
    """
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; use {', '.join(EXPORT_FORMATS)}")
    if fmt == "openclip":
        ensure_splits(library)
    rows = _export_rows(library, ("accepted",) if fmt == "openclip" else states, language)
    if fmt == "openclip":
        rows = [r for r in rows if r["split"] == TRAIN]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        count = _WRITERS[fmt](handle, rows)
    tmp.replace(path)
    log.info("exported %s captions to %s (%s)", count, path, fmt)
    return count


def _export_rows(
    library: Library, states: tuple[str, ...], language: str | None
) -> list[dict[str, Any]]:
    query = (
        select(Caption, Image.path, Image.split, Annotator.name)
        .join(Image, Image.id == Caption.image_id)
        .outerjoin(Annotator, Annotator.id == Caption.author_id)
        .order_by(Caption.id)
    )
    if states:
        query = query.where(Caption.state.in_(states))
    if language:
        query = query.where(Caption.language == language)
    with library.store.session() as s:
        verdicts = _verdict_counts(library)
        return [
            {
                "caption_id": c.id,
                "image": path,
                "file_name": file_name(path),
                "text": c.text,
                "language": c.language,
                "state": c.state,
                "author": author or "",
                "source": c.source,
                "created_at": c.created_at.isoformat() if c.created_at else "",
                "decided_at": c.decided_at.isoformat() if c.decided_at else "",
                "rule_flags": json.loads(c.rule_flags) if c.rule_flags else [],
                "split": split or "",
                "verdicts": verdicts.get(c.id, {}),
            }
            for c, path, split, author in s.execute(query)
        ]


def _verdict_counts(library: Library) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    with library.store.session() as s:
        for caption_id, verdict in s.execute(select(Verdict.caption_id, Verdict.verdict)):
            counts[caption_id][verdict] = counts[caption_id].get(verdict, 0) + 1
    return counts


def _write_csv(handle: io.TextIOBase, rows: list[dict[str, Any]]) -> int:
    writer = csv.DictWriter(handle, fieldnames=[*EXPORT_COLUMNS, "verdicts"])
    writer.writeheader()
    for row in rows:
        flat = dict(row)
        flat["rule_flags"] = " ".join(row["rule_flags"])
        flat["verdicts"] = json.dumps(row["verdicts"], sort_keys=True) if row["verdicts"] else ""
        writer.writerow(flat)
    return len(rows)


def _write_jsonl(handle: io.TextIOBase, rows: list[dict[str, Any]]) -> int:
    for row in rows:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)


def _write_openclip(handle: io.TextIOBase, rows: list[dict[str, Any]]) -> int:
    writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
    writer.writerow(["filepath", "title"])
    for row in rows:
        writer.writerow([row["image"], row["text"]])
    return len(rows)


def _write_toloka(handle: io.TextIOBase, rows: list[dict[str, Any]]) -> int:
    by_image: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"en": [], "de": []})
    for row in rows:
        by_image[row["image"]].setdefault(row["language"], []).append(row["text"])
    writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
    writer.writerow(TOLOKA_COLUMNS)
    written = 0
    for image, texts in by_image.items():
        for english, german in zip_longest(texts["en"], texts["de"], fillvalue=""):
            writer.writerow([image, english, german])
            written += bool(english) + bool(german)
    return written


_WRITERS = {
    "csv": _write_csv,
    "jsonl": _write_jsonl,
    "openclip": _write_openclip,
    "toloka": _write_toloka,
}

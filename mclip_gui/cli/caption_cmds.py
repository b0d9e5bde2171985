"""Caption commands: `mclip captions import|export|check` and `mclip annotators add|list`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mclip_gui.cli.progress import progress_bar
from mclip_gui.core.captions.io import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    ImportOptions,
    export_captions,
    import_captions,
)
from mclip_gui.core.captions.rules import LANGUAGES, check_caption
from mclip_gui.core.captions.service import annotator_names, ensure_annotator
from mclip_gui.core.captions.split import (
    ensure_splits,
    eval_one_in,
    set_eval_one_in,
    split_counts,
)
from mclip_gui.core.jobs import CancelToken
from mclip_gui.core.library import Library

CAPTION_STATES = ("pending", "accepted", "rejected", "withdrawn", "problem")


def register(commands: Any) -> None:
    captions = commands.add_parser("captions", help="import, export and check captions")
    sub = captions.add_subparsers(dest="captions_command", metavar="ACTION", required=True)
    _register_import(sub)
    _register_export(sub)
    check = sub.add_parser("check", help="check a caption against the rules (exit 1 if broken)")
    check.add_argument("text", help="the caption text")
    check.add_argument(
        "--language", choices=LANGUAGES, help="rule set (default: settings.caption_language)"
    )
    check.set_defaults(func=cmd_check)
    split = sub.add_parser(
        "split", help="assign train/eval splits and show them; change the held-out share"
    )
    split.add_argument(
        "--eval-one-in",
        type=int,
        default=None,
        help="hold out one image in N for evaluation (only before the first training run)",
    )
    split.set_defaults(func=cmd_split)

    annotators = commands.add_parser("annotators", help="add or list annotators")
    asub = annotators.add_subparsers(dest="annotators_command", metavar="ACTION", required=True)
    add = asub.add_parser("add", help="add an annotator (no password: attribution only)")
    add.add_argument("name")
    add.add_argument("--use", action="store_true", help="also make it the active annotator")
    add.set_defaults(func=cmd_annotators_add)
    listing = asub.add_parser("list", help="list annotators (* marks the active one)")
    listing.set_defaults(func=cmd_annotators_list)


def _register_import(sub: Any) -> None:
    p = sub.add_parser(
        "import",
        help="import captions (Toloka TSV, CSV, TSV, JSONL), matched to images by file name",
    )
    p.add_argument("file", type=Path)
    p.add_argument("--format", choices=IMPORT_FORMATS, default="auto")
    p.add_argument("--language", choices=LANGUAGES, default="de", help="caption language")
    p.add_argument("--accepted", action="store_true", help="store as already accepted")
    p.add_argument("--image-column", default="image", help="column naming the image")
    p.add_argument("--text-column", default="caption", help="column with the caption")
    p.add_argument("--language-column", default=None, help="column with de/en per row")
    p.set_defaults(func=cmd_import)


def _register_export(sub: Any) -> None:
    p = sub.add_parser("export", help="export captions (csv, jsonl, openclip, toloka)")
    p.add_argument("file", type=Path)
    p.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default=None,
        help="default from the extension: .jsonl jsonl, .tsv toloka, else csv; openclip writes "
        "the accepted captions of the train split as tab-separated filepath/title",
    )
    p.add_argument(
        "--state",
        action="append",
        choices=CAPTION_STATES,
        help="only captions in this state (repeatable; default: all)",
    )
    p.add_argument("--language", choices=LANGUAGES, default=None, help="only this language")
    p.set_defaults(func=cmd_export)


def cmd_import(args: argparse.Namespace, library: Library) -> int:
    options = ImportOptions(
        format=args.format,
        language=args.language,
        accepted=args.accepted,
        image_column=args.image_column,
        text_column=args.text_column,
        language_column=args.language_column,
    )
    with progress_bar("import captions") as progress:
        report = import_captions(library, args.file, options, progress, CancelToken())
    for line in report.summary_lines():
        print(line)
    if report.rows and not (report.imported or report.relabelled or report.duplicates):
        # Nothing of the file is in the library: tell scripts, not only the reader.
        print(
            "mclip captions import: no caption of the file was stored (see above)",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_export(args: argparse.Namespace, library: Library) -> int:
    fmt = args.format or {".jsonl": "jsonl", ".tsv": "toloka"}.get(args.file.suffix.lower(), "csv")
    count = export_captions(library, args.file, fmt, tuple(args.state or ()), args.language)
    print(f"{count} captions written to {args.file} ({fmt})")
    return 0


def cmd_check(args: argparse.Namespace, library: Library) -> int:
    language = args.language or library.settings.caption_language
    broken = check_caption(args.text, language, library.settings.min_caption_words)
    for violation in broken:
        print(f"{violation.rule}: {violation.message}")
    if not broken:
        print("ok: the caption breaks no rule")
    return 1 if broken else 0


def cmd_split(args: argparse.Namespace, library: Library) -> int:
    if args.eval_one_in is not None:
        moved = set_eval_one_in(library, args.eval_one_in)
        print(f"eval split set to one image in {args.eval_one_in} ({moved} images assigned)")
    else:
        ensure_splits(library)
    counts = split_counts(library)
    print(
        f"one image in {eval_one_in(library)} held out: {counts.get('train', 0)} train, "
        f"{counts.get('eval', 0)} eval, {counts.get(None, 0)} without content hash"
    )
    return 0


def cmd_annotators_add(args: argparse.Namespace, library: Library) -> int:
    ensure_annotator(library, args.name)
    name = " ".join(args.name.split())
    if args.use or not library.settings.annotator:
        library.update_settings(annotator=name)
    print(f"annotator {name} added")
    return 0


def cmd_annotators_list(args: argparse.Namespace, library: Library) -> int:
    active = library.settings.annotator
    for name in annotator_names(library):
        print(f"{'*' if name == active else ' '} {name}")
    return 0

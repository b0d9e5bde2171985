"""Library commands: info, import (a folder of images) and problems (unreadable images)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from mclip_gui.cli.progress import progress_bar
from mclip_gui.core.errors import ConfigError
from mclip_gui.core.library import Library
from mclip_gui.core.scan import ImportReport, import_folder, list_problems
from mclip_gui.core.schema import Caption, Image


def register(commands: Any) -> None:
    info = commands.add_parser("info", help="show the data folder, database and counts")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=cmd_info)

    imp = commands.add_parser(
        "import",
        help="import a folder of images (recursively); run again to pick up changes",
        description="Record every image below FOLDER in the library. Run it again after "
        "adding, deleting or moving files: new files are added, moved files keep their "
        "captions, files gone are marked missing. The folder itself is never written to.",
    )
    imp.add_argument("folder", metavar="FOLDER", help="the folder of images")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.set_defaults(func=cmd_import)

    problems = commands.add_parser("problems", help="list unreadable images with the reason")
    problems.add_argument("--json", action="store_true", help="print JSON")
    problems.set_defaults(func=cmd_problems)


def cmd_info(args: argparse.Namespace, library: Library) -> int:
    with library.store.session() as s:
        by_state = dict(
            s.execute(select(Image.state, func.count()).group_by(Image.state)).tuples().all()
        )
        captions = dict(
            s.execute(select(Caption.state, func.count()).group_by(Caption.state)).tuples().all()
        )
    facts = {
        "data_dir": str(library.data_dir),
        "database": library.store.engine.url.render_as_string(hide_password=True),
        "model": library.settings.model,
        "images": by_state,
        "captions": captions,
    }
    if args.json:
        print(json.dumps(facts, indent=2, ensure_ascii=False))
    else:
        for key, value in facts.items():
            print(f"{key}: {value}")
    return 0


def cmd_import(args: argparse.Namespace, library: Library) -> int:
    """Import a folder; exit 0 whenever the scan finished, whatever it found."""
    if not args.folder.strip():
        raise ConfigError("no folder given: name the folder of images to import")
    with progress_bar("import") as progress:
        report = import_folder(library, Path(args.folder), progress)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print_import_report(report)
    return 0


SHOWN_DUPLICATES = 10


def print_import_report(report: ImportReport) -> None:
    """The human summary: skipped files on stderr, then duplicates and the counts on stdout.

    Every skipped file is named; of the duplicates (harmless copies) only the first few.
    """
    for problem in [*report.skipped, *report.problems]:
        print(f"skipping {problem.path}: {problem.reason}", file=sys.stderr)
    for copy, original in report.duplicate_pairs[:SHOWN_DUPLICATES]:
        print(f"duplicate {copy}: same bytes as {original}")
    hidden = len(report.duplicate_pairs) - SHOWN_DUPLICATES
    if hidden > 0:
        print(f"… and {hidden} more duplicates (--json lists them all)")
    print(
        f"{report.folder}: {report.imported} imported, {report.unchanged} unchanged, "
        f"{report.moved} moved, {report.duplicates} duplicates, {report.unreadable} unreadable, "
        f"{report.missing} missing ({report.seconds:.1f} s)"
    )


def cmd_problems(args: argparse.Namespace, library: Library) -> int:
    problems = list_problems(library)
    if args.json:
        rows = [{"path": p.path, "reason": p.reason} for p in problems]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not problems:
        print("no unreadable images")
    else:
        for problem in problems:
            print(f"{problem.path}: {problem.reason}")
    return 0

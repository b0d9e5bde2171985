"""`mclip`: the headless command line. Every command calls the same core services as the window.

Each command group lives in its own module with a `register(subparsers)` function; a command's
handler takes the parsed arguments and an opened Library and returns the exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from mclip_gui import __version__
from mclip_gui.core.errors import JobCancelled, MclipError
from mclip_gui.core.library import Library
from mclip_gui.core.logs import setup_logging

log = logging.getLogger(__name__)

COMMAND_MODULES = (
    "mclip_gui.cli.library_cmds",
    "mclip_gui.cli.search_cmds",
    "mclip_gui.cli.caption_cmds",
    "mclip_gui.cli.train_cmds",
    "mclip_gui.cli.model_cmds",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mclip",
        description="mclip-gui headless: import images, caption, index, search, fine-tune, "
        "evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"mclip {__version__}")
    add_common_options(parser)
    # Not `required=True`: argparse would then report a missing COMMAND before an unknown
    # option, and `mclip --bogus` would say the wrong thing. main() checks both itself.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the library's data folder (default: the per-user data folder, or $MCLIP_DATA_DIR)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug details")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.error("choose a command, for example: mclip import FOLDER (mclip --help lists all)")
    setup_logging(args.verbose)
    library = None
    try:
        if getattr(args, "needs_library", True):
            library = Library(args.data_dir)
        return int(args.func(args, library))
    except JobCancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (MclipError, ValueError, FileNotFoundError) as e:
        log.debug("command failed", exc_info=True)
        print(f"mclip: error: {e}", file=sys.stderr)
        return 2
    finally:
        if library is not None:
            library.close()

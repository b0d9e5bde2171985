"""`mclip-gui`: starts the window. Imports neither torch nor a model before the first paint."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mclip_gui import __version__

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

log = logging.getLogger(__name__)
# Package data, so it is found the same way in a pip install and in the bundle.
APP_ICON = Path(__file__).resolve().parents[1] / "resources" / "icons" / "mclip-gui.png"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mclip-gui", description="Search your images with CLIP.")
    parser.add_argument(
        "folder",
        nargs="?",
        type=Path,
        help="a folder of images to add to the library (scanned recursively)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the library's data folder (default: the per-user data folder)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug details")
    # For bench/bench_window.py: print when the window first painted, then quit.
    parser.add_argument("--quit-after-first-paint", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation end to end offscreen on a throwaway library, then exit",
    )
    parser.add_argument("--version", action="version", version=f"mclip-gui {__version__}")
    return parser


def app_icon() -> QIcon:
    """The window icon from the package's resources (an empty icon if the file is missing)."""
    from PySide6.QtGui import QIcon

    return QIcon(str(APP_ICON))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    from mclip_gui.core.logs import setup_logging

    log_file = setup_logging(args.verbose)
    log.info("mclip-gui %s starting; log file %s", __version__, log_file)
    if args.self_test:
        from mclip_gui.selftest import run_self_test

        return run_self_test()
    if args.folder is not None and not args.folder.is_dir():
        print(f"mclip-gui: error: {args.folder} is not a folder", file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication, QMessageBox

    from mclip_gui.core.errors import ConfigError
    from mclip_gui.core.library import Library
    from mclip_gui.gui.errors import ErrorReporter
    from mclip_gui.gui.main_window import MainWindow

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("mclip-gui")
    app.setOrganizationName("mclip-gui")
    app.setWindowIcon(app_icon())
    errors = ErrorReporter()
    errors.install()
    try:
        library = Library(args.data_dir)
    except ConfigError as e:  # an unusable data folder: say so instead of a traceback
        log.error("%s", e)
        print(f"mclip-gui: error: {e}", file=sys.stderr)
        QMessageBox.critical(None, "mclip-gui", str(e))
        return 2
    window = MainWindow(library, errors=errors)
    if args.quit_after_first_paint:
        from mclip_gui.gui.first_paint import quit_after_first_paint

        quit_after_first_paint(app)
    window.show()
    if args.folder is not None:
        window.folder_dropped.emit(args.folder.resolve())
    code = app.exec()
    library.close()
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())

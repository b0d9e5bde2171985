"""Logging set-up shared by the window and the command line: a rotating file in the log dir."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from mclip_gui.core.paths import default_log_dir

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(verbose: bool = False, log_dir: Path | None = None, console: bool = True) -> Path:
    """Send logs to `<log dir>/mclip-gui.log` (rotating, 5 x 2 MB) and, if asked, to stderr.

    Returns the log file path. Calling it again replaces the handlers it installed before.
    """
    folder = log_dir or default_log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    log_file = folder / "mclip-gui.log"
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_mclip", False):
            root.removeHandler(handler)
    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    file_handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    file_handler._mclip = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream.setLevel(logging.DEBUG if verbose else logging.WARNING)
        stream._mclip = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    return log_file

"""Where the app keeps its own files: per-user folders from platformdirs, or --data-dir."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "mclip-gui"
DATA_DIR_ENV = "MCLIP_DATA_DIR"


def default_data_dir() -> Path:
    """The data folder used when none is given: $MCLIP_DATA_DIR, else the per-user data dir."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


class DataLayout:
    """The fixed layout inside one library's data folder."""

    def __init__(self, root: Path):
        self.root = Path(root).expanduser().resolve()

    @property
    def database(self) -> Path:
        return self.root / "library.sqlite3"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def thumbnails(self) -> Path:
        return self.root / "thumbnails"

    @property
    def embeddings(self) -> Path:
        return self.root / "embeddings"

    @property
    def model_versions(self) -> Path:
        return self.root / "models"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    def ensure(self) -> None:
        for folder in (self.root, self.thumbnails, self.embeddings, self.model_versions, self.runs):
            folder.mkdir(parents=True, exist_ok=True)

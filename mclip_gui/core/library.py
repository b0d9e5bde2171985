"""A library: the user's image folders plus the app's own data folder (database, caches)."""

from __future__ import annotations

import logging
from pathlib import Path

from filelock import FileLock
from sqlalchemy.exc import SQLAlchemyError

from mclip_gui.core.errors import ConfigError
from mclip_gui.core.paths import DataLayout, default_data_dir
from mclip_gui.core.settings import Settings
from mclip_gui.core.store import Store

log = logging.getLogger(__name__)


class Library:
    """Everything one data folder holds, opened: layout, settings and the database store.

    Services (import, captions, search, training) are given a Library when they are built.
    """

    def __init__(self, data_dir: Path | None = None, database_url: str | None = None):
        self.layout = DataLayout(data_dir or default_data_dir())
        try:
            self.layout.ensure()
        except OSError as e:
            raise ConfigError(
                f"cannot use the data folder {self.layout.root}: {e.strerror or e}; "
                "choose another with --data-dir"
            ) from e
        self.settings = Settings.load(self.layout.settings_file)
        url = database_url or self.settings.database_url or f"sqlite:///{self.layout.database}"
        try:
            # Two programs opening a new data folder at once must not both create the tables.
            with self.lock("migrate"):
                self.store = Store(url)
        except SQLAlchemyError as e:
            raise ConfigError(
                f"cannot open the database {url}: {getattr(e, 'orig', e)} (is the data folder "
                "writable?)"
            ) from e
        except OSError as e:  # the lock file cannot be made: a read-only data folder
            raise ConfigError(
                f"cannot use the data folder {self.layout.root}: {e.strerror or e}; "
                "choose another with --data-dir"
            ) from e
        log.info(
            "opened library data folder %s (database %s)",
            self.layout.root,
            self.store.engine.url.render_as_string(hide_password=True),
        )

    @property
    def data_dir(self) -> Path:
        return self.layout.root

    def lock(self, name: str, timeout_s: float = 600) -> FileLock:
        """A lock shared by every program using this data folder (a file in `locks/`).

        For work whose check and write must not interleave with the same work elsewhere, such
        as creating the schema or importing captions (two imports would both find a caption
        missing and both store it).
        """
        self.layout.locks.mkdir(exist_ok=True)
        return FileLock(self.layout.locks / f"{name}.lock", timeout=timeout_s)

    def save_settings(self) -> None:
        self.settings.save(self.layout.settings_file)

    def update_settings(self, **changes: object) -> None:
        """Apply and save setting changes; raises ValueError naming a bad value."""
        self.settings = self.settings.updated(**changes)
        self.save_settings()

    def close(self) -> None:
        self.store.close()

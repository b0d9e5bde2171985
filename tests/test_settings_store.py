import json
import sqlite3
from pathlib import Path

import pytest

from mclip_gui.core.library import Library
from mclip_gui.core.settings import DEFAULT_MODEL, Settings


def test_settings_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    Settings().updated(min_caption_words=4, caption_language="en").save(path)

    loaded = Settings.load(path)

    assert loaded.min_caption_words == 4
    assert loaded.caption_language == "en"
    assert loaded.model == DEFAULT_MODEL


def test_bad_stored_values_fall_back_with_warning(tmp_path: Path, caplog) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "min_caption_words": -3,
                "device": "tpu",
                "hnsw_m": "x",
                "nonsense": 1,
                "claim_seconds": 60,
            }
        )
    )

    loaded = Settings.load(path)

    assert loaded.min_caption_words == 6
    assert loaded.device == "auto"
    assert loaded.hnsw_m == 32
    assert loaded.claim_seconds == 60
    assert "min_caption_words=-3 ignored: below 1" in caption_text(caplog)
    assert "unknown settings ignored: nonsense" in caption_text(caplog)


def caption_text(caplog) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


def test_unreadable_settings_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json")

    assert Settings.load(path) == Settings()


def test_updated_rejects_bad_value() -> None:
    with pytest.raises(ValueError, match="verdicts_per_caption=0: below 1"):
        Settings().updated(verdicts_per_caption=0)


def test_new_library_runs_migrations_with_wal_and_foreign_keys(data_dir: Path) -> None:
    lib = Library(data_dir)
    lib.store.set_meta("k", "v")
    lib.close()

    con = sqlite3.connect(data_dir / "library.sqlite3")
    tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {
        "images",
        "captions",
        "verdicts",
        "annotators",
        "claims",
        "drafts",
        "model_versions",
        "training_runs",
        "embedding_sets",
        "alembic_version",
    } <= tables
    assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert con.execute("select version_num from alembic_version").fetchone()[0] == "0001"
    reopened = Library(data_dir)
    assert reopened.store.get_meta("k") == "v"
    with reopened.store.engine.connect() as c:
        assert c.exec_driver_sql("pragma foreign_keys").scalar() == 1
    reopened.close()

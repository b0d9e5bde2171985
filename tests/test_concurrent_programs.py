"""Several programs on one data folder at the same moment (two terminals, a window and a
script): the schema is created once and a caption import never stores a caption twice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from caption_fixtures import make_images
from sqlalchemy import func, select

from mclip_gui.core.library import Library
from mclip_gui.core.schema import Caption


def run_at_once(commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "mclip_gui.cli", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in commands
    ]
    done = []
    for process, argv in zip(started, commands, strict=True):
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(argv, process.returncode, out, err))
    return done


def test_three_programs_open_a_new_data_folder_at_once(tmp_path: Path) -> None:
    data = str(tmp_path / "new-data")

    results = run_at_once([["--data-dir", data, "info"]] * 3)

    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]


def test_three_caption_imports_at_once_store_each_caption_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    library = Library(data)
    make_images(library, tmp_path / "photos", 40)
    library.close()
    table = tmp_path / "captions.csv"
    rows = [
        f"product_{i:04d}.png,rotes Kleid Nummer {i} aus Seide für den Sommer" for i in range(40)
    ]
    table.write_text("image,caption\n" + "\n".join(rows) + "\n", encoding="utf-8")

    results = run_at_once([["--data-dir", str(data), "captions", "import", str(table)]] * 3)

    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    imported = sorted(int(r.stdout.split(" captions imported")[0].split()[-1]) for r in results)
    assert imported == [0, 0, 40]
    library = Library(data)
    with library.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Caption)) == 40
    library.close()

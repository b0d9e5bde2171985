"""`mclip import` and `mclip problems`: exact output a user sees, JSON shape, exit codes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from PIL import Image as PILImage

from mclip_gui.cli import main


def make_jpeg(path: Path, seed: int) -> None:
    rng = random.Random(seed)
    pixels = bytes(rng.randrange(256) for _ in range(32 * 24 * 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.frombytes("RGB", (32, 24), pixels).save(path, "JPEG")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "Fotos für Jürgen"
    make_jpeg(folder / "a.jpg", seed=1)
    make_jpeg(folder / "sub" / "b.jpg", seed=2)
    (folder / "copy of a.jpg").write_bytes((folder / "a.jpg").read_bytes())
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("kein Bild")
    (folder / "readme.txt").write_text("ignored")
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_json(data_dir: Path, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "import", str(folder), "--json")

    assert code == 0
    assert json.loads(out) == {
        "folder": str(folder),
        "imported": 2,
        "duplicates": 1,
        "unreadable": 2,
        "missing": 0,
        "moved": 0,
        "unchanged": 0,
        "unreadable_files": [
            {"path": str(folder / "empty.jpg"), "reason": "empty file (0 bytes)"},
            {"path": str(folder / "text.jpg"), "reason": "not an image file (unknown format)"},
        ],
        "duplicate_files": [
            {"path": str(folder / "copy of a.jpg"), "original": str(folder / "a.jpg")}
        ],
        "skipped": [],
    }


def test_import_human_summary(
    data_dir: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--data-dir", str(data_dir), "import", str(folder))

    assert code == 0
    assert err.splitlines() == [
        f"skipping {folder / 'empty.jpg'}: empty file (0 bytes)",
        f"skipping {folder / 'text.jpg'}: not an image file (unknown format)",
    ]
    lines = out.splitlines()
    assert lines[0] == f"duplicate {folder / 'copy of a.jpg'}: same bytes as {folder / 'a.jpg'}"
    assert lines[1].startswith(
        f"{folder}: 2 imported, 0 unchanged, 0 moved, 1 duplicates, 2 unreadable, 0 missing ("
    )
    assert len(lines) == 2


def test_many_duplicates_are_summed_up(
    data_dir: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(12):
        (folder / f"copy {i:02d}.jpg").write_bytes((folder / "a.jpg").read_bytes())

    code, out, _ = run(capsys, "--data-dir", str(data_dir), "import", str(folder))

    lines = out.splitlines()
    assert code == 0
    assert sum(line.startswith("duplicate ") for line in lines) == 10
    assert lines[10] == "… and 3 more duplicates (--json lists them all)"
    assert "13 duplicates" in lines[11]


def test_reimport_after_deleting_a_file(
    data_dir: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "--data-dir", str(data_dir), "import", str(folder))
    (folder / "sub" / "b.jpg").unlink()

    code, out, _ = run(capsys, "--data-dir", str(data_dir), "import", str(folder), "--json")

    report = json.loads(out)
    assert code == 0
    assert (report["missing"], report["unchanged"], report["unreadable"]) == (1, 2, 2)


def test_import_of_missing_folder_fails_clearly(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--data-dir", str(data_dir), "import", str(tmp_path / "nope"))

    assert code == 2
    assert out == ""
    assert err == f"mclip: error: folder not found: {tmp_path / 'nope'}\n"


def test_problems_lists_unreadable_images(
    data_dir: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "--data-dir", str(data_dir), "import", str(folder))

    code, out, _ = run(capsys, "--data-dir", str(data_dir), "problems")
    json_code, json_out, _ = run(capsys, "--data-dir", str(data_dir), "problems", "--json")

    assert code == json_code == 0
    assert out.splitlines() == [
        f"{folder / 'empty.jpg'}: empty file (0 bytes)",
        f"{folder / 'text.jpg'}: not an image file (unknown format)",
    ]
    assert json.loads(json_out) == [
        {"path": str(folder / "empty.jpg"), "reason": "empty file (0 bytes)"},
        {"path": str(folder / "text.jpg"), "reason": "not an image file (unknown format)"},
    ]


def test_problems_when_there_are_none(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "problems")

    assert (code, out) == (0, "no unreadable images\n")

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from caption_fixtures import drop_new_log_handlers, make_images

from mclip_gui.cli import main as mclip
from mclip_gui.core.library import Library


@pytest.fixture(autouse=True)
def log_handlers() -> Iterator[None]:
    before = list(logging.getLogger().handlers)
    yield
    drop_new_log_handlers(before)


def run(data_dir: Path, *args: str) -> int:
    return mclip(["--data-dir", str(data_dir), *args])


def test_check_prints_each_broken_rule_and_exits_1(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(data_dir, "captions", "check", "Das ist eine Jacke; rot.")

    assert code == 1
    assert capsys.readouterr().out == (
        "too_few_words: Write at least 6 words (now 5).\n"
        'separators: Separate words only with a space or ", " (found "; ", ".").\n'
        'opening: Do not start with "Das ist": name the product right away.\n'
    )


def test_check_exits_0_for_a_good_caption(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(data_dir, "captions", "check", "rote Lederjacke für Damen, Winter, warm")

    assert code == 0
    assert capsys.readouterr().out == "ok: the caption breaks no rule\n"


def test_check_uses_the_english_rule_set_when_asked(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(data_dir, "captions", "check", "--language", "en", "These are red boots for women")

    assert code == 1
    assert 'opening: Do not start with "these are"' in capsys.readouterr().out


def test_annotators_add_and_list(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "annotators", "add", "Anna") == 0
    assert run(data_dir, "annotators", "add", "  Ben  Berg ") == 0
    capsys.readouterr()

    assert run(data_dir, "annotators", "list") == 0

    assert capsys.readouterr().out == "* Anna\n  Ben Berg\n"


def test_import_then_export_through_the_command_line(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = Library(data_dir)
    make_images(library, tmp_path / "p", 2)
    library.close()
    source = tmp_path / "in.tsv"
    source.write_text(
        "image\tEnglish query\tGerman query\n"
        "https://x.example/product_0000.png\tred wool scarf for women with fringes\t"
        "roter Wollschal mit Fransen für Damen, Winter\n",
        encoding="utf-8",
    )

    assert run(data_dir, "captions", "import", str(source), "--accepted") == 0
    out_file = tmp_path / "out.jsonl"
    assert run(data_dir, "captions", "export", str(out_file), "--language", "de") == 0

    out = capsys.readouterr().out
    assert "in.tsv (toloka): 1 rows, 2 captions imported" in out
    assert f"1 captions written to {out_file} (jsonl)" in out
    assert "roter Wollschal mit Fransen für Damen, Winter" in out_file.read_text(encoding="utf-8")


def test_import_of_a_missing_file_is_a_clear_error(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(data_dir, "captions", "import", str(tmp_path / "nope.tsv"))

    assert code == 2
    assert capsys.readouterr().err.startswith(
        f"mclip: error: Cannot read {tmp_path / 'nope.tsv'}: No such file or directory"
    )


def test_an_import_that_stores_nothing_exits_1(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "elsewhere.csv"
    source.write_text("image,caption\nnot-here.jpg,rotes Kleid aus Seide für den Sommer\n")

    code = run(data_dir, "captions", "import", str(source))

    out, err = capsys.readouterr()
    assert code == 1
    assert "1 rows name no image in the library (1 file names): not-here.jpg" in out
    assert err.endswith("mclip captions import: no caption of the file was stored (see above)\n")


def test_split_command_assigns_and_refuses_after_training(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mclip_gui.core.schema import TrainingRun

    library = Library(data_dir)
    make_images(library, tmp_path / "p", 12)
    library.close()

    assert run(data_dir, "captions", "split", "--eval-one-in", "3") == 0
    first = capsys.readouterr().out
    library = Library(data_dir)
    with library.store.session() as s:
        s.add(TrainingRun(model="tiny", run_dir=str(tmp_path / "run")))
    library.close()
    code = run(data_dir, "captions", "split", "--eval-one-in", "4")

    assert first.startswith("eval split set to one image in 3 (12 images assigned)\n")
    assert "one image in 3 held out: " in first
    assert code == 2
    assert capsys.readouterr().err == (
        "mclip: error: The evaluation split is fixed at one image in 3 since the first training "
        "run; changing it to one in 4 would move images between train and eval.\n"
    )

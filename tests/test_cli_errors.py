"""Bad input on the command line gets one clear line, never a traceback."""

from pathlib import Path

import pytest

from mclip_gui.cli import main


def test_unusable_data_folder_is_one_clear_error(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    code = main(["--data-dir", str(blocker / "data"), "info"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"mclip: error: cannot use the data folder {blocker / 'data'}")
    assert "Traceback" not in err


def test_empty_folder_name_is_refused(data_dir: Path, capsys) -> None:
    code = main(["--data-dir", str(data_dir), "import", "  "])

    assert code == 2
    assert "no folder given: name the folder of images to import" in capsys.readouterr().err


def test_empty_query_is_refused(data_dir: Path, capsys) -> None:
    code = main(["--data-dir", str(data_dir), "search", "   "])

    assert code == 2
    assert "the query is empty" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus"], "mclip: error: unrecognized arguments: --bogus"),
        ([], "mclip: error: choose a command"),
    ],
)
def test_unknown_option_and_missing_command_are_named(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err

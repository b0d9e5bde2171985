"""The headless commands: finetune, versions, evaluate, experiment learning-curve."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_models import tiny_clip_config
from training_data import build_library

from mclip_gui.cli import main
from mclip_gui.core.library import Library

TRAIN = ["--epochs", "1", "--lr", "0.002", "--batch-size", "8", "--mode", "both"]


def test_finetune_versions_evaluate_and_learning_curve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    library = Library(data)
    build_library(library, tmp_path / "images")
    config = str(tiny_clip_config(tmp_path))
    library.update_settings(model=config, device="cpu")
    library.close()
    cli = ["--data-dir", str(data)]

    assert main([*cli, "finetune", *TRAIN, "--device", "cpu", "--in-process"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("zero-shot: mRR ") for line in out.splitlines())
    assert "epoch 1: mRR " in out
    assert "search now uses version:ft-" in out

    assert main([*cli, "versions", "list"]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("* ft-") and f"from {config}  both  27 captions  mRR " in listing

    assert main([*cli, "evaluate", "--markdown"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| Metric | tiny-clip (zero-shot) | ft-")
    assert table[0].endswith("(fine-tuned) |")
    assert [row.split(" | ")[0] for row in table[2:10]] == [
        "| mRR",
        "| mAP",
        "| DCG",
        "| NDCG",
        "| Hits@20",
        "| Recall@1",
        "| Recall@5",
        "| Recall@10",
    ]
    assert table[-1] == "9 queries, 9 eval images, top 20."

    out_dir = tmp_path / "curve"
    args = ["experiment", "learning-curve", "--sizes", "10,50", "--out", str(out_dir)]
    assert main([*cli, *args, *TRAIN, "--device", "cpu", "--in-process"]) == 0
    csv = (out_dir / "learning-curve.csv").read_text().splitlines()
    assert csv[0] == "train_captions,mRR,mAP,DCG,NDCG,Hits@20,Recall@1,Recall@5,Recall@10"
    assert [row.split(",")[0] for row in csv[1:]] == ["0", "10", "27"]  # 50 clipped to all 27
    assert (out_dir / "learning-curve.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_sizes_and_missing_version_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = ["--data-dir", str(tmp_path / "data")]

    assert main([*cli, "experiment", "learning-curve", "--sizes", "500,abc"]) == 2
    assert "mclip: error: training size 'abc' is not a whole number of at least 2" in (
        capsys.readouterr().err
    )
    assert main([*cli, "evaluate", "--model", "version:nope"]) == 2
    assert "mclip: error: no model version named 'nope'" in capsys.readouterr().err
    # A bare word given to `versions activate` is taken as a version name, and the message
    # says which versions exist instead of listing every model form.
    assert main([*cli, "versions", "activate", "nosuch"]) == 2
    assert "no model version named 'nosuch' in this library (it has no model versions yet)" in (
        capsys.readouterr().err
    )
    assert main([*cli, "finetune", "--resume"]) == 2
    assert "mclip: error: there is no checkpoint to resume from (any run)" in (
        capsys.readouterr().err
    )


def test_finetune_without_a_terminal_prints_progress_between_epochs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mclip_gui.cli.train_cmds import EventPrinter

    printer = EventPrinter(every_s=0, terminal=False)
    step = {"kind": "step", "epoch": 2, "epochs": 5, "step": 40, "steps": 300, "loss": 3.1234}
    printer({**step, "samples_per_s": 14.25, "eta_s": 720.0})
    printer({"kind": "status", "message": "embedding held-out images"})
    printer({"kind": "eval", "epoch": 2, "metrics": {"mRR": 0.25}, "loss": 2.5})
    EventPrinter(every_s=0, terminal=True)({**step, "samples_per_s": 1.0, "eta_s": None})

    assert capsys.readouterr().out.splitlines() == [
        "epoch 2/5, step 40/300, loss 3.1234, 14.2 samples/s, about 12 min left",
        "embedding held-out images",
        "epoch 2: mRR 0.2500 (train loss 2.5000)",
    ]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--max-captions=0", "argument --max-captions: 0 is below 1"),
        ("--batch-size=0", "argument --batch-size: 0 is below 1"),
        ("--batch-size=x", "argument --batch-size: 'x' is not a whole number"),
    ],
)
def test_zero_sizes_are_refused_not_taken_as_automatic(
    option: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--data-dir", str(tmp_path / "data"), "finetune", option])

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_compared_models_appear_once_and_are_labelled_by_what_they_are(tmp_path: Path) -> None:
    from mclip_gui.core.evaluation import comparison_columns
    from mclip_gui.core.starter import register_starter
    from mclip_gui.core.training.versions import create_version

    library = Library(tmp_path / "data")
    register_starter(library, tmp_path / "starter-folder", "starter")

    def version(name: str, base: str) -> None:
        (tmp_path / name).mkdir()
        create_version(
            library, name, tmp_path / name, base, mode="both", settings={}, data={}, metrics={}
        )

    version("ft1", "version:starter")
    version("ft2", "version:ft1")

    def columns(*specs: str) -> list[tuple[str, str]]:
        return [(c.label, c.kind) for c in comparison_columns(library, specs)]

    # Two models named: each fine-tuned one beside what it was trained from, nothing twice.
    assert columns("version:starter", "version:ft2") == [
        ("starter", "zero-shot"),
        ("ft1", "fine-tuned"),
        ("ft2", "fine-tuned"),
    ]
    # One model named: it and its newest fine-tuned version.
    assert columns("version:starter") == [("starter", "zero-shot"), ("ft1", "fine-tuned")]
    assert columns("ft1") == [
        ("starter", "zero-shot"),
        ("ft1", "fine-tuned"),
        ("ft2", "fine-tuned"),
    ]
    library.close()


def test_a_registered_starter_is_listed_without_made_up_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mclip_gui.core.starter import register_starter

    library = Library(tmp_path / "data")
    register_starter(library, tmp_path / "starter-folder", "starter")
    library.close()

    assert main(["--data-dir", str(tmp_path / "data"), "versions", "list"]) == 0
    assert capsys.readouterr().out == (
        "  starter  starter  not trained here (mclip evaluate measures it)\n"
    )


def test_versions_delete_refuses_the_active_and_bases_and_frees_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mclip_gui.core.training.versions import create_version

    library = Library(tmp_path / "data")
    for name, base in (("ft1", "ViT-B-32::openai"), ("ft2", "version:ft1"), ("ft3", "version:ft1")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "weights.bin").write_bytes(b"\0" * 2**20)
        create_version(
            library, name, tmp_path / name, base, mode="both", settings={}, data={}, metrics={}
        )
    library.update_settings(model="version:ft3")
    library.close()
    cli = ["--data-dir", str(tmp_path / "data"), "versions", "delete"]

    assert main([*cli, "ft3"]) == 2
    assert "ft3 is the active model; activate another one before deleting it" in (
        capsys.readouterr().err
    )
    assert main([*cli, "ft1"]) == 2
    assert "ft1 is the base of ft2, ft3; delete those first" in capsys.readouterr().err
    assert main([*cli, "version:ft2"]) == 0
    assert capsys.readouterr().out == "deleted ft2 (1 MiB freed)\n"
    assert not (tmp_path / "data" / "models" / "ft2").exists()
    assert (tmp_path / "data" / "models" / "ft1").exists()

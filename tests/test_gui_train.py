"""The Train and Compare pages with a tiny model: button, live progress, cancel, crash, table."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from tiny_models import tiny_clip_config
from training_data import build_library

from mclip_gui.core.library import Library
from mclip_gui.gui.errors import ErrorReporter
from mclip_gui.gui.main_window import MainWindow
from mclip_gui.gui.pages.compare_page import ComparePage
from mclip_gui.gui.pages.train_page import TrainPage, format_eta


class QuietErrors(ErrorReporter):
    """Records error messages instead of opening dialogs."""

    def _show(self, text: str, details: str) -> None:
        self.shown.append(text)


@pytest.fixture
def window(qtbot: Any, library: Library, tmp_path: Path) -> Any:
    build_library(library, tmp_path / "images")
    library.update_settings(model=str(tiny_clip_config(tmp_path)), device="cpu")
    win = MainWindow(library, errors=QuietErrors())
    qtbot.addWidget(win)
    page = win.pages["train_page"]
    page.in_process = True
    fast = {
        "epochs": 2,
        "batch_size": 8,
        "patience": 0,
        "workers": 1,
        "checkpoint_every_steps": 0,
    }
    for name, value in fast.items():
        page.form.editors[name].setValue(value)
    page.form.editors["learning_rate"].setText("0.002")
    page.form.editors["warmup_fraction"].setText("0.0")
    for name, value in (("mode", "both"), ("device", "cpu")):
        combo = page.form.editors[name]
        combo.setCurrentIndex(combo.findData(value))
    yield win
    win.runner.cancel_all()
    win.runner.wait(30_000)


def test_fine_tune_now_shows_progress_and_switches_search_to_the_new_version(
    qtbot: Any, window: MainWindow
) -> None:
    page: TrainPage = window.pages["train_page"]  # type: ignore[assignment]
    base = window.library.settings.model

    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert not page.start_button.isEnabled() and page.cancel_button.isEnabled()
    with qtbot.waitSignal(page.job.finished, timeout=120_000):
        pass

    assert page.figures["Epoch"].text() == "2 of 2"
    assert page.figures["Step"].text() == "4 of 4"
    assert float(page.figures["Samples/s"].text()) > 0
    assert len(page.loss_points) == 8
    assert [epoch for epoch, _ in page.metric_points["mRR"]] == [0, 1, 2]
    assert page.progress_bar.value() == page.progress_bar.maximum() == 8
    assert page.versions.rowCount() == 1
    version = page.versions.item(0, 0).data(Qt.ItemDataRole.UserRole)
    assert page.versions.item(0, 0).text() == f"{version} (active)"
    assert window.library.settings.model == f"version:{version}" != base
    assert page.status_label.text().startswith(f"model version {version}: eval mRR ")
    assert page.start_button.isEnabled() and not page.cancel_button.isEnabled()


def test_delete_selected_version_asks_first_and_frees_its_folder(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    from mclip_gui.core.training.versions import create_version

    folder = tmp_path / "old-version"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\0" * 4096)
    create_version(
        window.library, "old", folder, window.library.settings.model,
        mode="both", settings={}, data={}, metrics={},
    )  # fmt: skip
    page: TrainPage = window.pages["train_page"]  # type: ignore[assignment]
    page.refresh()
    page.versions.selectRow(0)
    questions: list[str] = []
    page.confirm = lambda question: questions.append(question) or False  # type: ignore[method-assign]

    assert page.delete_selected() is None  # answered No: nothing happens
    assert page.versions.rowCount() == 1

    page.confirm = lambda question: True  # type: ignore[method-assign]
    job = page.delete_selected()
    assert job is not None
    with qtbot.waitSignal(job.finished, timeout=30_000):
        pass

    assert questions and questions[0].startswith("Delete model version old?")
    assert page.versions.rowCount() == 0
    assert not (window.library.layout.model_versions / "old").exists()
    assert page.status_label.text() == "Deleted old; 0 MiB freed."


def test_cancel_stops_the_run_and_keeps_the_previous_model(qtbot: Any, window: MainWindow) -> None:
    page: TrainPage = window.pages["train_page"]  # type: ignore[assignment]
    base = window.library.settings.model
    page.start()
    qtbot.waitUntil(lambda: len(page.loss_points) >= 1, timeout=60_000)

    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(page.job.finished, timeout=60_000):
        pass

    assert page.status_label.text() == (
        "Training cancelled; the previous model stays active. Resume continues the run."
    )
    assert len(page.loss_points) < 8
    assert window.library.settings.model == base
    assert page.versions.rowCount() == 0


def test_crashed_training_process_is_shown_as_an_error(qtbot: Any, window: MainWindow) -> None:
    page: TrainPage = window.pages["train_page"]  # type: ignore[assignment]
    page.in_process = False
    base = window.library.settings.model

    def kill(event: dict[str, Any]) -> None:
        if event["kind"] == "started":
            os.kill(event["pid"], signal.SIGKILL)

    page.bridge.arrived.connect(kill)
    page.start()
    with qtbot.waitSignal(page.job.finished, timeout=120_000):
        pass

    message = (
        "The training process stopped unexpectedly (killed by signal SIGKILL, perhaps out of "
        "memory). Nothing was changed and the previous model stays active; the run can be "
        "resumed from its last checkpoint."
    )
    assert window.errors.shown == [message]
    assert page.status_label.text() == f"Training failed: {message}"
    assert window.library.settings.model == base


def test_compare_page_evaluates_and_exports_the_table(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    page: ComparePage = window.pages["compare_page"]  # type: ignore[assignment]
    assert page.checked_models() == [window.library.settings.model]

    job = page.evaluate()
    assert job is not None
    with qtbot.waitSignal(job.finished, timeout=60_000):
        pass

    assert page.table.rowCount() == 8 and page.table.columnCount() == 1
    assert page.table.verticalHeaderItem(0).text() == "mRR"
    assert page.status.text() == "9 queries against 9 eval images, top 20."
    csv_path = page.export("csv", tmp_path / "table.csv")
    md_path = page.export("md", tmp_path / "table.md")
    assert csv_path is not None and md_path is not None
    assert csv_path.read_text().startswith("Metric,tiny-clip (zero-shot)\nmRR,")
    assert md_path.read_text().startswith("| Metric | tiny-clip (zero-shot) |\n|---|---|\n| mRR |")


def test_eta_is_readable() -> None:
    assert [format_eta(s) for s in (None, 12.4, 250, 3900)] == [
        "—",
        "12 s",
        "4 min 10 s",
        "1 h 05 min",
    ]

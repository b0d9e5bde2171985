"""The Train page: "Fine-tune now", live progress and charts, Advanced settings, versions.

Training runs in a child process (core.training.child) driven from a worker-thread job; its
events (steps, evaluations) reach this page on the main thread through a queued signal. The
page never imports torch: the child and the job do.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mclip_gui.core.jobs import CancelToken, Progress, ProgressCallback
from mclip_gui.core.training.config import MODE_LABELS, TrainSettings, field_help
from mclip_gui.gui.field_editors import editor_for, editor_value
from mclip_gui.gui.jobs import Job

if TYPE_CHECKING:
    from mclip_gui.gui.main_window import MainWindow

log = logging.getLogger(__name__)

SETTINGS_KEY = "training.settings"  # Meta key: the Advanced panel's values, as JSON
CHART_METRICS = ("mRR", "NDCG", "Recall@10")


def create_page(window: MainWindow) -> tuple[str, QWidget]:
    return "Train", TrainPage(window)


def format_eta(seconds: float | None) -> str:
    """`1 h 05 min`, `4 min 10 s`, `12 s`, or an em dash when unknown."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total >= 3600:
        return f"{total // 3600} h {total % 3600 // 60:02d} min"
    if total >= 60:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total} s"


class EventBridge(QObject):
    """Carries training events from the job's thread to the main thread."""

    arrived = Signal(object)


class SettingsForm(QGroupBox):
    """Editable TrainSettings, one row per field, tooltips from the field comments."""

    def __init__(self, settings: TrainSettings):
        super().__init__("Advanced settings")
        self.setFlat(True)
        self.setCheckable(True)
        self.setChecked(False)
        self.editors: dict[str, QWidget] = {}
        self.body = QWidget()
        form = QFormLayout(self.body)
        for f in dataclasses.fields(TrainSettings):
            labels = MODE_LABELS if f.name == "mode" else None
            editor = editor_for(f, getattr(settings, f.name), labels)
            editor.setToolTip(field_help(f.name))
            self.editors[f.name] = editor
            form.addRow(f.name.replace("_", " ").capitalize(), editor)
        # Scrolls, so the open panel never squeezes the charts away.
        scroll = QScrollArea()
        scroll.setWidget(self.body)
        scroll.setWidgetResizable(True)
        scroll.setMaximumHeight(230)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(scroll)
        scroll.setVisible(False)
        self.toggled.connect(scroll.setVisible)

    def values(self) -> TrainSettings:
        """The settings in the form; ValueError naming a bad entry."""
        changes = {name: editor_value(name, editor) for name, editor in self.editors.items()}
        return TrainSettings().updated(**changes)


class TrainPage(QWidget):
    """Fine-tune the active model and follow the run."""

    def __init__(self, window: MainWindow):
        super().__init__()
        self.window_ = window
        self.library = window.library
        self.in_process = False  # tests train in the app's process (no child start-up)
        self.job: Job | None = None
        self.bridge = EventBridge()
        self.bridge.arrived.connect(self.on_event)
        self.loss_points: list[tuple[int, float]] = []
        self.metric_points: dict[str, list[tuple[int, float]]] = {m: [] for m in CHART_METRICS}

        self.model_label = QLabel()
        self.data_label = QLabel()
        self.start_button = QPushButton("Fine-tune now")
        self.start_button.setToolTip("Train the active model on the accepted captions")
        self.resume_button = QPushButton("Resume last run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(lambda: self.start())
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.cancel_button.clicked.connect(self.cancel)
        self.form = SettingsForm(self.saved_settings())

        self.progress_bar = QProgressBar()
        self.status_label = QLabel("Not running.")
        self.status_label.setWordWrap(True)
        self.figures = {name: QLabel("—") for name in ("Epoch", "Step", "Loss", "Samples/s", "ETA")}

        # The charts are built when first needed: importing pyqtgraph costs most of a second,
        # which would otherwise delay the window's first paint.
        self.charts = QHBoxLayout()
        self.loss_plot: Any = None
        self.metric_plot: Any = None
        self.loss_curve: Any = None
        self.metric_curves: dict[str, Any] = {}

        self.versions = QTableWidget(0, 6)
        self.versions.setHorizontalHeaderLabels(
            ["Version", "Trained from", "Mode", "Captions", "mRR zero-shot", "mRR best"]
        )
        self.versions.horizontalHeader().setStretchLastSection(True)
        self.versions.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.versions.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.activate_button = QPushButton("Activate selected version")
        self.activate_button.clicked.connect(self.activate_selected)
        self.delete_button = QPushButton("Delete selected version…")
        self.delete_button.setToolTip("Frees the disk its weights and image embeddings take")
        self.delete_button.clicked.connect(self.delete_selected)
        self._layout()
        self.refresh()

    def _layout(self) -> None:
        top = QHBoxLayout()
        info = QVBoxLayout()
        info.addWidget(self.model_label)
        info.addWidget(self.data_label)
        top.addLayout(info, 1)
        for button in (self.start_button, self.resume_button, self.cancel_button):
            top.addWidget(button)
        figures = QGridLayout()
        for column, (name, label) in enumerate(self.figures.items()):
            title = QLabel(name)
            title.setStyleSheet("color: gray")
            label.setStyleSheet("font-size: 15px; font-weight: bold")
            figures.addWidget(title, 0, column)
            figures.addWidget(label, 1, column)
        versions = QVBoxLayout()
        versions.addWidget(QLabel("Model versions"))
        versions.addWidget(self.versions)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.activate_button)
        versions.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addLayout(figures)
        layout.addLayout(self.charts, 3)
        layout.addLayout(versions, 2)

    # -- state -----------------------------------------------------------------------------
    def saved_settings(self) -> TrainSettings:
        raw = self.library.store.get_meta(SETTINGS_KEY)
        return TrainSettings.from_dict(json.loads(raw)) if raw else TrainSettings()

    def refresh(self) -> None:
        """Model, caption counts and the versions table, from the library."""
        from mclip_gui.core.training.data import accepted_captions
        from mclip_gui.core.training.versions import list_versions

        self.model_label.setText(f"Active model: {self.library.settings.model}")
        train = len(accepted_captions(self.library, "train", assign=False))
        held = len(accepted_captions(self.library, "eval", assign=False))
        self.data_label.setText(
            f"{train:,} accepted captions to train on, {held:,} held out for evaluation"
        )
        versions = list_versions(self.library)
        self.versions.setRowCount(len(versions))
        active = self.library.settings.model
        for row, v in enumerate(versions):
            name = f"{v.name} (active)" if v.spec == active else v.name
            # A version not trained here (the starter) has no before and after.
            change = ("—", "—") if v.mrr_change is None else [f"{m:.4f}" for m in v.mrr_change]
            cells = [name, v.base_model, v.mode, str(v.data.get("captions", "")), *change]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, v.name)
                self.versions.setItem(row, column, item)
        self.versions.resizeColumnsToContents()

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.activate_button.setEnabled(not running)
        self.delete_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.form.setEnabled(not running)

    # -- actions ---------------------------------------------------------------------------
    def start(self, resume: bool = False) -> Job | None:
        """Start (or resume) fine-tuning as a background job; returns the job."""
        try:
            settings = self.form.values()
        except ValueError as e:
            self.status_label.setText(f"Check the Advanced settings: {e}")
            return None
        self.library.store.set_meta(SETTINGS_KEY, json.dumps(settings.to_dict()))
        self._clear_charts()
        library, bridge, in_process = self.library, self.bridge, self.in_process

        def run(progress: ProgressCallback, cancel: CancelToken) -> Any:
            from mclip_gui.core.training.child import finetune

            return finetune(
                library,
                settings=None if resume else settings,
                progress=progress,
                cancel=cancel,
                on_event=bridge.arrived.emit,
                resume=resume,
                in_process=in_process,
            )

        self.job = self.window_.runner.start("Fine-tuning", run)
        self.job.progress.connect(self.on_progress)
        self.job.succeeded.connect(self.on_succeeded)
        self.job.failed.connect(self.on_failed)
        self.job.cancelled.connect(self.on_cancelled)
        self.job.finished.connect(lambda: self._set_running(False))
        self._set_running(True)
        self.status_label.setText("Starting the training process…")
        return self.job

    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.status_label.setText("Cancelling: the run stops after the current step…")

    def selected_version(self, verb: str) -> str | None:
        row = self.versions.currentRow()
        item = self.versions.item(row, 0) if row >= 0 else None
        if item is None:
            self.status_label.setText(f"Select a model version to {verb}.")
            return None
        return str(item.data(Qt.ItemDataRole.UserRole))

    def confirm(self, question: str) -> bool:
        """Ask before something that cannot be undone (tests replace this)."""
        answer = QMessageBox.question(self, "mclip-gui", question)
        return answer == QMessageBox.StandardButton.Yes

    def delete_selected(self) -> Job | None:
        name = self.selected_version("delete")
        if name is None or not self.confirm(
            f"Delete model version {name}? Its weights and image embeddings are removed from "
            "the disk; this cannot be undone."
        ):
            return None
        library = self.library

        def run(_progress: ProgressCallback, _cancel: CancelToken) -> int:
            from mclip_gui.core.training.versions import delete_version

            return delete_version(library, name)

        job = self.window_.runner.start(f"Deleting {name}", run)
        job.succeeded.connect(lambda freed: self._deleted(name, int(freed)))
        return job

    def _deleted(self, name: str, freed: int) -> None:
        self.status_label.setText(f"Deleted {name}; {freed / 2**20:,.0f} MiB freed.")
        self.refresh()

    def activate_selected(self) -> Job | None:
        name = self.selected_version("activate")
        if name is None:
            return None
        library = self.library

        def run(progress: ProgressCallback, cancel: CancelToken) -> str:
            from mclip_gui.core.training.versions import activate

            return activate(library, name, progress, cancel)

        job = self.window_.runner.start(f"Activating {name}", run)
        job.succeeded.connect(lambda spec: self._activated(str(spec)))
        return job

    def _activated(self, spec: str) -> None:
        self.status_label.setText(f"Search now uses {spec}.")
        self.refresh()
        self.window_.status_changed.emit()
        self.window_.model_changed.emit(spec)

    # -- job feedback --------------------------------------------------------------------------
    def _clear_charts(self) -> None:
        self.loss_points.clear()
        for points in self.metric_points.values():
            points.clear()
        self._redraw()

    def ensure_charts(self) -> None:
        """Build the loss and metric charts (once)."""
        if self.loss_plot is not None:
            return
        import pyqtgraph as pg

        self.loss_plot = pg.PlotWidget(title="Training loss")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#1f77b4", width=2))
        self.metric_plot = pg.PlotWidget(title="Eval metrics (epoch 0 = zero-shot)")
        self.metric_plot.setLabel("bottom", "epoch")
        self.metric_plot.addLegend(offset=(10, 10))
        colours = ("#d62728", "#2ca02c", "#9467bd")
        self.metric_curves = {
            name: self.metric_plot.plot(
                pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6, name=name
            )
            for name, colour in zip(CHART_METRICS, colours, strict=True)
        }
        for plot in (self.loss_plot, self.metric_plot):
            plot.setBackground("w")
            plot.showGrid(x=True, y=True, alpha=0.3)
            self.charts.addWidget(plot)

    def showEvent(self, event: Any) -> None:
        self.ensure_charts()
        self._redraw()
        super().showEvent(event)

    def _redraw(self) -> None:
        self.ensure_charts()
        if self.loss_points:
            xs, ys = zip(*self.loss_points, strict=True)
            self.loss_curve.setData(list(xs), list(ys))
        else:
            self.loss_curve.setData([], [])
        for name, curve in self.metric_curves.items():
            points = self.metric_points[name]
            curve.setData([p[0] for p in points], [p[1] for p in points])

    def on_event(self, event: dict[str, Any]) -> None:
        """A training event (step, eval, status) from the child, on the main thread."""
        kind = event.get("kind")
        if kind == "step":
            self.figures["Epoch"].setText(f"{event['epoch']} of {event['epochs']}")
            self.figures["Step"].setText(f"{event['step']} of {event['steps']}")
            self.figures["Loss"].setText(f"{event['loss']:.4f}")
            self.figures["Samples/s"].setText(f"{event['samples_per_s']:.1f}")
            self.figures["ETA"].setText(format_eta(event["eta_s"]))
            self.progress_bar.setRange(0, event["total_steps"])
            self.progress_bar.setValue(event["global_step"])
            self.loss_points.append((event["global_step"], event["loss"]))
            self._redraw()
        elif kind == "eval":
            for name in CHART_METRICS:
                self.metric_points[name].append((event["epoch"], event["metrics"][name]))
            self._redraw()
            label = "zero-shot" if event["epoch"] == 0 else f"epoch {event['epoch']}"
            self.status_label.setText(f"Eval after {label}: mRR {event['metrics']['mRR']:.4f}")
        elif kind == "status":
            self.status_label.setText(str(event["message"]))

    def on_progress(self, progress: Progress) -> None:
        if progress.total == 0 and progress.message:
            self.status_label.setText(progress.message)

    def on_succeeded(self, result: Any) -> None:
        self.status_label.setText(result.summary())
        self.refresh()
        self.window_.status_changed.emit()
        if getattr(result, "activated", False):
            self.window_.model_changed.emit(self.library.settings.model)

    def on_failed(self, error: BaseException, _details: str) -> None:
        self.status_label.setText(f"Training failed: {error}")
        self.refresh()

    def on_cancelled(self) -> None:
        self.status_label.setText(
            "Training cancelled; the previous model stays active. Resume continues the run."
        )
        self.refresh()

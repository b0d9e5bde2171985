"""The Compare page: the published-style table (metrics as rows, zero-shot and fine-tuned per
model as columns), a grouped bar chart, CSV/Markdown export, and the learning curve.

Evaluation and the learning curve run as background jobs through the window's runner.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mclip_gui.core.jobs import CancelToken, ProgressCallback
from mclip_gui.core.metrics import metric_names
from mclip_gui.gui.jobs import Job

if TYPE_CHECKING:
    from mclip_gui.core.evaluation import Comparison, LearningCurve
    from mclip_gui.gui.main_window import MainWindow

log = logging.getLogger(__name__)

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def create_page(window: MainWindow) -> tuple[str, QWidget]:
    return "Compare", ComparePage(window)


def bar_chart(plot: Any, table: Comparison) -> None:
    """Grouped bars: one group per metric, one bar per column."""
    import pyqtgraph as pg

    plot.clear()
    names = table.metric_names
    n = max(1, len(table.columns))
    width = 0.8 / n
    for c, (column, result) in enumerate(zip(table.columns, table.results, strict=True)):
        xs = [i - 0.4 + width * (c + 0.5) for i in range(len(names))]
        bars = pg.BarGraphItem(
            x=xs, height=[result[m] for m in names], width=width * 0.9, brush=COLOURS[c % 8]
        )
        plot.addItem(bars)
        plot.plotItem.legend.addItem(bars, f"{column.label} ({column.kind})")
    plot.getAxis("bottom").setTicks([list(enumerate(names))])
    plot.setYRange(0, 1.05 * max([1.0] + [r.get("DCG", 0.0) for r in table.results]))


def curve_chart(plot: Any, curve: LearningCurve) -> None:
    """Each metric against the training size (0 = zero-shot)."""
    import pyqtgraph as pg

    plot.clear()
    xs = [0, *curve.sizes] if curve.zero_shot else list(curve.sizes)
    results = [curve.zero_shot, *curve.results] if curve.zero_shot else list(curve.results)
    for i, name in enumerate(metric_names(curve.k)):
        plot.plot(
            xs,
            [r[name] for r in results],
            pen=pg.mkPen(COLOURS[i % 8], width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush=COLOURS[i % 8],
            name=name,
        )


def chart_host() -> tuple[QWidget, QVBoxLayout]:
    """An empty widget (and its layout) a chart is put into once it is built."""
    host = QWidget()
    layout = QVBoxLayout(host)
    layout.setContentsMargins(0, 0, 0, 0)
    return host, layout


def new_plot(title: str, bottom: str, legend_at: tuple[int, int] = (10, 10)) -> Any:
    import pyqtgraph as pg

    plot = pg.PlotWidget(title=title)
    plot.setBackground("w")
    plot.showGrid(x=False, y=True, alpha=0.3)
    plot.setLabel("bottom", bottom)
    plot.addLegend(offset=legend_at)
    return plot


def save_learning_curve_png(curve: LearningCurve, path: Path) -> None:
    """Render the learning curve to a PNG (works headless: offscreen Qt when no display)."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    plot = new_plot("Learning curve", "training captions", (-10, 10))
    plot.resize(900, 560)
    curve_chart(plot, curve)
    app.processEvents()
    plot.grab().save(str(path), "PNG")


class ComparePage(QWidget):
    """Evaluate any models on the eval split and compare them."""

    def __init__(self, window: MainWindow):
        super().__init__()
        self.window_ = window
        self.library = window.library
        self.in_process = False  # tests run the learning curve in the app's process
        self.table_data: Comparison | None = None
        self.curve: LearningCurve | None = None

        self.models = QListWidget()
        self.models.setMaximumHeight(140)
        self.add_edit = QLineEdit()
        self.add_edit.setPlaceholderText("another model: ViT-B-32::openai, a folder, a config…")
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.add_model)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 1000)
        self.k_spin.setValue(20)
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.clicked.connect(self.evaluate)
        self.csv_button = QPushButton("Export CSV…")
        self.markdown_button = QPushButton("Export Markdown…")
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        self.markdown_button.clicked.connect(lambda: self.export("md"))
        self.status = QLabel("Choose models and press Evaluate.")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        # Charts are built on first use: importing pyqtgraph would delay the first paint.
        self._bars: Any = None
        self._curve_plot: Any = None
        self.bars_host, self._bars_layout = chart_host()
        self.curve_host, self._curve_layout = chart_host()

        self.sizes_edit = QLineEdit("500,1000,2000")
        self.curve_button = QPushButton("Run learning curve")
        self.curve_button.clicked.connect(self.run_curve)
        self.curve_png = QPushButton("Export PNG…")
        self.curve_csv = QPushButton("Export CSV…")
        self.curve_png.clicked.connect(lambda: self.export_curve("png"))
        self.curve_csv.clicked.connect(lambda: self.export_curve("csv"))
        self._layout()
        self.refresh_models()
        self._set_exports()

    def _layout(self) -> None:
        add = QHBoxLayout()
        add.addWidget(self.add_edit, 1)
        add.addWidget(self.add_button)
        add.addWidget(QLabel("top k"))
        add.addWidget(self.k_spin)
        add.addWidget(self.evaluate_button)
        add.addWidget(self.csv_button)
        add.addWidget(self.markdown_button)
        results = QHBoxLayout()
        results.addWidget(self.table, 1)
        results.addWidget(self.bars_host, 1)
        curve = QHBoxLayout()
        curve.addWidget(QLabel("Learning curve, training sizes:"))
        curve.addWidget(self.sizes_edit, 1)
        curve.addWidget(self.curve_button)
        curve.addWidget(self.curve_png)
        curve.addWidget(self.curve_csv)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Models (a fine-tuned version is shown beside its zero-shot base)"))
        layout.addWidget(self.models)
        layout.addLayout(add)
        layout.addWidget(self.status)
        layout.addLayout(results, 3)
        layout.addLayout(curve)
        layout.addWidget(self.curve_host, 2)

    @property
    def bars(self) -> Any:
        """The bar chart of the comparison (built on first use)."""
        if self._bars is None:
            self._bars = new_plot("Zero-shot and fine-tuned", "metric")
            self._bars_layout.addWidget(self._bars)
        return self._bars

    @property
    def curve_plot(self) -> Any:
        """The learning-curve chart (built on first use)."""
        if self._curve_plot is None:
            self._curve_plot = new_plot("Learning curve", "training captions", (-10, 10))
            self._curve_layout.addWidget(self._curve_plot)
        return self._curve_plot

    def showEvent(self, event: Any) -> None:
        self.bars, self.curve_plot  # noqa: B018 - building them is the point
        super().showEvent(event)

    def refresh_models(self) -> None:
        """The active model, every base model of a version, and every version."""
        from mclip_gui.core.training.versions import list_versions

        specs = [self.library.settings.model]
        for version in list_versions(self.library):
            specs += [version.base_model, version.spec]
        present = {self.models.item(i).text() for i in range(self.models.count())}
        for spec in dict.fromkeys(specs):
            if spec not in present:
                self._add_item(spec, checked=spec == self.library.settings.model)

    def _add_item(self, spec: str, checked: bool = True) -> None:
        item = QListWidgetItem(spec)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.models.addItem(item)

    def add_model(self) -> None:
        spec = self.add_edit.text().strip()
        if spec:
            self._add_item(spec)
            self.add_edit.clear()

    def checked_models(self) -> list[str]:
        return [
            self.models.item(i).text()
            for i in range(self.models.count())
            if self.models.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _set_exports(self) -> None:
        self.csv_button.setEnabled(self.table_data is not None)
        self.markdown_button.setEnabled(self.table_data is not None)
        self.curve_png.setEnabled(self.curve is not None)
        self.curve_csv.setEnabled(self.curve is not None)

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self) -> Job | None:
        specs = self.checked_models()
        if not specs:
            self.status.setText("Tick at least one model.")
            return None
        library, k = self.library, self.k_spin.value()

        def run(progress: ProgressCallback, cancel: CancelToken) -> Comparison:
            from mclip_gui.core.evaluation import comparison_columns, evaluate_models

            return evaluate_models(library, comparison_columns(library, specs), k, progress, cancel)

        job = self.window_.runner.start("Evaluating", run)
        job.succeeded.connect(self.show_table)
        job.failed.connect(lambda e, _tb: self.status.setText(f"Evaluation failed: {e}"))
        job.finished.connect(lambda: self.evaluate_button.setEnabled(True))
        self.evaluate_button.setEnabled(False)
        self.status.setText("Evaluating…")
        return job

    def show_table(self, table: Comparison) -> None:
        self.table_data = table
        header = table.header()
        rows = table.rows()
        self.table.setColumnCount(len(header) - 1)
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels([h.replace(" (", "\n(") for h in header[1:]])
        self.table.setVerticalHeaderLabels([row[0] for row in rows])
        for r, row in enumerate(rows):
            for c, value in enumerate(row[1:]):
                item = QTableWidgetItem(value)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        bar_chart(self.bars, table)
        skipped = f"; {len(table.skipped)} unreadable images skipped" if table.skipped else ""
        self.status.setText(
            f"{table.queries:,} queries against {table.images:,} eval images, top {table.k}"
            f"{skipped}."
        )
        self._set_exports()

    def export(self, form: str, path: Path | None = None) -> Path | None:
        """Save the table as CSV or Markdown (asks for a file when `path` is None)."""
        if self.table_data is None:
            return None
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self, "Export table", f"comparison.{form}", f"{form.upper()} (*.{form})"
            )
            if not name:
                return None
            path = Path(name)
        text = self.table_data.to_csv() if form == "csv" else self.table_data.to_markdown()
        path.write_text(text, encoding="utf-8")
        self.status.setText(f"Saved {path}.")
        return path

    # -- learning curve ------------------------------------------------------------------------
    def run_curve(self) -> Job | None:
        from mclip_gui.core.evaluation import parse_sizes

        try:
            sizes = parse_sizes(self.sizes_edit.text())
        except ValueError as e:
            self.status.setText(f"Learning curve: {e}")
            return None
        library, in_process = self.library, self.in_process
        train_page = self.window_.pages.get("train_page")
        form = getattr(train_page, "form", None)
        settings = form.values() if form is not None else None  # the Advanced panel's values

        def run(progress: ProgressCallback, cancel: CancelToken) -> LearningCurve:
            from mclip_gui.core.evaluation import learning_curve

            return learning_curve(
                library,
                sizes,
                settings=settings,
                progress=progress,
                cancel=cancel,
                in_process=in_process,
            )

        job = self.window_.runner.start("Learning curve", run)
        job.succeeded.connect(self.show_curve)
        job.failed.connect(lambda e, _tb: self.status.setText(f"Learning curve failed: {e}"))
        job.finished.connect(lambda: self.curve_button.setEnabled(True))
        self.curve_button.setEnabled(False)
        self.status.setText(f"Fine-tuning on {', '.join(map(str, sizes))} captions…")
        return job

    def show_curve(self, curve: LearningCurve) -> None:
        self.curve = curve
        curve_chart(self.curve_plot, curve)
        self.status.setText(f"Learning curve over {len(curve.sizes)} training sizes done.")
        self._set_exports()

    def export_curve(self, form: str, path: Path | None = None) -> Path | None:
        if self.curve is None:
            return None
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self,
                "Export learning curve",
                f"learning-curve.{form}",
                f"{form.upper()} (*.{form})",
            )
            if not name:
                return None
            path = Path(name)
        if form == "png":
            self.curve_plot.grab().save(str(path), "PNG")
        else:
            path.write_text(self.curve.to_csv(), encoding="utf-8")
        self.status.setText(f"Saved {path}.")
        return path

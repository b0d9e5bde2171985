"""Overview screen: images per caption state, work per annotator, agreement between validators.

The counts are computed by a background job when the page is shown or the library changes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mclip_gui.core.captions.io import ImportOptions, ImportReport, export_captions, import_captions
from mclip_gui.core.captions.overview import IMAGE_STATES, Overview, compute_overview
from mclip_gui.core.captions.split import ensure_splits
from mclip_gui.gui.translations import add_language_menu, ensure_installed

log = logging.getLogger(__name__)


class OverviewPage(QWidget):
    """The overview screen."""

    updated = Signal(object)  # Overview

    def __init__(self, window: Any):
        super().__init__()
        self.setObjectName("overviewPage")
        self.window_ = window
        self.library = window.library
        ensure_installed(self.library)
        add_language_menu(window)
        self.overview: Overview | None = None
        self._job: Any = None
        self._stale = True
        self.last_report: ImportReport | None = None
        self.message_box: QMessageBox | None = None
        self._build()
        self._add_actions(window)
        self.retranslate()
        window.status_changed.connect(self._mark_stale)

    def _build(self) -> None:
        self.state_labels = {state: QLabel() for state in IMAGE_STATES}
        self.count_labels = {state: QLabel("–") for state in IMAGE_STATES}
        form = QFormLayout()
        for state in IMAGE_STATES:
            self.count_labels[state].setObjectName(f"count_{state}")
            form.addRow(self.state_labels[state], self.count_labels[state])
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("annotatorTable")
        self.table.verticalHeader().setVisible(False)
        self.split_label = QLabel()
        self.split_label.setObjectName("splitCounts")
        self.agreement_label = QLabel()
        self.agreement_label.setObjectName("agreement")
        self.agreement_label.setWordWrap(True)
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(self.refresh)
        self.images_title = QLabel()
        self.annotators_title = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.images_title)
        layout.addLayout(form)
        layout.addWidget(self.annotators_title)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.agreement_label)
        layout.addWidget(self.split_label)
        layout.addWidget(self.refresh_button)

    def _add_actions(self, window: Any) -> None:
        menu = window.menu("&Library")
        self.import_action = QAction(self)
        self.import_action.triggered.connect(self._choose_import)
        self.export_action = QAction(self)
        self.export_action.triggered.connect(self._choose_export)
        menu.addAction(self.import_action)
        menu.addAction(self.export_action)

    def retranslate(self) -> None:
        self.import_action.setText(self.tr("Import captions…"))
        self.export_action.setText(self.tr("Export captions…"))
        names = {
            "no_caption": self.tr("No caption"),
            "awaiting_validation": self.tr("Awaiting validation"),
            "accepted": self.tr("Accepted"),
            "rejected": self.tr("Rejected (back in the queue)"),
            "image_problem": self.tr("Image problem"),
        }
        for state, label in self.state_labels.items():
            label.setText(names[state] + ":")
        self.images_title.setText("<b>" + self.tr("Images") + "</b>")
        self.annotators_title.setText("<b>" + self.tr("Annotators") + "</b>")
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Annotator"),
                self.tr("Captions"),
                self.tr("Accepted"),
                self.tr("Rejected"),
                self.tr("Verdicts given"),
            ]
        )
        self.refresh_button.setText(self.tr("Refresh"))
        tabs = getattr(self.window_, "tabs", None)
        if tabs is not None and tabs.indexOf(self) >= 0:
            tabs.setTabText(tabs.indexOf(self), self.tr("Overview"))
        if self.overview is not None:
            self._show(self.overview)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _mark_stale(self) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Recompute the counts in the background."""
        if self._job is not None and self._job.running:
            return
        self._stale = False
        library = self.library
        self._job = self.window_.runner.start(
            self.tr("Counting captions"), lambda _p, _c: _assign_and_count(library)
        )
        self._job.succeeded.connect(self._show)

    def _show(self, overview: Overview) -> None:
        self.overview = overview
        for state, label in self.count_labels.items():
            label.setText(str(overview.images.get(state, 0)))
        self.table.setRowCount(len(overview.annotators))
        for row, stats in enumerate(overview.annotators):
            values = [stats.name, stats.written, stats.accepted, stats.rejected, stats.verdicts]
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(str(value)))
        self.agreement_label.setText(self._agreement_text(overview))
        self.split_label.setText(
            self.tr("Split: %1 train, %2 eval images (one in %3 held out for evaluation).")
            .replace("%1", str(overview.splits.get("train", 0)))
            .replace("%2", str(overview.splits.get("eval", 0)))
            .replace("%3", str(overview.eval_one_in))
        )
        self.updated.emit(overview)

    def _agreement_text(self, overview: Overview) -> str:
        if overview.agreement_alpha is None or overview.percent_agreement is None:
            return self.tr(
                "Agreement between validators: not yet known (needs captions with two or more "
                "verdicts; set verdicts per caption to 2 or more)."
            )
        return (
            self.tr(
                "Agreement between validators (Krippendorff's alpha, %1 captions): %2; "
                "%3% of verdict pairs agree."
            )
            .replace("%1", str(overview.agreement_captions))
            .replace("%2", f"{overview.agreement_alpha:.2f}")
            .replace("%3", f"{100 * overview.percent_agreement:.0f}")
        )

    # -- import and export -------------------------------------------------------------------
    def _choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Import captions"),
            "",
            self.tr("Caption files (*.tsv *.csv *.jsonl);;All files (*)"),
        )
        if path:
            language = self.library.settings.caption_language
            self.import_file(Path(path), ImportOptions(language=language))

    def import_file(self, path: Path, options: ImportOptions) -> Any:
        """Import in the background (Toloka TSV, or CSV/TSV/JSONL with image and caption
        columns; other column names need `mclip captions import`); shows the report."""
        library = self.library
        job = self.window_.runner.start(
            self.tr("Importing captions"),
            lambda progress, cancel: import_captions(library, path, options, progress, cancel),
        )
        job.succeeded.connect(self._on_imported)
        return job

    def _on_imported(self, report: ImportReport) -> None:
        self.last_report = report
        self.window_.status_changed.emit()
        self._message(self.tr("Captions imported"), "\n".join(report.summary_lines()))

    def _choose_export(self) -> None:
        filters = {
            self.tr("CSV, all captions (*.csv)"): "csv",
            self.tr("JSONL, all captions (*.jsonl)"): "jsonl",
            self.tr("open_clip training CSV, accepted train captions (*.csv)"): "openclip",
            self.tr("Toloka TSV (*.tsv)"): "toloka",
        }
        path, chosen = QFileDialog.getSaveFileName(
            self, self.tr("Export captions"), "", ";;".join(filters)
        )
        if path:
            self.export_file(Path(path), filters.get(chosen, "csv"))

    def export_file(self, path: Path, fmt: str) -> Any:
        """Export in the background; shows how many captions were written."""
        library = self.library
        job = self.window_.runner.start(
            self.tr("Exporting captions"), lambda _p, _c: export_captions(library, path, fmt)
        )
        job.succeeded.connect(
            lambda count: self._message(
                self.tr("Captions exported"),
                self.tr("%1 captions written to %2")
                .replace("%1", str(count))
                .replace("%2", str(path)),
            )
        )
        return job

    def _message(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, text, parent=self)
        box.setObjectName("captionsMessage")
        box.setModal(False)
        box.show()
        self.message_box = box


def _assign_and_count(library: Any) -> Overview:
    # New images (added by the importer) get their split here, so the counts are complete.
    ensure_splits(library)
    return compute_overview(library)


def create_page(window: Any) -> tuple[str, QWidget]:
    page = OverviewPage(window)
    return QCoreApplication.translate("OverviewPage", "Overview"), page

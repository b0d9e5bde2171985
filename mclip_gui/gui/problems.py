"""Library ▸ Problems…: every file that could not be imported, with the reason, copyable."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class ProblemLike(Protocol):
    """What the dialog needs of a problem (core.scan.Problem has these)."""

    @property
    def path(self) -> object: ...

    @property
    def reason(self) -> str: ...


class ProblemsDialog(QDialog):
    """A table of path and reason; Copy all puts it on the clipboard as tab-separated text."""

    def __init__(self, problems: Iterable[ProblemLike], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Problems")
        self.resize(900, 420)
        self.rows = [(str(p.path), p.reason) for p in problems]
        self.table = QTableWidget(len(self.rows), 2)
        self.table.setHorizontalHeaderLabels(["Path", "Reason"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        for row, (path, reason) in enumerate(self.rows):
            self.table.setItem(row, 0, QTableWidgetItem(path))
            self.table.setItem(row, 1, QTableWidgetItem(reason))
        self.table.resizeColumnToContents(0)
        self._build()

    def _build(self) -> None:
        count = len(self.rows)
        summary = (
            "No problems: every file was read."
            if count == 0
            else f"{count:,} file{'s' if count != 1 else ''} could not be read and "
            f"{'were' if count != 1 else 'was'} skipped. Nothing else was lost."
        )
        self.summary = QLabel(summary)
        copy_all = QPushButton("Copy all")
        copy_all.clicked.connect(self.copy_all)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(copy_all, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        copy = QShortcut(QKeySequence(QKeySequence.StandardKey.Copy), self.table)
        copy.activated.connect(self.copy_selected)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addWidget(buttons)

    def text(self, rows: list[int] | None = None) -> str:
        """The rows (all by default) as tab-separated lines: path, reason."""
        chosen = self.rows if rows is None else [self.rows[r] for r in rows]
        return "".join(f"{path}\t{reason}\n" for path, reason in chosen)

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText(self.text())

    def copy_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        QGuiApplication.clipboard().setText(self.text(rows))

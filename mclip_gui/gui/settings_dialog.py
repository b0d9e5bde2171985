"""Edit ▸ Settings…: a form built from the Settings dataclass, its comments as help texts."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mclip_gui.core.library import Library
from mclip_gui.core.settings import Settings
from mclip_gui.core.settings import field_comments as settings_field_comments

log = logging.getLogger(__name__)


def field_comments() -> dict[str, str]:
    """The comment above each field of Settings, used as its help text."""
    return settings_field_comments(Settings)


def label_for(name: str) -> str:
    return name.replace("_", " ").capitalize()


class SettingsDialog(QDialog):
    """Shows every setting with its limits; OK validates and saves, naming any bad value."""

    def __init__(self, library: Library, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.setWindowTitle("Settings")
        self.resize(640, 640)
        self.editors: dict[str, QWidget] = {}
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #b00020")
        self.error_label.setWordWrap(True)
        form_host = QWidget()
        form = QFormLayout(form_host)
        comments = field_comments()
        for f in dataclasses.fields(Settings):
            editor = self._editor_for(f, getattr(library.settings, f.name))
            editor.setToolTip(comments.get(f.name, ""))
            editor.setObjectName(f"setting_{f.name}")
            self.editors[f.name] = editor
            form.addRow(label_for(f.name), editor)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form_host)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def _editor_for(self, f: dataclasses.Field[Any], value: Any) -> QWidget:
        limits: Mapping[str, Any] = f.metadata or {}
        if isinstance(value, bool):
            box = QCheckBox()
            box.setChecked(value)
            return box
        if limits.get("choices"):
            combo = QComboBox()
            combo.addItems(list(limits["choices"]))
            combo.setCurrentText(str(value))
            return combo
        if isinstance(value, int):
            spin = QSpinBox()
            spin.setRange(
                int(limits.get("lo") or 0), int(min(limits.get("hi") or 2**31 - 1, 2**31 - 1))
            )
            spin.setValue(value)
            spin.setGroupSeparatorShown(True)
            return spin
        line = QLineEdit(str(value))
        return line

    def values(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QCheckBox):
                result[name] = editor.isChecked()
            elif isinstance(editor, QComboBox):
                result[name] = editor.currentText()
            elif isinstance(editor, QSpinBox):
                result[name] = editor.value()
            elif isinstance(editor, QLineEdit):
                result[name] = editor.text().strip()
        return result

    def accept(self) -> None:
        changes = {k: v for k, v in self.values().items() if getattr(self.library.settings, k) != v}
        try:
            self.library.update_settings(**changes)
        except ValueError as e:
            self.error_label.setText(str(e))
            return
        if changes:
            log.info("settings changed: %s", ", ".join(sorted(changes)))
        super().accept()

"""Edit ▸ Settings…: a form built from the Settings dataclass, its comments as help texts."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mclip_gui.core.library import Library
from mclip_gui.core.settings import Settings
from mclip_gui.core.settings import field_comments as settings_field_comments
from mclip_gui.gui.field_editors import editor_for, editor_value

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
            editor = editor_for(f, getattr(library.settings, f.name))
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

    def values(self) -> dict[str, Any]:
        return {name: editor_value(name, editor) for name, editor in self.editors.items()}

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

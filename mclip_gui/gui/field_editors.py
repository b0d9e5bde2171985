"""Editors for fields of the typed settings dataclasses, shared by Settings… and Advanced."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox, QWidget

FLOAT_PROPERTY = "mclipFloat"  # marks a line edit that holds a number


def editor_for(
    f: dataclasses.Field[Any], value: Any, labels: Mapping[str, str] | None = None
) -> QWidget:
    """A widget showing `value` of field `f` within its limits (see core.settings.limits)."""
    limits: Mapping[str, Any] = f.metadata or {}
    if isinstance(value, bool):
        box = QCheckBox()
        box.setChecked(value)
        return box
    choices = list(limits.get("choices") or ())
    if choices:
        combo = QComboBox()
        for choice in choices:
            combo.addItem((labels or {}).get(choice, choice), choice)
        combo.setCurrentIndex(choices.index(value) if value in choices else 0)
        return combo
    if isinstance(value, int):
        spin = QSpinBox()
        top = min(limits.get("hi") or 2**31 - 1, 2**31 - 1)
        spin.setRange(int(limits.get("lo") or 0), int(top))
        spin.setValue(value)
        spin.setGroupSeparatorShown(True)
        return spin
    if isinstance(value, float):
        line = QLineEdit(repr(value))
        line.setProperty(FLOAT_PROPERTY, True)
        return line
    return QLineEdit(str(value))


def editor_value(name: str, editor: QWidget) -> Any:
    """The value in an editor made by `editor_for`; ValueError naming a non-number."""
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QComboBox):
        return editor.currentData()
    if isinstance(editor, QSpinBox):
        return editor.value()
    if isinstance(editor, QLineEdit):
        text = editor.text().strip()
        if not editor.property(FLOAT_PROPERTY):
            return text
        try:
            return float(text)
        except ValueError as e:
            raise ValueError(f"{name.replace('_', ' ')}: {text!r} is not a number") from e
    raise TypeError(f"no value for editor {type(editor).__name__}")

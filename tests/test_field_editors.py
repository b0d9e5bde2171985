import dataclasses

import pytest
from PySide6.QtWidgets import QComboBox, QLineEdit

from mclip_gui.core.training.config import MODE_LABELS, TrainSettings
from mclip_gui.gui.field_editors import editor_for, editor_value


def field(name: str) -> dataclasses.Field:
    return next(f for f in dataclasses.fields(TrainSettings) if f.name == name)


def test_choices_show_labels_and_give_back_the_choice(qtbot) -> None:
    combo = editor_for(field("mode"), "text_locked", MODE_LABELS)
    qtbot.addWidget(combo)

    assert isinstance(combo, QComboBox)
    assert combo.currentText() == MODE_LABELS["text_locked"]
    assert editor_value("mode", combo) == "text_locked"


def test_float_field_names_a_non_number(qtbot) -> None:
    line = editor_for(field("learning_rate"), 1e-6)
    qtbot.addWidget(line)
    assert isinstance(line, QLineEdit)
    assert editor_value("learning_rate", line) == 1e-6

    line.setText("fast")

    with pytest.raises(ValueError, match="learning rate: 'fast' is not a number"):
        editor_value("learning_rate", line)

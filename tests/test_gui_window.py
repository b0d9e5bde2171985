from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QSpinBox

from mclip_gui.core.library import Library
from mclip_gui.gui.main_window import MainWindow
from mclip_gui.gui.settings_dialog import SettingsDialog, field_comments


def test_settings_dialog_saves_valid_values_and_names_bad_ones(qtbot, library: Library) -> None:
    dialog = SettingsDialog(library)
    qtbot.addWidget(dialog)
    words = dialog.editors["min_caption_words"]
    self_review = dialog.editors["allow_self_review"]
    assert isinstance(words, QSpinBox) and isinstance(self_review, QCheckBox)

    words.setValue(8)
    self_review.setChecked(True)
    dialog.accept()

    reloaded = Library(library.data_dir)
    assert reloaded.settings.min_caption_words == 8
    assert reloaded.settings.allow_self_review is True
    reloaded.close()


def test_settings_help_texts_come_from_the_field_comments() -> None:
    comments = field_comments()

    assert comments["min_caption_words"] == "Fewest words a caption must have."
    assert "decompression bombs" in comments["max_image_pixels"]


def test_model_change_is_announced(qtbot, library: Library) -> None:
    window = MainWindow(library)
    qtbot.addWidget(window)
    before = library.settings
    library.update_settings(model="ViT-B-32::openai")

    with qtbot.waitSignal(window.model_changed, timeout=1000) as signal:
        window.apply_settings_change(before)

    assert signal.args == ["ViT-B-32::openai"]


def test_window_does_not_import_torch(qtbot, data_dir: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]);"
        "from mclip_gui.core.library import Library; from mclip_gui.gui.main_window import "
        f"MainWindow; w = MainWindow(Library({str(data_dir)!r})); w.show(); app.processEvents();"
        "print('torch' in sys.modules, 'open_clip' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "False False"


def test_model_dialog_offers_published_models_and_rejects_nonsense(qtbot, library) -> None:
    from mclip_gui.gui.model_dialog import ModelDialog

    dialog = ModelDialog(library)
    qtbot.addWidget(dialog)
    specs = [dialog.list.item(i).data(0x0100) for i in range(dialog.list.count())]
    assert specs[:2] == ["xlm-roberta-base-ViT-B-32::laion5b_s13b_b90k", "ViT-B-32::openai"]
    assert "tiny-clip.json" in specs

    dialog.line.setText("no-such-model")
    dialog.accept()

    assert dialog.result() == 0
    assert "unknown model 'no-such-model'" in dialog.message.text()

"""The caption, validate and overview screens driven with the keyboard (pytest-qt, offscreen)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from caption_fixtures import make_images
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from mclip_gui.core.captions.io import ImportOptions
from mclip_gui.core.captions.service import CaptionService, captions_for_image
from mclip_gui.core.captions.split import split_for_hash
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Caption, Draft, Image
from mclip_gui.gui import main_window, translations
from mclip_gui.gui.main_window import MainWindow
from mclip_gui.gui.pages import caption_page

GOOD = "rote Lederjacke mit Kapuze und Reissverschluss, Winter"  # ASCII: QTest types no umlauts
CTRL, ALT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.AltModifier


@pytest.fixture(autouse=True)
def no_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most screens tests do not need open_clip; the preview test loads the real tokenizer."""
    monkeypatch.setattr(
        caption_page, "tokenizer_loader", lambda spec, library: (None, "not loaded in this test")
    )


@pytest.fixture(autouse=True)
def caption_pages_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window with the three caption pages: other pages' start-up jobs stay out of these
    tests (they have their own)."""
    pages = tuple(
        name
        for name in main_window.PAGE_MODULES
        if "caption" in name or "validate" in name or "overview" in name
    )
    monkeypatch.setattr(main_window, "PAGE_MODULES", pages)


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    translations.apply_language("en")
    yield
    translations.apply_language("en")


@pytest.fixture
def images(library: Library, tmp_path: Path) -> list[int]:
    return make_images(library, tmp_path / "photos", 4)


def open_window(qtbot: Any, library: Library) -> MainWindow:
    window = MainWindow(library)
    qtbot.addWidget(window, before_close_func=_let_jobs_finish)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window


def _let_jobs_finish(window: MainWindow) -> None:
    """Wait for the window's jobs (tokenizer, counts, thumbnails) before it is deleted."""
    deadline = time.monotonic() + 30
    while window.runner.active and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)
    window.runner.wait(10_000)
    QApplication.processEvents()


@pytest.fixture
def window(qtbot: Any, library: Library, images: list[int]) -> MainWindow:
    library.update_settings(annotator="Anna")
    return open_window(qtbot, library)


def page(window: MainWindow, key: str) -> Any:
    """Show a page and wait until the keyboard focus is inside it (its keys work then)."""
    window.show_page(key)
    widget = window.pages[key]
    deadline = time.monotonic() + 3
    while key != "overview_page" and time.monotonic() < deadline:
        QApplication.processEvents()
        focus = QApplication.focusWidget()
        if focus is not None and (focus is widget or widget.isAncestorOf(focus)):
            break
        time.sleep(0.01)
    return widget


def test_first_start_asks_for_a_name_and_then_serves_an_image(
    qtbot: Any, library: Library, images: list[int]
) -> None:
    window = open_window(qtbot, library)
    captions = page(window, "caption_page")
    qtbot.waitUntil(lambda: window.annotator_switcher.dialog is not None, timeout=3000)
    dialog = window.annotator_switcher.dialog
    assert captions.image_view.text() == "Choose an annotator name to start."

    qtbot.keyClicks(dialog.name_edit, "  Anna  Berg ")
    with qtbot.waitSignal(captions.image_view.shown, timeout=5000):
        qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)

    assert library.settings.annotator == "Anna Berg"
    assert captions.item.image_id == images[0]
    assert window.annotator_switcher.combo.currentText() == "Anna Berg"


def test_rules_are_shown_while_typing_and_block_submission(
    qtbot: Any, window: MainWindow, library: Library
) -> None:
    captions = page(window, "caption_page")
    editor = captions.editor

    qtbot.keyClicks(editor, "Das ist  Jacke;")

    assert captions.rules_label.text() == (
        "Write at least 6 words (now 3).\n"
        'Separate words only with a space or ", " (found 2 spaces, ";").\n'
        'Do not start with "Das ist": name the product right away.'
    )
    assert not captions.submit_button.isEnabled()
    qtbot.keyClick(editor, Qt.Key.Key_Return, CTRL)
    assert captions.status_label.text() == "Fix the caption first: each message says how."
    with library.store.session() as s:
        assert s.scalar(select(Caption.id)) is None


def test_ctrl_enter_submits_and_the_next_image_follows(
    qtbot: Any, window: MainWindow, library: Library, images: list[int]
) -> None:
    captions = page(window, "caption_page")
    qtbot.keyClicks(captions.editor, GOOD)
    assert captions.rules_label.text() == ""

    with qtbot.waitSignal(captions.submitted, timeout=3000) as submitted:
        qtbot.keyClick(captions.editor, Qt.Key.Key_Return, CTRL)

    [info] = captions_for_image(library, images[0])
    assert (info.caption_id, info.text, info.author) == (submitted.args[0], GOOD, "Anna")
    assert captions.item.image_id == images[1]
    assert captions.editor.toPlainText() == ""
    assert captions.status_label.text() == "Caption saved."


def test_skip_back_and_undo_with_the_keyboard(
    qtbot: Any, window: MainWindow, images: list[int]
) -> None:
    captions = page(window, "caption_page")
    qtbot.keyClick(captions.editor, Qt.Key.Key_Right, ALT)  # skip
    assert captions.item.image_id == images[1]
    qtbot.keyClicks(captions.editor, GOOD)
    qtbot.keyClick(captions.editor, Qt.Key.Key_Return, CTRL)
    assert captions.item.image_id == images[2]

    qtbot.keyClick(captions.editor, Qt.Key.Key_Left, ALT)  # back
    assert captions.item.image_id == images[1]
    assert captions.editor.toPlainText() == GOOD
    assert captions.status_label.text() == (
        "You captioned this image already; submitting replaces your caption."
    )

    qtbot.keyClick(captions.editor, Qt.Key.Key_Z, ALT)  # undo
    assert captions.item.image_id == images[1]
    assert captions.editor.toPlainText() == GOOD
    assert captions.status_label.text() == "Your last caption was withdrawn; edit and submit it."
    assert captions_for_image(window.library, images[1])[0].state == "withdrawn"
    qtbot.keyClick(captions.editor, Qt.Key.Key_Z, ALT)
    assert captions.status_label.text() == (
        "Nothing to undo: none of your captions is still waiting for validation."
    )


def test_half_typed_caption_is_saved_as_a_draft_and_restored(
    qtbot: Any, window: MainWindow, library: Library, images: list[int]
) -> None:
    captions = page(window, "caption_page")
    qtbot.keyClicks(captions.editor, "rote Leder")

    def draft_saved() -> None:
        with library.store.session() as s:
            draft = s.scalar(select(Draft.text))
        assert draft == "rote Leder"  # saved while typing, after a short pause

    qtbot.waitUntil(draft_saved, timeout=3000)
    qtbot.keyClicks(captions.editor, "jacke")
    window.close()  # saves the last keystrokes at once and gives back the claim

    again = open_window(qtbot, library)
    restored = page(again, "caption_page")
    assert restored.item.image_id == images[0]
    assert restored.editor.toPlainText() == "rote Lederjacke"


def test_two_windows_on_one_database_show_different_images(
    qtbot: Any, window: MainWindow, data_dir: Path, images: list[int]
) -> None:
    second_library = Library(data_dir)
    try:
        second = open_window(qtbot, second_library)

        first_image = page(window, "caption_page").item.image_id
        second_image = page(second, "caption_page").item.image_id

        assert first_image == images[0]
        assert second_image == images[1]
    finally:
        second_library.close()


def _caption_by(library: Library, author: str, text: str = GOOD) -> int:
    service = CaptionService(library, author)
    item = service.next_image()
    assert item is not None
    caption_id = service.submit(item.image_id, text)
    service.close()
    return caption_id


def test_validate_screen_never_shows_own_captions(
    qtbot: Any, library: Library, images: list[int]
) -> None:
    library.update_settings(annotator="Anna")
    _caption_by(library, "Anna")
    window = open_window(qtbot, library)

    validate = page(window, "validate_page")

    assert validate.item is None
    assert validate.image_view.text() == "No caption needs your verdict right now."
    assert not validate.verdict_buttons["appropriate"].isEnabled()


def test_verdict_keys_decide_captions(qtbot: Any, library: Library, images: list[int]) -> None:
    ids = [_caption_by(library, "Anna", f"{GOOD} {word}") for word in ("eins", "zwei", "drei")]
    library.update_settings(annotator="Ben")
    window = open_window(qtbot, library)
    validate = page(window, "validate_page")
    assert validate.item.caption_id == ids[0]
    assert validate.caption_label.text() == f"{GOOD} eins"

    for key in (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3):
        with qtbot.waitSignal(validate.judged, timeout=3000):
            qtbot.keyClick(validate, key)

    with library.store.session() as s:
        states = [s.get(Caption, i).state for i in ids]  # type: ignore[union-attr]
        third_image = s.get(Image, s.get(Caption, ids[2]).image_id)  # type: ignore[union-attr]
        assert third_image is not None and third_image.problem
    assert states == ["accepted", "rejected", "problem"]
    assert validate.status_label.text() == "Verdict saved; the image is flagged as a problem."
    assert validate.item is None


def test_majority_of_three_through_the_screen(
    qtbot: Any, library: Library, images: list[int]
) -> None:
    library.update_settings(verdicts_per_caption=3)
    caption_id = _caption_by(library, "Anna")
    CaptionService(library, "Carl").give_verdict(caption_id, "inappropriate")
    CaptionService(library, "Dora").give_verdict(caption_id, "appropriate")
    library.update_settings(annotator="Ben")
    window = open_window(qtbot, library)
    validate = page(window, "validate_page")
    assert validate.info_label.text() == "Language: de · verdicts so far: 2"

    with qtbot.waitSignal(validate.judged, timeout=3000) as judged:
        qtbot.keyClick(validate, Qt.Key.Key_1)

    assert judged.args == [caption_id, "appropriate", "accepted"]


def test_skip_key_moves_to_the_next_caption(
    qtbot: Any, library: Library, images: list[int]
) -> None:
    first = _caption_by(library, "Anna", f"{GOOD} eins")
    second = _caption_by(library, "Anna", f"{GOOD} zwei")
    library.update_settings(annotator="Ben")
    validate = page(open_window(qtbot, library), "validate_page")

    qtbot.keyClick(validate, Qt.Key.Key_S)
    assert validate.item.caption_id == second
    qtbot.keyClick(validate, Qt.Key.Key_S)
    assert validate.item.caption_id == first


def test_switching_annotator_is_one_click(qtbot: Any, window: MainWindow, library: Library) -> None:
    _caption_by(library, "Anna")
    CaptionService(library, "Ben").close()
    switcher = window.annotator_switcher
    switcher._fill()
    validate = page(window, "validate_page")
    assert validate.item is None

    with qtbot.waitSignal(switcher.changed, timeout=3000):
        switcher.combo.activated.emit(switcher.combo.findText("Ben"))

    assert library.settings.annotator == "Ben"
    assert validate.item is not None and validate.item.author == "Anna"


def test_overview_page_counts(qtbot: Any, library: Library, images: list[int]) -> None:
    caption_id = _caption_by(library, "Anna")
    CaptionService(library, "Ben").give_verdict(caption_id, "appropriate")
    _caption_by(library, "Anna", f"{GOOD} zwei")
    library.update_settings(annotator="Ben")
    window = open_window(qtbot, library)
    overview = page(window, "overview_page")

    qtbot.waitUntil(lambda: overview.overview is not None, timeout=5000)

    assert overview.count_labels["accepted"].text() == "1"
    assert overview.count_labels["awaiting_validation"].text() == "1"
    assert overview.count_labels["no_caption"].text() == "2"
    assert overview.table.item(0, 0).text() == "Anna"
    assert overview.table.item(0, 1).text() == "2"
    assert overview.agreement_label.text().startswith("Agreement between validators: not yet")
    with library.store.session() as s:
        hashes = list(s.scalars(select(Image.content_hash)))
    held_out = [split_for_hash(str(h), 6) for h in hashes].count("eval")
    assert overview.split_label.text() == (
        f"Split: {4 - held_out} train, {held_out} eval images (one in 6 held out for evaluation)."
    )


def test_screens_switch_to_german_and_back(qtbot: Any, window: MainWindow) -> None:
    captions = page(window, "caption_page")
    qtbot.keyClicks(captions.editor, "Das ist eine Jacke")

    assert translations.apply_language("de") == "de"

    qtbot.waitUntil(lambda: captions.task_label.text().startswith("Schreiben Sie"), timeout=3000)
    assert captions.rules_label.text() == (
        "Schreiben Sie mindestens 6 Wörter (bisher 4).\n"
        "Beginnen Sie nicht mit „Das ist“: nennen Sie gleich das Produkt."
    )
    assert window.tabs.tabText(window.tabs.indexOf(captions)) == "Beschreiben"
    assert page(window, "validate_page").verdict_buttons["image_failed"].text() == (
        "3  Bild lädt nicht"
    )
    translations.apply_language("en")
    qtbot.waitUntil(lambda: captions.task_label.text().startswith("Write a search"), timeout=3000)


@pytest.mark.slow
def test_token_preview_with_the_real_tokenizers(
    qtbot: Any, library: Library, images: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import TOKENIZER_DIR

    if not (TOKENIZER_DIR / "tokenizer.json").exists():
        pytest.skip(f"{TOKENIZER_DIR} is absent")
    monkeypatch.setenv("MCLIP_TOKENIZER_DIR", str(TOKENIZER_DIR))
    monkeypatch.setattr(caption_page, "tokenizer_loader", caption_page.load_tokenizer_or_reason)
    library.update_settings(annotator="Anna")
    window = open_window(qtbot, library)
    captions = page(window, "caption_page")
    qtbot.waitUntil(lambda: captions.tokenizer is not None, timeout=120_000)

    captions.editor.setPlainText("Leichte Damenjacke Frühling Herbst braun")
    multilingual = captions.tokens_label.text()
    library.update_settings(model="ViT-B-32::openai")
    page(window, "overview_page")
    page(window, "caption_page")  # showing the page again loads the new model's tokenizer
    qtbot.waitUntil(lambda: captions.tokenizer_spec == "ViT-B-32::openai", timeout=3000)
    qtbot.waitUntil(lambda: captions.tokenizer is not None, timeout=60_000)
    captions._update_tokens()
    english_only = captions.tokens_label.text()
    captions.editor.setPlainText(", ".join(["rote Jacke"] * 40))

    assert multilingual.startswith("9 pieces (11 of 77 tokens): ▁Lei · chte · ▁Damen")
    assert english_only.startswith("14 pieces (16 of 77 tokens): le · ich · te")
    assert captions.token_warning.text() == (
        "The caption is longer than the model's context (201 of 77 tokens); "
        "the end will be cut off."
    )


def test_caption_language_switches_the_rule_set(
    qtbot: Any, window: MainWindow, library: Library
) -> None:
    captions = page(window, "caption_page")
    qtbot.keyClicks(captions.editor, "this is a red leather jacket for women")
    assert captions.rules_label.text() == ""

    captions.language_combo.setCurrentIndex(captions.language_combo.findData("en"))
    # The same image comes back (it has no English caption) with the text kept as its draft.
    assert captions.editor.toPlainText() == "this is a red leather jacket for women"
    captions.editor.clear()
    qtbot.keyClicks(captions.editor, "this is a red leather jacket for women")

    assert library.settings.caption_language == "en"
    assert captions.rules_label.text() == (
        'Do not start with "this is": name the product right away.'
    )


def test_import_and_export_from_the_library_menu(
    qtbot: Any, window: MainWindow, library: Library, tmp_path: Path
) -> None:
    overview = page(window, "overview_page")
    source = tmp_path / "queries.tsv"
    source.write_text(
        "image\tEnglish query\tGerman query\n"
        "https://x.example/product_0001.png\tred wool scarf for women with fringes\t"
        "roter Wollschal mit Fransen für Damen, Winter\n"
        "https://x.example/elsewhere.png\tblue jeans\tblaue Jeans\n",
        encoding="utf-8",
    )
    actions = [a.text() for a in window.menu("&Library").actions()]
    assert "Import captions…" in actions and "Export captions…" in actions

    job = overview.import_file(source, ImportOptions())
    qtbot.waitUntil(lambda: overview.message_box is not None and not job.running, timeout=5000)
    imported_text = overview.message_box.text()
    exported = tmp_path / "out.tsv"
    overview.export_file(exported, "toloka")
    qtbot.waitUntil(lambda: overview.message_box.text() != imported_text, timeout=5000)

    assert overview.last_report is not None and overview.last_report.imported == 2
    assert imported_text.startswith("queries.tsv (toloka): 2 rows, 2 captions imported")
    assert "1 rows name no image in the library (1 file names): elsewhere.png" in imported_text
    assert overview.message_box.text() == f"2 captions written to {exported}"
    assert "roter Wollschal mit Fransen für Damen, Winter" in exported.read_text(encoding="utf-8")

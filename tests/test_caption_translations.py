import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QTranslator

from mclip_gui.gui.translations import TRANSLATIONS_DIR

PROJECT = Path(__file__).resolve().parents[1]
SOURCES = [
    "mclip_gui/gui/pages/caption_page.py",
    "mclip_gui/gui/pages/validate_page.py",
    "mclip_gui/gui/pages/overview_page.py",
    "mclip_gui/gui/annotator.py",
]


def messages(ts: Path) -> dict[tuple[str, str], str]:
    found = {}
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            assert translation is not None
            done = translation.get("type") != "unfinished" and bool(translation.text)
            found[(name, message.findtext("source") or "")] = translation.text if done else ""
    return found


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_text_of_the_screens_is_translated_and_compiled(
    language: str, tmp_path: Path
) -> None:
    lupdate = Path(sys.executable).parent / "pyside6-lupdate"
    if not lupdate.exists() and shutil.which("pyside6-lupdate") is None:
        pytest.skip("pyside6-lupdate is not installed beside Python")
    fresh = tmp_path / "fresh.ts"
    subprocess.run(
        [str(lupdate if lupdate.exists() else "pyside6-lupdate"), *SOURCES, "-ts", str(fresh)],
        cwd=PROJECT,
        check=True,
        capture_output=True,
    )
    committed = messages(TRANSLATIONS_DIR / f"mclip_{language}.ts")

    assert set(messages(fresh)) == set(committed)
    assert [key for key, text in committed.items() if not text] == []
    translator = QTranslator()
    assert translator.load(str(TRANSLATIONS_DIR / f"mclip_{language}.qm"))
    compiled = {key: translator.translate(*key) for key in committed}
    assert compiled == committed  # the .qm was compiled from the current .ts

"""German and English for the caption screens: Qt translations following the locale, switchable.

The sources are English; `resources/translations/mclip_de.ts` holds the German text and
`mclip_en.ts` the (identity) English catalogue, both compiled to `.qm` with
`pyside6-lrelease`. Installing a translator makes Qt send LanguageChange to every widget; the
pages answer by re-setting their texts.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator
from PySide6.QtGui import QAction, QActionGroup

from mclip_gui.core.library import Library

log = logging.getLogger(__name__)

TRANSLATIONS_DIR = Path(__file__).resolve().parents[1] / "resources" / "translations"
LANGUAGE_CHOICES = (("system", "System"), ("de", "Deutsch"), ("en", "English"))
_installed: QTranslator | None = None
_language = "en"


def resolve_language(setting: str) -> str:
    """`de` or `en` for a ui_language setting; `system` follows the locale (German or not)."""
    if setting in ("de", "en"):
        return setting
    return "de" if QLocale.system().language() == QLocale.Language.German else "en"


def current_language() -> str:
    return _language


def apply_language(setting: str) -> str:
    """Install the translator for `setting` (system, de, en); returns the language in use."""
    global _installed, _language
    app = QCoreApplication.instance()
    language = resolve_language(setting)
    if app is None:
        return language
    if _installed is not None:
        app.removeTranslator(_installed)
        _installed = None
    translator = QTranslator(app)
    path = TRANSLATIONS_DIR / f"mclip_{language}.qm"
    if translator.load(str(path)):
        app.installTranslator(translator)
        _installed = translator
    else:
        log.warning("translation %s could not be loaded; the screens stay in English", path)
        language = "en"
    _language = language
    log.info("user interface language: %s (setting %s)", language, setting)
    return language


def add_language_menu(window: object) -> None:
    """View ▸ Language: System, Deutsch, English (once per window); the choice is saved."""
    if getattr(window, "_language_menu", None) is not None:
        return
    library: Library = window.library  # type: ignore[attr-defined]
    menu = window.menu("&View").addMenu("Language / Sprache")  # type: ignore[attr-defined]
    group = QActionGroup(menu)
    for value, label in LANGUAGE_CHOICES:
        action = QAction(label, menu, checkable=True)
        action.setChecked(library.settings.ui_language == value)
        action.setData(value)
        group.addAction(action)
        menu.addAction(action)
    group.triggered.connect(lambda action: _switch(library, str(action.data())))
    window._language_menu = menu  # type: ignore[attr-defined]


def _switch(library: Library, value: str) -> None:
    library.update_settings(ui_language=value)
    apply_language(value)


def ensure_installed(library: Library) -> None:
    """Install the translator of the library's setting once (the first caption page does it)."""
    if _installed is None:
        apply_language(library.settings.ui_language)

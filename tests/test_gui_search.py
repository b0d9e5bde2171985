"""The Search page driven by qtbot: model loading, live search, stale results, Index now."""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage
from PySide6.QtCore import QThreadPool
from tiny_models import tiny_clip_config

from mclip_gui.core.library import Library
from mclip_gui.core.schema import Image
from mclip_gui.gui.main_window import MainWindow
from mclip_gui.gui.pages.search_page import (
    FAILED_TEXT,
    LOADING_TEXT,
    READY_TEXT,
    ScoredGridModel,
    SearchPage,
    background_runner,
)

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module", autouse=True)
def heavy_imports_done() -> None:
    """Import torch and open_clip once up front (seconds on a busy machine), not in each load."""
    import open_clip  # noqa: F401


def add_images(library: Library, folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    with library.store.session() as s:
        for i in range(count):
            path = folder / f"photo-{i:02d}.png"
            PILImage.fromarray(rng.integers(0, 255, (36, 36, 3), dtype=np.uint8)).save(path)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            s.add(Image(path=str(path), size=path.stat().st_size, content_hash=digest))


class SlowTokenizer:
    """Wraps a model's tokenizer; tokenizing `held` waits until the test releases it."""

    def __init__(self, inner: Any, held: str):
        self.inner = inner
        self.held = held
        self.release = threading.Event()
        self.finished: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> Any:
        if self.held in texts:
            self.release.wait(TIMEOUT_MS / 1000)
        tokens = self.inner(texts)
        with self.lock:
            self.finished.extend(texts)
        return tokens

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def window(qtbot: Any, library: Library, tmp_path: Path) -> Iterator[MainWindow]:
    add_images(library, tmp_path / "photos", 8)
    library.update_settings(model=str(tiny_clip_config(tmp_path)), search_debounce_ms=20)
    win = MainWindow(library)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.runner.cancel_all()
    QThreadPool.globalInstance().waitForDone(TIMEOUT_MS)
    background_runner().wait(TIMEOUT_MS)
    qtbot.wait(50)  # deliver the jobs' last signals while the window still exists


def page_of(window: MainWindow) -> SearchPage:
    page = window.pages["search_page"]
    assert isinstance(page, SearchPage)
    return page


def ready(qtbot: Any, page: SearchPage) -> SearchPage:
    qtbot.waitUntil(lambda: page.service is not None, timeout=TIMEOUT_MS)
    return page


def shown_query(page: SearchPage) -> str | None:
    return page.shown.result.query if page.shown else None


def index_now(qtbot: Any, page: SearchPage) -> None:
    job = page.index_now()
    assert job is not None
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS):
        pass


def test_search_is_the_first_tab_and_says_the_model_is_loading(window: MainWindow) -> None:
    page = page_of(window)

    assert window.tabs.widget(0) is page and window.tabs.tabText(0) == "Search"
    assert page.box.placeholderText() == LOADING_TEXT
    assert not page.box.isEnabled()


def test_missing_embeddings_offer_index_now_which_makes_search_work(
    qtbot: Any, window: MainWindow
) -> None:
    page = ready(qtbot, page_of(window))
    assert page.box.placeholderText() == READY_TEXT
    assert page.index_button.isVisible()
    assert page.index_label.text() == "8 images have no embedding yet and cannot be found."

    index_now(qtbot, page)
    qtbot.waitUntil(lambda: not page.index_button.isVisible(), timeout=TIMEOUT_MS)
    qtbot.keyClicks(page.box, "rotes Kleid")
    qtbot.waitUntil(lambda: shown_query(page) == "rotes Kleid", timeout=TIMEOUT_MS)

    model = page.grid.grid_model
    assert isinstance(model, ScoredGridModel)
    assert model.rowCount() == 8
    scores = [float(model.data(model.index(row))) for row in range(8)]  # type: ignore[arg-type]
    assert scores == sorted(scores, reverse=True)
    assert page.status.text().startswith("8 results in ")
    assert not page.notice.isVisible()


def test_a_slow_old_query_never_replaces_a_newer_result(qtbot: Any, window: MainWindow) -> None:
    page = ready(qtbot, page_of(window))
    index_now(qtbot, page)
    assert page.service is not None
    slow = SlowTokenizer(page.service.model.tokenizer, held="Schuh")
    page.service.model.tokenizer = slow

    first = page.seq + 1

    page.box.setText("Schuh")
    qtbot.waitUntil(lambda: page.seq == first, timeout=TIMEOUT_MS)
    page.box.setText("Schuhe in Blau")
    qtbot.waitUntil(lambda: shown_query(page) == "Schuhe in Blau", timeout=TIMEOUT_MS)
    assert "Schuh" not in slow.finished  # the newer query really overtook the older one
    slow.release.set()
    qtbot.waitUntil(lambda: "Schuh" in slow.finished, timeout=TIMEOUT_MS)
    qtbot.wait(200)  # let the old result's signal arrive

    assert page.seq == first + 1
    assert shown_query(page) == "Schuhe in Blau"


def test_long_query_shows_the_truncation_notice(qtbot: Any, window: MainWindow) -> None:
    page = ready(qtbot, page_of(window))
    index_now(qtbot, page)
    query = "ein langes Sommerkleid mit Blumen und Spitze " * 12

    page.box.setText(query)
    qtbot.waitUntil(lambda: shown_query(page) == query, timeout=TIMEOUT_MS)

    assert page.notice.isVisible()
    assert page.notice.text().startswith("The query has ")
    assert page.notice.text().endswith(
        " tokens; the model reads only the first 77, the rest was ignored."
    )


def test_find_similar_searches_by_the_selected_image(qtbot: Any, window: MainWindow) -> None:
    page = ready(qtbot, page_of(window))
    index_now(qtbot, page)
    page.box.setText("Jacke")
    qtbot.waitUntil(lambda: shown_query(page) == "Jacke", timeout=TIMEOUT_MS)
    page.grid.select_row(2)
    chosen = page.grid.current_item()
    assert chosen is not None and page.similar_button.isEnabled()

    page.similar_button.click()
    qtbot.waitUntil(lambda: shown_query(page) == chosen.path, timeout=TIMEOUT_MS)

    assert page.shown is not None
    assert chosen.id not in [item.id for item in page.shown.items]
    assert len(page.shown.items) == 7
    assert page.status.text().startswith(f"7 results like {chosen.name} in ")

    page.grid.select_row(0)
    page.grid.item_activated.emit(page.grid.current_item())
    assert len(page.dialogs) == 1 and page.dialogs[0].isVisible()


def test_a_model_that_cannot_load_is_explained(
    qtbot: Any, library: Library, tmp_path: Path
) -> None:
    missing = tmp_path / "gone" / "weights.safetensors"
    library.update_settings(model=str(missing))
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()  # the model loads once the window has been painted
    page = page_of(window)

    qtbot.waitUntil(lambda: page.box.placeholderText() == FAILED_TEXT, timeout=TIMEOUT_MS)

    expected = f"checkpoint file {missing} does not exist"
    assert page.status.text() == f"The model could not be loaded: {expected}"
    assert window.errors.shown == []  # a user's missing file is explained on the page, no dialog
    assert not page.box.isEnabled()


def test_opening_the_page_does_not_import_torch() -> None:
    import subprocess

    code = (
        "import sys; import mclip_gui.gui.pages.search_page; "
        "print('torch' in sys.modules, 'open_clip' in sys.modules, 'hnswlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "False False False"


def test_ctrl_f_brings_the_search_box(qtbot: Any, library: Library) -> None:
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    window.show_page("library_page")
    page = page_of(window)

    page.focus_search()

    assert window.tabs.currentWidget() is page

"""`mclip-gui --self-test`: check an installation end to end, offscreen, on a throwaway library.

The same checks run in a pip install and in the bundle (packaging/), where they prove that what
PyInstaller collected is enough: the window with its icon, the database migrations, importing
generated images through a background worker, thumbnails in worker processes, a small model
loaded from a config JSON, embedding, search, writing and validating a caption, fine-tuning a
few steps in the child process, and starting a child process at all.

Each step prints ``ok   <what>: <detail>`` or ``FAIL <what>: <reason>``; the exit code is 0 only
when every step passed. A step whose feature is not in this build fails with "not available";
a step whose prerequisite failed fails with "skipped". Nothing is written outside a temporary
folder, which is removed at the end.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

log = logging.getLogger(__name__)

TINY_MODEL = "tiny-clip.json"  # in mclip_gui/resources/models, found by bare name
# Generated images: name -> colour; each a different colour and shape, so embeddings differ.
IMAGES = {
    "rot-kreis.png": (200, 30, 30),
    "gruen-quadrat.png": (30, 160, 60),
    "blau-streifen.png": (30, 60, 200),
    "gelb-kreuz.png": (230, 200, 30),
    "schwarz-ring.jpg": (20, 20, 20),
    "weiss-dreieck.jpg": (240, 240, 240),
}
BROKEN_IMAGE = "kaputt.jpg"  # not an image at all: must be skipped and named
BAD_CAPTION = "Das ist ein Kleid."
QUERY = "rotes Kleid"
JOB_TIMEOUT_S = 300
CHILD_TIMEOUT_S = 300


class NotAvailable(Exception):
    """The feature a step checks is not part of this build."""


class Skipped(Exception):
    """A step could not run because an earlier step it needs failed."""


@dataclass
class Context:
    """What the steps share: the throwaway folders, the library, the window, the model."""

    root: Path
    out: TextIO
    library: Any = None
    app: Any = None
    window: Any = None
    model: Any = None
    image_ids: dict[str, int] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)

    @property
    def images(self) -> Path:
        return self.root / "images"

    def need(self, *steps: str) -> None:
        missing = [s for s in steps if s not in self.done]
        if missing:
            raise Skipped(f"skipped: needs {', '.join(missing)}")


def require(module: str) -> ModuleType:
    """Import `module`, or raise NotAvailable when this build does not have it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and (module == e.name or module.startswith(e.name + ".")):
            raise NotAvailable(f"not available: {module} is not part of this build") from e
        raise


# -- the steps -----------------------------------------------------------------------------------
def step_folders(ctx: Context) -> str:
    """Where this installation keeps data and finds models (the same for pip and the bundle)."""
    from mclip_gui.core.paths import default_data_dir, default_log_dir

    hf_home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    try:
        from huggingface_hub import constants

        hf_home = str(constants.HF_HUB_CACHE)
    except ImportError:  # the cache path above is huggingface_hub's default
        pass
    return f"data {default_data_dir()}, logs {default_log_dir()}, model cache {hf_home}"


def step_library(ctx: Context) -> str:
    """A throwaway library: its database is created by running every Alembic migration."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from mclip_gui.core.library import Library
    from mclip_gui.core.modelspec import bundled_config
    from mclip_gui.core.store import MIGRATIONS

    ctx.library = Library(ctx.root / "data")
    # The pages load the library's model: the small one, never a download of the default.
    ctx.library.update_settings(model=str(bundled_config(TINY_MODEL)), device="cpu")
    with ctx.library.store.engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if revision != head:
        raise AssertionError(f"database at revision {revision}, newest migration is {head}")
    return f"database migrated to revision {revision} in {ctx.library.data_dir}"


def step_window(ctx: Context) -> str:
    """The main window opens offscreen with its icon and pages, and paints."""
    ctx.need("throwaway library")
    from PySide6.QtWidgets import QApplication

    from mclip_gui.gui.app import app_icon
    from mclip_gui.gui.main_window import MainWindow

    ctx.app = QApplication.instance() or QApplication([sys.argv[0]])
    icon = app_icon()
    if icon.isNull():
        raise AssertionError("the app icon could not be read from the package resources")
    ctx.app.setWindowIcon(icon)
    ctx.window = MainWindow(ctx.library)
    ctx.window.show()
    wait_until(ctx, lambda: ctx.window.isVisible() and not ctx.window.grab().isNull(), 30)
    titles = [ctx.window.tabs.tabText(i) for i in range(ctx.window.tabs.count())]
    pages = ", ".join(titles) if titles else "none yet"
    platform = ctx.app.platformName()
    return f"{platform} platform, icon loaded, pages: {pages}"


def step_translations(ctx: Context) -> str:
    """The German translation loads from the package resources and translates the window."""
    ctx.need("main window offscreen")
    translations = require("mclip_gui.gui.translations")
    from PySide6.QtCore import QCoreApplication

    try:
        if translations.apply_language("de") != "de":
            raise AssertionError(f"{translations.TRANSLATIONS_DIR}/mclip_de.qm did not load")
        german = QCoreApplication.translate("AnnotatorSwitcher", "Annotator:")
    finally:
        translations.apply_language(ctx.library.settings.ui_language)
    if german != "Person:":
        raise AssertionError(f"'Annotator:' translated to {german!r}, expected 'Person:'")
    return f"mclip_de.qm loaded from package data ('Annotator:' -> {german!r})"


def step_images(ctx: Context) -> str:
    """A folder of generated images plus one broken file."""
    from PIL import Image, ImageDraw

    ctx.images.mkdir(parents=True)
    for i, (name, colour) in enumerate(IMAGES.items()):
        img = Image.new("RGB", (96 + 16 * i, 80), (128, 128, 128))
        draw = ImageDraw.Draw(img)
        draw.ellipse((10, 10, 10 + 12 * (i + 2), 70), fill=colour)
        draw.rectangle((0, 8 * i, 96, 8 * i + 6), fill=colour)
        img.save(ctx.images / name)
    (ctx.images / BROKEN_IMAGE).write_bytes(b"this is not a JPEG file\n" * 4)
    return f"{len(IMAGES)} images and 1 broken file in {ctx.images}"


def step_import(ctx: Context) -> str:
    """Import the folder as a background job of the window; the broken file is named."""
    ctx.need("main window offscreen", "generated images")
    scan = require("mclip_gui.core.scan")
    report = run_job(ctx, "import", lambda p, c: scan.import_folder(ctx.library, ctx.images, p, c))
    if report.imported != len(IMAGES):
        raise AssertionError(f"imported {report.imported} images, expected {len(IMAGES)}")
    named = [Path(p.path).name for p in report.problems]
    if named != [BROKEN_IMAGE]:
        raise AssertionError(f"unreadable files reported: {named}, expected [{BROKEN_IMAGE}]")
    from sqlalchemy import select

    from mclip_gui.core.schema import Image

    with ctx.library.store.session() as s:
        rows = s.execute(select(Image.path, Image.id).where(Image.state == "ok")).all()
    ctx.image_ids = {Path(path).name: int(image_id) for path, image_id in rows}
    reason = report.problems[0].reason
    return f"{report.imported} imported on a worker thread; {BROKEN_IMAGE} skipped: {reason}"


def step_thumbnails(ctx: Context) -> str:
    """Thumbnails made by a pool of worker processes (multiprocessing in a frozen app)."""
    ctx.need("import through a background job")
    thumbnails = require("mclip_gui.core.thumbnails")
    # The library page makes thumbnails by itself after an import: let it finish, then start
    # afresh so that the worker processes make them.
    wait_until(ctx, lambda: not ctx.window.runner.active, JOB_TIMEOUT_S)
    shutil.rmtree(thumbnails.thumbnail_dir(ctx.library), ignore_errors=True)
    report = run_job(
        ctx,
        "thumbnails",
        lambda p, c: thumbnails.make_thumbnails(ctx.library, p, c, workers=2, processes=True),
    )
    left = thumbnails.missing_thumbnails(ctx.library)
    if report.made < 1 or left:
        raise AssertionError(f"made {report.made} thumbnails, {len(left)} still missing")
    return f"{report.made} made by 2 worker processes"


def step_model(ctx: Context) -> str:
    """A small randomly initialised model from the config JSON shipped as package data."""
    from mclip_gui.core.modelspec import bundled_config, load_model

    started = time.monotonic()
    ctx.model = load_model(str(bundled_config(TINY_MODEL)), device="cpu")
    vectors = ctx.model.encode_texts([QUERY])
    if vectors.shape != (1, ctx.model.embed_dim):
        raise AssertionError(f"text embedding has shape {vectors.shape}")
    seconds = time.monotonic() - started
    return (
        f"{TINY_MODEL} (embedding size {ctx.model.embed_dim}, fingerprint "
        f"{ctx.model.fingerprint[:12]}) in {seconds:.1f} s"
    )


def step_embed(ctx: Context) -> str:
    """Embed the imported images as a background job."""
    ctx.need("import through a background job", "small model from a config JSON")
    embed = require("mclip_gui.core.embed")
    report = run_job(ctx, "embed", lambda p, c: embed.embed_library(ctx.library, ctx.model, p, c))
    if report.embedded != len(IMAGES):
        raise AssertionError(f"embedded {report.embedded} images, expected {len(IMAGES)}")
    return str(report.summary())


def step_search(ctx: Context) -> str:
    """Text search ranks every image; an image's own embedding finds that image first."""
    ctx.need("embed the images")
    search = require("mclip_gui.core.search")
    service = search.SearchService(ctx.library, ctx.model)
    result = service.search_text(QUERY, top_k=len(IMAGES))
    names = [Path(hit.path).name for hit in result.hits]
    if sorted(names) != sorted(IMAGES):
        raise AssertionError(f"text search returned {names}, expected all {len(IMAGES)} images")
    scores = [hit.score for hit in result.hits]
    if scores != sorted(scores, reverse=True):
        raise AssertionError(f"hits are not ranked best first: {scores}")
    probe = next(iter(IMAGES))
    vector = service.index.embeddings.vector(ctx.image_ids[probe])
    first = service.search_vector(vector[None, :], top_k=1, exact=True)[0]
    if Path(first.path).name != probe or first.score < 0.99:
        raise AssertionError(f"{probe}'s own embedding found {first.path} ({first.score:.3f})")
    return f"{QUERY!r} ranked {len(names)} images; {probe} finds itself ({first.score:.3f})"


def caption_for(name: str) -> str:
    """A caption that keeps the rules (six words, plain separators) for a generated image."""
    colour, shape = Path(name).stem.split("-")
    return f"{colour} {shape} auf grauem Grund mit Streifen"


def step_captions(ctx: Context) -> str:
    """An annotator captions every image (a bad caption is refused), others validate them."""
    ctx.need("import through a background job")
    service_mod = require("mclip_gui.core.captions.service")
    from mclip_gui.core.errors import CaptionError

    writer = service_mod.CaptionService(ctx.library, "Selbsttest Autorin")
    refused = ""
    written: list[int] = []
    while (item := writer.next_image()) is not None:
        if not refused:
            try:
                writer.submit(item.image_id, BAD_CAPTION)
            except CaptionError as e:
                refused = str(e)
            else:
                raise AssertionError(f"the caption {BAD_CAPTION!r} was accepted against the rules")
        written.append(writer.submit(item.image_id, caption_for(item.path)))
    writer.close()
    if len(written) != len(IMAGES):
        raise AssertionError(f"the caption queue served {len(written)} of {len(IMAGES)} images")
    states = [validate(ctx, service_mod, caption_id) for caption_id in written]
    if states != ["accepted"] * len(written):
        raise AssertionError(f"caption states after validation: {states}")
    return f"{len(written)} written, validated and accepted; bad caption refused: {refused}"


def validate(ctx: Context, service_mod: ModuleType, caption_id: int) -> str | None:
    """Verdicts from new validators until the caption is decided; its new state."""
    for n in range(1, 6):
        validator = service_mod.CaptionService(ctx.library, f"Selbsttest Prüfer {n}")
        try:
            served = validator.next_caption_to_validate()
            if served is None or served.caption_id != caption_id:
                raise AssertionError(f"validator {n} was not served caption {caption_id}")
            state = validator.give_verdict(caption_id, "appropriate")
        finally:
            validator.close()
        if state is not None:
            return str(state)
    return None


def step_child(ctx: Context) -> str:
    """A Python child process starts (the bundle has no `python -m`; frozen.python_command)."""
    from mclip_gui import __version__
    from mclip_gui.frozen import python_command

    command = python_command("mclip_gui.cli", "--version")
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
    )
    expected = f"mclip {__version__}"
    if done.returncode != 0 or done.stdout.strip() != expected:
        raise AssertionError(
            f"{' '.join(command)} exited {done.returncode}: {(done.stdout + done.stderr).strip()}"
        )
    return f"{Path(command[0]).name} {' '.join(command[1:])} printed {expected!r}"


def step_finetune(ctx: Context) -> str:
    """Fine-tune the small model for a few steps in the training child process."""
    ctx.need("captions written and validated", "small model from a config JSON")
    child = require("mclip_gui.core.training.child")
    from mclip_gui.core.modelspec import load_model
    from mclip_gui.core.training.config import TrainSettings

    # Half the images held out, so both splits have captions however the hashes fall.
    ctx.library.update_settings(eval_one_in=2)
    settings = TrainSettings(
        learning_rate=1e-3,
        epochs=1,
        batch_size=2,
        warmup_fraction=0.0,
        patience=0,
        device="cpu",
        workers=1,
        checkpoint_every_steps=0,
        mode="both",
        activate=False,
    )
    events: list[dict[str, Any]] = []
    result = run_job(
        ctx,
        "fine-tune",
        lambda p, c: child.finetune(
            ctx.library, ctx.model.spec, settings, p, c, on_event=events.append
        ),
    )
    pids = [e["pid"] for e in events if e["kind"] == "started"]
    losses = [e["loss"] for e in events if e["kind"] == "step"]
    if not pids or pids[0] == os.getpid():
        raise AssertionError(f"training did not run in a child process (pids {pids})")
    if not losses:
        raise AssertionError("the child process reported no training step")
    reloaded = load_model(f"version:{result.version}", device="cpu", library=ctx.library)
    if reloaded.embed_dim != ctx.model.embed_dim:
        raise AssertionError(f"version {result.version} reloads with another embedding size")
    return (
        f"{len(losses)} steps in child process {pids[0]} (loss {losses[0]:.3f} -> "
        f"{losses[-1]:.3f}); version {result.version} saved and reloaded"
    )


STEPS: list[tuple[str, Callable[[Context], str]]] = [
    ("per-user folders", step_folders),
    ("throwaway library", step_library),
    ("main window offscreen", step_window),
    ("German translation", step_translations),
    ("generated images", step_images),
    ("import through a background job", step_import),
    ("thumbnails in worker processes", step_thumbnails),
    ("small model from a config JSON", step_model),
    ("embed the images", step_embed),
    ("search", step_search),
    ("captions written and validated", step_captions),
    ("child process start", step_child),
    ("fine-tune in the child process", step_finetune),
]


# -- running ------------------------------------------------------------------------------------
def wait_until(ctx: Context, condition: Callable[[], bool], timeout_s: float) -> None:
    """Process Qt events until `condition()` holds; AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s")
        ctx.app.processEvents()
        time.sleep(0.01)


def run_job(ctx: Context, name: str, fn: Callable[[Any, Any], Any]) -> Any:
    """Run a core job through the window's job runner (a worker thread) and return its result."""
    job = ctx.window.runner.start(f"self-test {name}", fn)
    outcome: dict[str, Any] = {}
    job.succeeded.connect(lambda result: outcome.setdefault("result", result))
    job.failed.connect(lambda error, _tb: outcome.setdefault("error", error))
    job.cancelled.connect(lambda: outcome.setdefault("error", RuntimeError("cancelled")))
    wait_until(ctx, lambda: bool(outcome), JOB_TIMEOUT_S)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def reason_of(error: BaseException) -> str:
    """One line saying why a step failed."""
    if isinstance(error, NotAvailable | Skipped):
        return str(error)
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def run_steps(ctx: Context, steps: list[tuple[str, Callable[[Context], str]]]) -> int:
    """Run the steps in order, printing one line each; returns the number that failed."""
    failed = 0
    for name, step in steps:
        try:
            detail = step(ctx)
        except Exception as e:  # every failure is reported as a FAIL line, then the next step
            failed += 1
            expected = isinstance(e, Skipped | NotAvailable)  # no traceback: the line says it all
            log.error("self-test step %s failed", name, exc_info=not expected)
            ctx.out.write(f"FAIL {name}: {reason_of(e)}\n")
        else:
            ctx.done.add(name)
            ctx.out.write(f"ok   {name}: {detail}\n")
        ctx.out.flush()
    return failed


def _close(ctx: Context) -> None:
    if ctx.window is not None:
        ctx.window.runner.cancel_all()
        ctx.window.runner.wait(10_000)
        ctx.window.close()
        ctx.window.deleteLater()
        ctx.app.processEvents()
    if ctx.library is not None:
        ctx.library.close()


def run_self_test(out: TextIO | None = None) -> int:
    """Run every check offscreen on a throwaway library; 0 when all passed, else 1."""
    # Offscreen before Qt starts: the self-test must run where there is no display (CI, SSH).
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if out is None and sys.stdout is None:
        # A windowed executable (Windows) has no console: write the report beside the logs.
        from mclip_gui.core.paths import default_log_dir

        default_log_dir().mkdir(parents=True, exist_ok=True)
        with open(default_log_dir() / "self-test.txt", "w", encoding="utf-8") as report:
            return run_self_test(report)
    out = out or sys.stdout
    from mclip_gui import __version__
    from mclip_gui.frozen import is_frozen

    kind = "bundle" if is_frozen() else "Python " + sys.version.split()[0]
    out.write(f"mclip-gui {__version__} self-test ({kind}, {sys.executable})\n")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mclip-self-test-") as tmp:
        ctx = Context(root=Path(tmp), out=out)
        try:
            failed = run_steps(ctx, STEPS)
        finally:
            try:
                _close(ctx)
            except Exception:  # closing must not hide the result; it is logged
                log.error("closing the self-test library failed\n%s", traceback.format_exc())
    seconds = time.monotonic() - started
    if failed:
        out.write(f"self-test FAILED: {failed} of {len(STEPS)} checks failed ({seconds:.1f} s)\n")
        return 1
    out.write(f"self-test passed: {len(STEPS)} checks ({seconds:.1f} s)\n")
    return 0

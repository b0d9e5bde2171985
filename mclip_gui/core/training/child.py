"""Fine-tuning in a child process, so running out of memory or a CUDA error cannot take the
window (or the command line's library) down with it.

Protocol: the parent starts a `spawn` process (works in a frozen app when its entry point calls
`multiprocessing.freeze_support()`) running `child_main(request, queue, stop)`. The child opens
the library itself and sends plain dicts on `queue`:
`{"kind": "started", "pid"}`, `{"kind": "status", "message"}`, `{"kind": "step", ...}` and
`{"kind": "eval", ...}` while it runs (see core.training.loop), then exactly one of
`{"kind": "done", "result"}`, `{"kind": "cancelled"}`, `{"kind": "error", "message", "details"}`.
The parent sets the `stop` event to cancel; the child stops before its next step, saves a
checkpoint and answers `cancelled`. When the child dies without a final message the parent
reports it as a TrainingError; the run stays resumable from its last checkpoint and the
previous model stays active. Activating the new version happens in the parent afterwards.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import queue as queue_module
import shutil
import signal
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mclip_gui.core.errors import JobCancelled, MclipError, TrainingError
from mclip_gui.core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from mclip_gui.core.library import Library
from mclip_gui.core.schema import TrainingRun, utcnow
from mclip_gui.core.training.config import TrainSettings
from mclip_gui.core.training.loop import EventCallback, no_events

log = logging.getLogger(__name__)

# Seconds the parent waits for a cancelled child to save its checkpoint and exit.
CANCEL_GRACE_S = 60.0


@dataclass
class FinetuneResult:
    """A finished run: the version it made, its metrics, and whether it became active."""

    run_id: int
    version: str
    improved: bool
    zero_shot: dict[str, float]
    best: dict[str, float]
    best_epoch: int
    epochs: int
    seconds: float
    samples_per_s: float
    mode: str
    activated: bool = False
    skipped: list[list[str]] | None = None

    def summary(self) -> str:
        zs, best = self.zero_shot.get("mRR", 0.0), self.best.get("mRR", 0.0)
        text = (
            f"model version {self.version}: eval mRR {zs:.4f} zero-shot -> {best:.4f} "
            f"(best of {self.epochs} epochs: epoch {self.best_epoch}; {self.mode}; "
            f"{self.samples_per_s:.1f} samples/s; {self.seconds:.0f} s)"
        )
        if not self.improved:
            text += "; it does not beat the zero-shot model, so it was not activated"
        return text


# -- parent side ------------------------------------------------------------------------------
def start_run(library: Library, model: str, settings: TrainSettings) -> int:
    """Record a new TrainingRun (freezing the split on the first one); returns its id."""
    from mclip_gui.core.captions.split import freeze

    freeze(library)
    with library.store.session() as s:
        run = TrainingRun(
            model=model, state="running", run_dir="", settings_json=json.dumps(settings.to_dict())
        )
        s.add(run)
        s.flush()
        run.run_dir = str(library.layout.runs / f"run-{run.id:04d}")
        run_id = int(run.id)
    return run_id


def resumable_run(library: Library, run_id: int | None = None) -> tuple[int, str, TrainSettings]:
    """(id, model, settings) of the run to resume: `run_id`, or the newest unfinished one."""
    from mclip_gui.core.training.loop import CHECKPOINT

    with library.store.session() as s:
        query = select(TrainingRun).order_by(TrainingRun.id.desc())
        if run_id is not None:
            query = query.where(TrainingRun.id == run_id)
        for run in s.scalars(query):
            if run.state != "finished" and (Path(run.run_dir) / CHECKPOINT).exists():
                settings = TrainSettings.from_dict(json.loads(run.settings_json or "{}"))
                return int(run.id), run.model, settings
    which = f"run {run_id}" if run_id is not None else "any run"
    raise TrainingError(f"there is no checkpoint to resume from ({which})")


def set_run_state(library: Library, run_id: int, state: str, error: str | None = None) -> None:
    with library.store.session() as s:
        run = s.get(TrainingRun, run_id)
        if run is not None:
            run.state, run.error = state, error
            run.finished_at = utcnow() if state != "running" else None


def finetune(
    library: Library,
    model: str | None = None,
    settings: TrainSettings | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    on_event: EventCallback = no_events,
    resume_run: int | None = None,
    resume: bool = False,
    in_process: bool = False,
    keep_version: bool = True,
) -> FinetuneResult:
    """Fine-tune `model` (default: the library's active model) in a child process.

    `in_process` trains in this process instead (for debugging and fast tests: a crash then
    takes this process down). With `resume`, continues run `resume_run` (or the newest
    unfinished run) from its checkpoint. Without `keep_version` (experiments) no model version
    is made: the result only carries the metrics.
    When the run beats the zero-shot model and settings.activate is on, the new version is
    activated here (re-embedding the library first if its image tower changed).
    """
    cancel = cancel or CancelToken()
    if resume:
        run_id, model, settings = resumable_run(library, resume_run)
        set_run_state(library, run_id, "running")
    else:
        model = model or library.settings.model
        settings = settings or TrainSettings()
        run_id = start_run(library, model, settings)
    with library.store.session() as s:
        run_dir = Path(s.get(TrainingRun, run_id).run_dir)  # type: ignore[union-attr]
    request = {
        "data_dir": str(library.data_dir),
        "database_url": library.store.url,
        "run_id": run_id,
        "run_dir": str(run_dir),
        "model": model,
        "settings": settings.to_dict(),
        "resume": resume,
        "keep_version": keep_version,
    }
    if in_process:
        result = _run_here(library, request, progress, cancel, on_event)
    else:
        result = _run_child(library, request, progress, cancel, on_event)
    if result.improved and settings.activate and keep_version:
        from mclip_gui.core.training.versions import activate

        progress(Progress(0, 0, f"activating {result.version}"))
        activate(library, result.version, progress, cancel)
        result.activated = True
    return result


def _run_here(
    library: Library,
    request: dict[str, Any],
    progress: ProgressCallback,
    cancel: CancelToken,
    on_event: EventCallback,
) -> FinetuneResult:
    run_id = int(request["run_id"])

    def relay(message: dict[str, Any]) -> None:
        _relay(message, progress, on_event)

    try:
        return FinetuneResult(**run_and_record(library, request, relay, cancel))
    except JobCancelled:
        set_run_state(library, run_id, "cancelled")
        raise
    except MclipError as e:
        set_run_state(library, run_id, "failed", str(e))
        raise


def _run_child(
    library: Library,
    request: dict[str, Any],
    progress: ProgressCallback,
    cancel: CancelToken,
    on_event: EventCallback,
) -> FinetuneResult:
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    stop = context.Event()
    process = context.Process(
        target=child_main, args=(request, messages, stop), name="mclip-finetune", daemon=True
    )
    process.start()
    log.info("training run %s started in child process %s", request["run_id"], process.pid)
    final: dict[str, Any] | None = None
    cancel_sent_at: float | None = None
    try:
        while final is None:
            if cancel.cancelled and cancel_sent_at is None:
                stop.set()
                cancel_sent_at = time.monotonic()
                progress(Progress(0, 0, "cancelling: saving a checkpoint"))
            try:
                message = messages.get(timeout=0.2)
            except queue_module.Empty:
                if not process.is_alive():
                    final = _drain(messages, progress, on_event)
                    break
                if cancel_sent_at and time.monotonic() - cancel_sent_at > CANCEL_GRACE_S:
                    process.terminate()
                continue
            if message["kind"] in ("done", "cancelled", "error"):
                final = message
            else:
                _relay(message, progress, on_event)
    except KeyboardInterrupt:
        # Ctrl+C in a terminal: the child ignores it (see child_main) and stops at the next
        # step with a checkpoint, like Cancel; the run stays resumable.
        stop.set()
        progress(Progress(0, 0, "interrupted: saving a checkpoint"))
        raise  # the join below waits for that, as after a normal end
    finally:
        process.join(timeout=CANCEL_GRACE_S)
        if process.is_alive():
            process.kill()
            process.join()
    return _finish(library, request, process.exitcode, final)


def _drain(messages: Any, progress: ProgressCallback, on_event: EventCallback) -> Any:
    """Messages still queued when the child ended; the final one, if any."""
    while True:
        try:
            message = messages.get(timeout=0.5)
        except queue_module.Empty:
            return None
        if message["kind"] in ("done", "cancelled", "error"):
            return message
        _relay(message, progress, on_event)


def _relay(message: dict[str, Any], progress: ProgressCallback, on_event: EventCallback) -> None:
    on_event(message)
    if message["kind"] == "step":
        text = (
            f"epoch {message['epoch']}/{message['epochs']}, step {message['step']}/"
            f"{message['steps']}, loss {message['loss']:.4f}, "
            f"{message['samples_per_s']:.1f} samples/s"
        )
        progress(Progress(message["global_step"], message["total_steps"], text, message["eta_s"]))
    elif message["kind"] == "status":
        progress(Progress(0, 0, message["message"]))


def _finish(
    library: Library, request: dict[str, Any], exitcode: int | None, final: dict[str, Any] | None
) -> FinetuneResult:
    run_id = int(request["run_id"])
    if final is None:
        how = _describe_exit(exitcode)
        message = (
            f"The training process stopped unexpectedly ({how}). Nothing was changed and the "
            "previous model stays active; the run can be resumed from its last checkpoint."
        )
        set_run_state(library, run_id, "failed", message)
        raise TrainingError(message)
    if final["kind"] == "cancelled":
        raise JobCancelled("training cancelled; the previous model stays active")
    if final["kind"] == "error":
        if final.get("expected"):  # bad settings or data: the message says it all
            log.info("training run %s failed: %s", run_id, final["message"])
            log.debug("%s", final["details"])
        else:
            log.error("training run %s failed: %s\n%s", run_id, final["message"], final["details"])
        raise TrainingError(final["message"])
    return FinetuneResult(**final["result"])


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}, perhaps out of memory"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


# -- child side -------------------------------------------------------------------------------
def child_main(request: dict[str, Any], messages: Any, stop: Any) -> None:
    """Entry point of the training process: run, then send exactly one final message."""
    # Ctrl+C in a terminal reaches the whole process group; the parent decides (it asks this
    # process to stop through `stop`), so no KeyboardInterrupt traceback comes from here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    run_dir = Path(request["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    _log_to(run_dir / "train.log")
    messages.put({"kind": "started", "pid": multiprocessing.current_process().pid})
    token = CancelToken()
    token._event = stop  # the parent's multiprocessing Event: set() there is seen here
    library = Library(Path(request["data_dir"]), request.get("database_url"))
    run_id = int(request["run_id"])
    try:
        result = run_and_record(library, request, messages.put, token)
        messages.put({"kind": "done", "result": result})
    except JobCancelled:
        set_run_state(library, run_id, "cancelled")
        messages.put({"kind": "cancelled"})
    except MclipError as e:
        set_run_state(library, run_id, "failed", str(e))
        details = traceback.format_exc()
        messages.put({"kind": "error", "message": str(e), "details": details, "expected": True})
    except Exception as e:  # any crash of the loop reaches the user as one message
        log.exception("training failed")
        text = f"training failed: {type(e).__name__}: {e}"
        set_run_state(library, run_id, "failed", text)
        messages.put({"kind": "error", "message": text, "details": traceback.format_exc()})
    finally:
        library.close()
        messages.close()
        messages.join_thread()


def _log_to(path: Path) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def run_and_record(
    library: Library, request: dict[str, Any], on_event: EventCallback, cancel: CancelToken
) -> dict[str, Any]:
    """Train, then record the best epoch as a model version; returns FinetuneResult fields."""
    from mclip_gui.core.training.loop import Trainer, summary_metrics
    from mclip_gui.core.training.versions import create_version, new_version_name

    settings = TrainSettings.from_dict(request["settings"])
    run_id = int(request["run_id"])
    trainer = Trainer(
        library, Path(request["run_dir"]), request["model"], settings, on_event, cancel
    )
    outcome = trainer.run(resume=bool(request.get("resume")))
    fields = {
        "run_id": run_id,
        "version": "",
        "improved": outcome.improved,
        "zero_shot": outcome.state.zero_shot,
        "best": outcome.best_metrics,
        "best_epoch": outcome.state.best_epoch,
        "epochs": outcome.state.epoch,
        "seconds": outcome.seconds,
        "samples_per_s": outcome.samples_per_s,
        "mode": outcome.state.mode,
        "skipped": outcome.state.skipped,
    }
    if not request.get("keep_version", True):
        shutil.rmtree(outcome.best_folder, ignore_errors=True)
        set_run_state(library, run_id, "finished")
        _drop_resume_files(Path(request["run_dir"]))
        return fields
    version = create_version(
        library,
        new_version_name(library, request["model"]),
        outcome.best_folder,
        request["model"],
        mode=outcome.state.mode,
        settings={**settings.to_dict(), "batch_size_used": outcome.state.batch_size},
        data=outcome.data,
        metrics=summary_metrics(outcome, settings.eval_top_k),
        image_fingerprint=outcome.image_fingerprint,
    )
    with library.store.session() as s:
        run = s.get(TrainingRun, run_id)
        if run is not None:
            run.state, run.finished_at = "finished", utcnow()
            run.model_version_id = _version_id(s, version.name)
    _drop_resume_files(Path(request["run_dir"]))
    return {**fields, "version": version.name}


def _drop_resume_files(run_dir: Path) -> None:
    """A finished run cannot be resumed: its checkpoint (weights and optimizer state, as large
    as two models) and the locked tower's cached embeddings go; train.log and state stay."""
    from mclip_gui.core.training.loop import CHECKPOINT

    for path in [run_dir / CHECKPOINT, *run_dir.glob("cache-*.pt")]:
        path.unlink(missing_ok=True)


def _version_id(session: Any, name: str) -> int | None:
    from mclip_gui.core.schema import ModelVersion

    return session.scalar(select(ModelVersion.id).where(ModelVersion.name == name))

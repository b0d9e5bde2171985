"""Fine-tuning through the child process, runs, model versions and their activation."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from tiny_models import tiny_clip_config
from training_data import build_library

from mclip_gui.core.errors import JobCancelled, TrainingError
from mclip_gui.core.jobs import CancelToken
from mclip_gui.core.library import Library
from mclip_gui.core.schema import EmbeddingSet, Image, TrainingRun
from mclip_gui.core.training.child import finetune
from mclip_gui.core.training.config import TrainSettings
from mclip_gui.core.training.versions import activate, list_versions

FAST = TrainSettings(
    learning_rate=2e-3,
    epochs=2,
    batch_size=8,
    warmup_fraction=0.0,
    patience=0,
    device="cpu",
    workers=1,
    checkpoint_every_steps=1,
    mode="both",
)


@pytest.fixture
def train_library(library: Library, tmp_path: Path) -> Library:
    build_library(library, tmp_path / "images")
    library.update_settings(model=str(tiny_clip_config(tmp_path)), device="cpu")
    return library


def run_states(library: Library) -> list[str]:
    with library.store.session() as s:
        return list(s.scalars(select(TrainingRun.state).order_by(TrainingRun.id)))


def embedding_count(library: Library, spec: str) -> int:
    """Image embeddings recorded for the model `spec` (by its fingerprint)."""
    from mclip_gui.core.modelspec import load_model

    fingerprint = load_model(spec, "cpu", library).fingerprint
    with library.store.session() as s:
        found = s.get(EmbeddingSet, fingerprint)
        return found.count if found else 0


def searchable_count(library: Library) -> int:
    with library.store.session() as s:
        return len(list(s.scalars(select(Image.id).where(Image.duplicate_of.is_(None)))))


def test_child_crash_is_an_error_then_resume_finishes_and_activates(
    train_library: Library,
) -> None:
    base = train_library.settings.model

    def kill_child(event: dict[str, Any]) -> None:
        if event["kind"] == "started":
            kill_child.pid = event["pid"]  # type: ignore[attr-defined]
        if event["kind"] == "step" and event["global_step"] == 2:
            os.kill(kill_child.pid, signal.SIGKILL)  # type: ignore[attr-defined]

    with pytest.raises(TrainingError) as caught:
        finetune(train_library, settings=FAST.updated(epochs=1), on_event=kill_child)

    assert str(caught.value) == (
        "The training process stopped unexpectedly (killed by signal SIGKILL, perhaps out of "
        "memory). Nothing was changed and the previous model stays active; the run can be "
        "resumed from its last checkpoint."
    )
    assert train_library.settings.model == base
    assert run_states(train_library) == ["failed"]
    assert list_versions(train_library) == []

    events: list[dict[str, Any]] = []
    result = finetune(train_library, resume=True, on_event=events.append)

    assert run_states(train_library) == ["finished"]
    steps = [e for e in events if e["kind"] == "step"]
    assert steps[0]["global_step"] >= 2  # continued, not restarted
    assert result.epochs == 1 and result.improved and result.activated
    (version,) = list_versions(train_library)
    assert version.name == result.version and version.base_model == base
    assert version.metrics["zero_shot"]["mRR"] == result.zero_shot["mRR"]
    assert version.data["captions"] == 27
    # Both towers trained: the library was re-embedded with the new model before switching.
    assert train_library.settings.model == f"version:{result.version}"
    assert embedding_count(train_library, f"version:{result.version}") == searchable_count(
        train_library
    )


def test_image_locked_version_reuses_the_parents_image_embeddings(
    train_library: Library,
) -> None:
    from mclip_gui.core.embed import embed_library
    from mclip_gui.core.modelspec import load_model

    base = train_library.settings.model
    embed_library(train_library, load_model(base, "cpu"))  # type: ignore[arg-type]
    settings = FAST.updated(mode="image_locked", activate=False, checkpoint_every_steps=0)
    result = finetune(train_library, settings=settings, in_process=True)
    assert train_library.settings.model == base  # activate=False

    activate(train_library, result.version)

    assert train_library.settings.model == f"version:{result.version}"
    spec = f"version:{result.version}"
    assert embedding_count(train_library, spec) == searchable_count(train_library)
    new = load_model(spec, "cpu", train_library)
    from mclip_gui.core.embed import open_index

    index = open_index(train_library, new)  # type: ignore[arg-type]
    old = open_index(train_library, load_model(base, "cpu"))  # type: ignore[arg-type]
    assert np.array_equal(np.sort(index.embeddings.ids), np.sort(old.embeddings.ids))
    first = int(old.embeddings.ids[0])
    assert np.allclose(index.embeddings.vector(first), old.embeddings.vector(first))


def test_cancelled_activation_keeps_the_previous_model(train_library: Library) -> None:
    settings = FAST.updated(activate=False, epochs=1, checkpoint_every_steps=0)
    result = finetune(train_library, settings=settings, in_process=True)
    # A finished run cannot be resumed: its checkpoint (as large as two models) is gone.
    run_dir = train_library.layout.runs / f"run-{result.run_id:04d}"
    assert run_dir.is_dir()
    assert not (run_dir / "checkpoint.pt").exists()
    assert not list(run_dir.glob("cache-*.pt"))
    base = train_library.settings.model
    cancel = CancelToken()
    cancel.cancel()

    with pytest.raises(JobCancelled):
        activate(train_library, result.version, cancel=cancel)

    assert train_library.settings.model == base

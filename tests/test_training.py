"""The fine-tuning loop with tiny models on generated images: in-process, CPU, a few steps."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tiny_models import tiny_clip_config, tiny_xlmr_config
from training_data import add_unreadable, build_library

from mclip_gui.core.errors import JobCancelled, TrainingError
from mclip_gui.core.jobs import CancelToken
from mclip_gui.core.library import Library
from mclip_gui.core.metrics import metric_names
from mclip_gui.core.training import loop
from mclip_gui.core.training.config import TrainSettings
from mclip_gui.core.training.loop import Trainer

FAST = TrainSettings(
    learning_rate=2e-3,
    epochs=3,
    batch_size=8,
    warmup_fraction=0.0,
    patience=0,
    device="cpu",
    workers=1,
    checkpoint_every_steps=0,
    mode="both",
)


@pytest.fixture
def train_library(library: Library, tmp_path: Path) -> Library:
    build_library(library, tmp_path / "images")
    return library


def events_into(store: list[dict[str, Any]]) -> Any:
    return store.append


def test_both_towers_loss_goes_down_and_best_epoch_is_kept(
    train_library: Library, tmp_path: Path
) -> None:
    events: list[dict[str, Any]] = []
    trainer = Trainer(
        train_library, tmp_path / "run", str(tiny_clip_config(tmp_path)), FAST, events.append
    )

    outcome = trainer.run()

    history = outcome.state.history
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["loss"] < history[0]["loss"]
    assert set(outcome.state.zero_shot) == set(metric_names(20))
    best = max(history, key=lambda h: h["metrics"]["mRR"])
    assert outcome.state.best_epoch == best["epoch"]
    assert outcome.best_metrics == best["metrics"]
    steps = [e for e in events if e["kind"] == "step"]
    assert len(steps) == outcome.state.total_steps == 3 * math.ceil(27 / 8)
    assert {"loss", "samples_per_s", "eta_s", "lr", "epoch", "step"} <= set(steps[0])
    assert [e["epoch"] for e in events if e["kind"] == "eval"] == [0, 1, 2, 3]
    # The saved best model loads back through open_clip and scores as it did at that epoch.
    from mclip_gui.core.evaluation import evaluate_loaded, prepare
    from mclip_gui.core.modelspec import load_model
    from mclip_gui.core.training.data import eval_set

    reloaded = load_model(str(outcome.best_folder), "cpu")
    prepared = prepare(eval_set(train_library), reloaded.preprocess, 10**8, 1)
    again = evaluate_loaded(reloaded, prepared, 20)
    assert again["mRR"] == pytest.approx(best["metrics"]["mRR"], abs=1e-5)


def test_image_locked_mode_leaves_the_image_tower_unchanged(
    train_library: Library, tmp_path: Path
) -> None:
    settings = FAST.updated(mode="image_locked", epochs=2)
    trainer = Trainer(train_library, tmp_path / "run", str(tiny_clip_config(tmp_path)), settings)
    outcome = trainer.run()
    from mclip_gui.core.modelspec import load_model

    before = load_model(str(tiny_clip_config(tmp_path)), "cpu").model.state_dict()
    after = load_model(str(outcome.best_folder), "cpu").model.state_dict()
    changed = {n for n in before if not np.allclose(before[n].numpy(), after[n].numpy())}

    assert changed and all(not n.startswith("visual.") for n in changed)
    assert history_loss_fell(outcome)
    assert (tmp_path / "run" / "cache-image_locked.pt").exists()


def test_text_locked_mode_with_a_hugging_face_text_tower_freezes_text_and_projection(
    train_library: Library, tmp_path: Path
) -> None:
    from mclip_gui.core.modelspec import load_model

    spec = str(tiny_xlmr_config(tmp_path))
    loaded = load_model(spec, "cpu")
    before = {n: t.clone() for n, t in loaded.model.state_dict().items()}
    settings = FAST.updated(mode="text_locked", epochs=1)

    outcome = Trainer(train_library, tmp_path / "run", spec, settings, loaded=loaded).run()

    learning = {n for n, p in loaded.model.named_parameters() if p.requires_grad}
    assert "text.proj.weight" not in learning
    assert learning == {n for n in learning if n.startswith("visual.") or n == "logit_scale"}
    after = loaded.model.state_dict()  # one epoch: the best epoch is the last
    changed = {n for n in before if not np.allclose(before[n].numpy(), after[n].numpy())}
    assert changed and all(n.startswith("visual.") or n == "logit_scale" for n in changed)
    assert (outcome.best_folder / "open_clip_model.safetensors").exists()


def history_loss_fell(outcome: loop.TrainOutcome) -> bool:
    return outcome.state.history[-1]["loss"] < outcome.state.history[0]["loss"]


def test_cancel_mid_epoch_saves_a_checkpoint_and_resume_finishes_the_same_run(
    train_library: Library, tmp_path: Path
) -> None:
    config = str(tiny_clip_config(tmp_path))
    cancel = CancelToken()

    def stop_after_five_steps(event: dict[str, Any]) -> None:
        if event["kind"] == "step" and event["global_step"] == 5:
            cancel.cancel()

    settings = FAST.updated(epochs=2)
    with pytest.raises(JobCancelled):
        Trainer(
            train_library, tmp_path / "run", config, settings, stop_after_five_steps, cancel
        ).run()
    state = loop.RunState.load(tmp_path / "run")
    assert (state.epoch, state.step, state.global_step) == (1, 1, 5)
    assert (tmp_path / "run" / "checkpoint.pt").exists()

    events: list[dict[str, Any]] = []
    outcome = Trainer(train_library, tmp_path / "run", config, settings, events.append).run(
        resume=True
    )

    steps = [e for e in events if e["kind"] == "step"]
    assert len(steps) == outcome.state.total_steps - 5
    assert outcome.state.epoch == 2 and len(outcome.state.history) == 2
    assert outcome.state.zero_shot  # kept from before the cancel


def test_nan_loss_stops_the_run_with_a_message(
    train_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    real = loop.contrastive_loss
    calls = {"n": 0}

    def diverging(*args: Any) -> Any:
        calls["n"] += 1
        loss = real(*args)
        return loss * torch.tensor(float("nan")) if calls["n"] == 3 else loss

    monkeypatch.setattr(loop, "contrastive_loss", diverging)

    with pytest.raises(TrainingError) as caught:
        Trainer(train_library, tmp_path / "run", str(tiny_clip_config(tmp_path)), FAST).run()

    assert str(caught.value) == (
        "The loss became nan at epoch 1, step 3: training stopped and the previous model stays "
        "active. Try a lower learning rate."
    )
    assert not (tmp_path / "run" / "best").exists()


def test_unreadable_training_image_is_skipped_and_named(
    train_library: Library, tmp_path: Path
) -> None:
    broken = add_unreadable(train_library, tmp_path / "images")
    settings = FAST.updated(mode="image_locked", epochs=1)

    outcome = Trainer(
        train_library, tmp_path / "run", str(tiny_clip_config(tmp_path)), settings
    ).run()

    assert [p for p, _ in outcome.state.skipped] == [str(broken)]
    assert outcome.data["captions"] == 27


def test_no_accepted_captions_is_a_clear_error(library: Library, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="There are no accepted captions of training images"):
        Trainer(library, tmp_path / "run", str(tiny_clip_config(tmp_path)), FAST).run()


def test_settings_check_values_and_fall_back_on_bad_saved_ones() -> None:
    with pytest.raises(ValueError, match="training setting mode='fast': expected one of"):
        TrainSettings().updated(mode="fast")
    loaded = TrainSettings.from_dict({"learning_rate": "high", "epochs": 3, "bogus": 1})
    assert (loaded.learning_rate, loaded.epochs) == (1e-6, 3)
    assert TrainSettings().resolved_mode("cpu") == "image_locked"
    assert TrainSettings().resolved_mode("cuda") == "both"

"""Training settings: one dataclass, one comment per field, saved with every run."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field, fields
from typing import Any

from mclip_gui.core.settings import check_value, field_comments, limits

log = logging.getLogger(__name__)

MODES = ("auto", "both", "image_locked", "text_locked")
MODE_LABELS = {
    "auto": "Automatic (image tower locked on CPU, both towers on GPU)",
    "both": "Both towers",
    "image_locked": "Image tower locked (fast; the image index stays valid)",
    "text_locked": "Text tower locked",
}


@dataclass
class TrainSettings:
    """Hyperparameters of a fine-tuning run (defaults from the published run)."""

    # Peak learning rate of AdamW (1e-6 keeps a pretrained CLIP from forgetting).
    learning_rate: float = field(default=1e-6, metadata=limits(1e-9, 1.0))
    # Passes over the training captions.
    epochs: int = field(default=5, metadata=limits(1, 1000))
    # Captions per step; 0 picks the largest that fits memory (probed on GPU, 32 on CPU).
    batch_size: int = field(default=0, metadata=limits(0, 4096))
    # AdamW decoupled weight decay (not applied to biases, norms, embeddings, logit scale).
    weight_decay: float = field(default=0.1, metadata=limits(0.0, 10.0))
    # AdamW betas and epsilon, as open_clip's training uses for ViT-B models.
    beta1: float = field(default=0.9, metadata=limits(0.0, 0.9999))
    beta2: float = field(default=0.98, metadata=limits(0.0, 0.99999))
    eps: float = field(default=1e-6, metadata=limits(1e-12, 1e-2))
    # Share of all steps spent warming the learning rate up linearly from 0; cosine decay after.
    warmup_fraction: float = field(default=0.1, metadata=limits(0.0, 0.9))
    # Gradients are clipped to this global norm (0: no clipping).
    grad_clip_norm: float = field(default=1.0, metadata=limits(0.0, 1000.0))
    # Which towers learn; auto: image tower locked on CPU, both towers on GPU.
    mode: str = field(default="auto", metadata=limits(choices=MODES))
    # Mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling); CPU is fp32.
    mixed_precision: bool = True
    # Epochs without a better eval mRR before training stops early (0: never stop early).
    patience: int = field(default=2, metadata=limits(0, 1000))
    # Retrieval metrics look at the top k images of each query.
    eval_top_k: int = field(default=20, metadata=limits(1, 1000))
    # Save a resumable checkpoint every this many steps (0: only at the end of each epoch).
    checkpoint_every_steps: int = field(default=200, metadata=limits(0, 1_000_000))
    # Train on at most this many captions (0: all); the learning-curve experiment sets it.
    max_train_captions: int = field(default=0, metadata=limits(0, 100_000_000))
    # Seed of the data order and of the subset; the same seed repeats a run.
    seed: int = field(default=0, metadata=limits(0, 2**31 - 1))
    # Device: auto (CUDA, then MPS, then CPU), cpu, cuda, mps.
    device: str = field(default="auto", metadata=limits(choices=("auto", "cpu", "cuda", "mps")))
    # Images decoded in parallel for training and evaluation (0: automatic).
    workers: int = field(default=0, metadata=limits(0, 64))
    # Activate the best model version when the run finishes (re-embedding when needed).
    activate: bool = True

    def resolved_mode(self, device_type: str) -> str:
        """The mode to use on this device (auto: image tower locked unless on CUDA)."""
        if self.mode != "auto":
            return self.mode
        return "both" if device_type == "cuda" else "image_locked"

    def with_model_defaults(self, recommended: dict[str, Any]) -> TrainSettings:
        """Apply a model folder's recommended settings where these are left at their defaults.

        The starter model's image tower starts random: it recommends the text-locked mode and
        a learning rate far above the 1e-6 meant for pretrained CLIP models.
        """
        defaults = TrainSettings()
        changes: dict[str, Any] = {}
        for name, value in recommended.items():
            if not hasattr(defaults, name):
                log.warning("model recommends unknown training setting %s; ignored", name)
                continue
            if getattr(self, name) == getattr(defaults, name) and value != getattr(self, name):
                changes[name] = type(getattr(defaults, name))(value)
        if not changes:
            return self
        log.info("using the model's recommended training settings: %s", changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainSettings:
        """Settings from a saved dict; bad or unknown values fall back with a warning."""
        values: dict[str, Any] = {}
        defaults = cls()
        known = {f.name: f for f in fields(cls)}
        for name, value in raw.items():
            f = known.get(name)
            if f is None:
                log.warning("unknown training setting %s ignored", name)
                continue
            problem = check_value(f, value, getattr(defaults, name))
            if problem:
                log.warning("training setting %s=%r ignored: %s", name, value, problem)
                continue
            values[name] = float(value) if isinstance(getattr(defaults, name), float) else value
        return cls(**values)

    def updated(self, **changes: Any) -> TrainSettings:
        """A copy with `changes`; raises ValueError naming a bad value."""
        known = {f.name: f for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown training setting {name!r}")
            problem = check_value(known[name], value, getattr(self, name))
            if problem:
                raise ValueError(f"training setting {name}={value!r}: {problem}")
        return dataclasses.replace(self, **changes)


def field_help(name: str) -> str:
    """The comment above a field, for tooltips in the Advanced panel."""
    return field_comments(TrainSettings).get(name, "")

"""The fine-tuning loop: CLIP contrastive loss, AdamW with warm-up and cosine decay.

Modes: `both` towers learn; `image_locked` freezes the image tower (`model.visual`), so image
embeddings are computed once and cached and only the text side learns; `text_locked` freezes
the whole text side -- for open_clip's own text tower that is token and positional embeddings,
transformer, final norm and `text_projection`; for a Hugging Face text tower it is `model.text`
including its projection (`proj`) -- so text embeddings are cached and the image tower learns.
The learned temperature (`logit_scale`) learns in every mode.

Known cost (bench/bench_train_speed.py): with an XLM-R text tower the 250k x 768 token embedding
table is two thirds of the text weights, and AdamW updates it densely every step, so on CPU the
image-locked mode is only about 1.3x faster than both towers. Freezing that table would be the
next speed-up; it is not offered yet.

The loop evaluates before training (zero-shot) and after every epoch, keeps the best epoch by
eval mRR (not the last), stops early after `patience` epochs without improvement, checks for a
cancel before every step, and saves a resumable checkpoint every `checkpoint_every_steps` steps,
at every epoch end and when cancelled. A loss that is NaN or infinite stops the run.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mclip_gui.core import evaluation
from mclip_gui.core.errors import JobCancelled, TrainingError
from mclip_gui.core.jobs import CancelToken
from mclip_gui.core.library import Library
from mclip_gui.core.metrics import metric_names
from mclip_gui.core.training.config import TrainSettings
from mclip_gui.core.training.data import CaptionItem, decode_images, eval_set, snapshot, train_items

log = logging.getLogger(__name__)

EventCallback = Callable[[dict[str, Any]], None]
Rows = Sequence[int] | np.ndarray  # item rows of one batch
CHECKPOINT = "checkpoint.pt"
STATE = "state.json"
BEST = "best"
CPU_BATCH_SIZE = 32
MAX_LOGIT_SCALE = math.log(100)


def no_events(_: dict[str, Any]) -> None:
    """An event callback that ignores every event."""


@dataclass
class RunState:
    """Where a run stands; saved beside the checkpoint so a run can be resumed."""

    mode: str = ""
    batch_size: int = 0
    epoch: int = 0  # epochs completed
    step: int = 0  # steps completed in the current epoch
    global_step: int = 0
    total_steps: int = 0
    best_epoch: int = 0
    best_mrr: float = -1.0
    bad_epochs: int = 0
    zero_shot: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per epoch
    caption_ids: list[int] = field(default_factory=list)
    stopped_early: bool = False
    skipped: list[list[str]] = field(default_factory=list)  # [path, reason]

    def save(self, folder: Path) -> None:
        tmp = folder / (STATE + ".tmp")
        tmp.write_text(json.dumps(self.__dict__), encoding="utf-8")
        os.replace(tmp, folder / STATE)

    @classmethod
    def load(cls, folder: Path) -> RunState:
        return cls(**json.loads((folder / STATE).read_text(encoding="utf-8")))


@dataclass
class TrainOutcome:
    """What a finished run produced. `best_folder` holds the best epoch's model."""

    state: RunState
    best_folder: Path
    image_fingerprint: str
    data: dict[str, Any]
    seconds: float
    samples_per_s: float

    @property
    def best_metrics(self) -> dict[str, float]:
        return dict(self.state.history[self.state.best_epoch - 1]["metrics"])

    @property
    def improved(self) -> bool:
        """The best epoch beats the zero-shot model on eval mRR."""
        return self.state.best_mrr > self.state.zero_shot.get("mRR", -1.0)


def contrastive_loss(loss_fn: Any, image: Any, text: Any, logit_scale: Any) -> Any:
    """open_clip's symmetric CLIP loss with the learned temperature."""
    return loss_fn(image, text, logit_scale.exp())


def tower_of(parameter_name: str) -> str:
    """`image`, `text` or `scale`: which part of a CLIP model a parameter belongs to."""
    if parameter_name.startswith("visual."):
        return "image"
    if parameter_name in ("logit_scale", "logit_bias"):
        return "scale"
    return "text"


def freeze_for_mode(model: Any, mode: str) -> int:
    """Freeze the locked tower's parameters; returns how many parameters will learn."""
    locked = {"image_locked": "image", "text_locked": "text"}.get(mode)
    trainable = 0
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(tower_of(name) != locked)
        trainable += parameter.numel() if parameter.requires_grad else 0
    return trainable


def make_optimizer(model: Any, settings: TrainSettings) -> Any:
    """AdamW; no weight decay on biases, norms, embeddings and the logit scale (as open_clip)."""
    import torch

    decay: list[Any] = []
    no_decay: list[Any] = []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        exempt = parameter.ndim < 2 or "embedding" in name or "logit_scale" in name
        (no_decay if exempt else decay).append(parameter)
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": settings.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=settings.learning_rate,
        betas=(settings.beta1, settings.beta2),
        eps=settings.eps,
    )


def make_scheduler(optimizer: Any, total_steps: int, warmup_fraction: float) -> Any:
    """Linear warm-up over a share of the steps, then cosine decay to 0."""
    import torch

    warmup = int(total_steps * warmup_fraction)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Item rows of each step of an epoch; the order depends only on the seed and the epoch.

    A last batch of one caption is dropped: the contrastive loss needs two.
    """
    order = np.random.default_rng([seed, epoch]).permutation(n)
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    return [b for b in batches if len(b) >= 2]


class Trainer:
    """One fine-tuning run in `run_dir`; `run()` returns the outcome or raises.

    Raises JobCancelled (after saving a checkpoint) or TrainingError (no data, loss not finite).
    """

    def __init__(
        self,
        library: Library,
        run_dir: Path,
        spec: str,
        settings: TrainSettings,
        on_event: EventCallback = no_events,
        cancel: CancelToken | None = None,
        loaded: Any = None,
    ):
        """`loaded`: the model of `spec` when the caller has it loaded already."""
        self.library = library
        self.loaded = loaded
        self.run_dir = Path(run_dir)
        self.spec = spec
        self.settings = settings
        self.emit = on_event
        self.cancel = cancel or CancelToken()
        self.state = RunState()
        self.workers = settings.workers or max(2, min(8, os.cpu_count() or 2))

    # -- set-up ----------------------------------------------------------------------------
    def run(self, resume: bool = False) -> TrainOutcome:
        started = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.loaded is None:
            from mclip_gui.core.modelspec import load_model

            self._status(f"loading {self.spec}")
            self.loaded = load_model(self.spec, self.settings.device, self.library)
        self.model, self.device = self.loaded.model, self.loaded.device
        self.settings = self.settings.with_model_defaults(self.loaded.train_defaults)
        resuming = resume and (self.run_dir / CHECKPOINT).exists()
        if resuming:
            self.state = RunState.load(self.run_dir)
        mode = self.state.mode or self.settings.resolved_mode(self.device.type)
        self.state.mode = mode
        self.items = self._items(resuming)
        trainable = freeze_for_mode(self.model, mode)
        log.info("mode %s: %d trainable parameters, %d captions", mode, trainable, len(self.items))
        self._prepare_eval()
        self._prepare_caches()
        self.state.batch_size = self.state.batch_size or self._batch_size()
        steps = len(epoch_batches(len(self.items), self.state.batch_size, 0, 0))
        if steps == 0:
            raise TrainingError("at least two usable training captions are needed to fine-tune")
        self.steps_per_epoch = steps
        self.state.total_steps = steps * self.settings.epochs
        self.optimizer = make_optimizer(self.model, self.settings)
        self.scheduler = make_scheduler(
            self.optimizer, self.state.total_steps, self.settings.warmup_fraction
        )
        self.scaler, self.amp_dtype = self._amp()
        self.loss_fn = self._loss_fn()
        if resuming:
            self._load_checkpoint()
        else:
            self._zero_shot()
        self._samples, self._train_seconds = 0, 0.0
        self._train()
        return TrainOutcome(
            self.state,
            self.run_dir / BEST,
            self.loaded.fingerprint,
            snapshot(self.items),
            time.monotonic() - started,
            self._samples / self._train_seconds if self._train_seconds else 0.0,
        )

    def _status(self, message: str) -> None:
        log.info("%s", message)
        self.emit({"kind": "status", "message": message})

    def _items(self, resuming: bool) -> list[CaptionItem]:
        items = train_items(self.library, self.settings.max_train_captions, self.settings.seed)
        if resuming and self.state.caption_ids:
            # The same data as before the interruption, even if captions changed since.
            wanted = set(self.state.caption_ids)
            items = [item for item in items if item.caption_id in wanted]
        self.state.caption_ids = [item.caption_id for item in items]
        return items

    def _loss_fn(self) -> Any:
        from open_clip import ClipLoss

        return ClipLoss()

    def _amp(self) -> tuple[Any, Any]:
        """(GradScaler or None, autocast dtype or None): mixed precision on CUDA only."""
        import torch

        if self.device.type != "cuda" or not self.settings.mixed_precision:
            return None, None
        if torch.cuda.is_bf16_supported():
            return None, torch.bfloat16
        return torch.amp.GradScaler("cuda"), torch.float16

    def _autocast(self) -> Any:
        import contextlib

        import torch

        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=self.amp_dtype)

    def _batch_size(self) -> int:
        """The setting, or on GPU the largest power of two a training step fits, else 32."""
        if self.settings.batch_size:
            return self.settings.batch_size
        if self.device.type != "cuda":
            return min(CPU_BATCH_SIZE, max(2, len(self.items)))
        return self._probe_batch_size()

    def _probe_batch_size(self) -> int:
        """Halve from 512 until a step fits. Known shortcoming: written for CUDA but not yet
        run on a GPU (no GPU was available); a probe that fits can still fail later on long
        captions, which then stops the run with an out-of-memory error."""
        import torch

        size = 512
        while size > 2:
            rows = np.arange(size) % len(self.items)
            try:
                self.model.zero_grad(set_to_none=True)
                with self._autocast():
                    loss = self._loss(rows)
                loss.backward()
                self.model.zero_grad(set_to_none=True)
                log.info("batch size %d fits the GPU", size)
                return min(size, max(2, len(self.items)))
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                size //= 2
        return 2

    # -- data --------------------------------------------------------------------------------
    def _prepare_eval(self) -> None:
        self._status("reading the eval images")
        self.eval = evaluation.prepare(
            eval_set(self.library),
            self.loaded.preprocess,
            self.library.settings.max_image_pixels,
            self.workers,
            cancel=self.cancel,
        )
        self.state.skipped = [list(s) for s in self.eval.data.skipped]

    def _prepare_caches(self) -> None:
        """Embeddings of the locked tower, computed once (cached on disk for a resume)."""
        import torch

        self.image_cache = self.text_cache = None
        self.eval_images = self.eval_texts = None
        mode = self.state.mode
        cache_file = self.run_dir / f"cache-{mode}.pt"
        if mode == "image_locked":
            if cache_file.exists():
                cached = torch.load(cache_file, weights_only=True)
            else:
                cached = self._image_embeddings()
                torch.save(cached, cache_file)
            self.image_cache = cached["vectors"]
            by_id = {item.caption_id: item for item in self.items}
            # Rows of the cache, in item order; captions of unreadable images are dropped.
            self.items = [by_id[int(c)] for c in cached["caption_ids"].tolist()]
            self.state.caption_ids = [item.caption_id for item in self.items]
            self.eval_images = evaluation.embed_pixels(self.model, self.eval.pixels, self.device)
        elif mode == "text_locked":
            texts = [item.text for item in self.items]
            self._status(f"embedding {len(texts)} captions once (text tower locked)")
            self.text_cache = torch.from_numpy(
                evaluation.embed_texts(self.model, self.loaded.tokenizer, texts, self.device)
            )
            self.eval_texts = evaluation.embed_texts(
                self.model, self.loaded.tokenizer, self.eval.data.queries, self.device
            )

    def _image_embeddings(self) -> dict[str, Any]:
        """Image embeddings of the training items (image tower locked), skipping unreadable."""
        import torch

        paths = sorted({item.path for item in self.items})
        self._status(f"embedding {len(paths)} training images once (image tower locked)")
        vectors: dict[str, Any] = {}
        for start in range(0, len(paths), 512):
            self.cancel.check()
            chunk = paths[start : start + 512]
            pixels, failed = decode_images(
                chunk,
                self.loaded.preprocess,
                self.library.settings.max_image_pixels,
                self.workers,
            )
            emb = evaluation.embed_pixels(self.model, pixels, self.device)
            for row, path in enumerate(chunk):
                if row in failed:
                    self.state.skipped.append([path, failed[row]])
                else:
                    vectors[path] = torch.from_numpy(emb[row])
            self.emit(
                {"kind": "status", "message": f"embedded {start + len(chunk)} of {len(paths)}"}
            )
        kept = [item for item in self.items if item.path in vectors]
        if len(kept) < 2:
            raise TrainingError("fewer than two training images could be read")
        stacked = torch.stack([vectors[item.path] for item in kept])
        ids = torch.tensor([item.caption_id for item in kept], dtype=torch.long)
        return {"vectors": stacked, "caption_ids": ids}

    def _pixels(self, rows: Rows) -> tuple[Any, list[int]]:
        """Preprocessed images of `rows` and the rows whose image could be read."""
        from mclip_gui.core.embed import BatchDecoder

        decoder = BatchDecoder(self.loaded.preprocess, self.library.settings.max_image_pixels)
        decoded = decoder([(int(r), self.items[int(r)].path) for r in rows])
        for _, path, reason in decoded.failed:
            if [path, reason] not in self.state.skipped:
                log.warning("skipping %s: %s", path, reason)
                self.state.skipped.append([path, reason])
        return decoded.pixels, decoded.ids

    # -- steps -------------------------------------------------------------------------------
    def _loss(self, rows: Rows, pixels: Any = None) -> Any:
        """The contrastive loss of one batch of item rows."""
        mode = self.state.mode
        if mode == "image_locked":
            assert self.image_cache is not None
            image = self.image_cache[list(rows)].to(self.device)
        else:
            if pixels is None:
                pixels, rows = self._pixels(rows)
            image = self.model.encode_image(pixels.to(self.device), normalize=True)
        if mode == "text_locked":
            assert self.text_cache is not None
            text = self.text_cache[list(rows)].to(self.device)
        else:
            tokens = self.loaded.tokenizer([self.items[int(r)].text for r in rows])
            text = self.model.encode_text(tokens.to(self.device), normalize=True)
        return contrastive_loss(self.loss_fn, image, text, self.model.logit_scale)

    def _step(self, rows: Rows, pixels: Any) -> float:
        import torch

        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            loss = self._loss(rows, pixels)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise TrainingError(
                f"The loss became {value} at epoch {self.state.epoch + 1}, step "
                f"{self.state.step + 1}: training stopped and the previous model stays active. "
                "Try a lower learning rate."
            )
        params = [p for p in self.model.parameters() if p.requires_grad]
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.settings.grad_clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, self.settings.grad_clip_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        with torch.no_grad():
            self.model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
        return value

    def _prefetch(self, pool: ThreadPoolExecutor, rows: np.ndarray) -> Future[Any] | None:
        """Decode the next batch's images while this one trains (towers that see pixels)."""
        if self.state.mode == "image_locked":
            return None
        return pool.submit(self._pixels, rows)

    # -- epochs ------------------------------------------------------------------------------
    def _train(self) -> None:
        while self.state.epoch < self.settings.epochs and not self.state.stopped_early:
            self._run_epoch()
            try:
                self._end_epoch()
            except JobCancelled:
                # Cancelled while evaluating: the epoch's steps are done; a resume evaluates it.
                self._save_checkpoint()
                raise

    def _run_epoch(self) -> None:
        epoch = self.state.epoch
        batches = epoch_batches(len(self.items), self.state.batch_size, self.settings.seed, epoch)
        losses: list[float] = []
        with ThreadPoolExecutor(1, thread_name_prefix="train-decode") as pool:
            first = self.state.step
            ahead = self._prefetch(pool, batches[first]) if first < len(batches) else None
            while self.state.step < len(batches):
                if self.cancel.cancelled:
                    self._save_checkpoint()
                    raise JobCancelled("training cancelled")
                # Time includes waiting for decoded images: samples/s is what the user gets.
                started = time.monotonic()
                rows = batches[self.state.step]
                pixels = None
                if ahead is not None:
                    pixels, kept = ahead.result()
                    rows = np.asarray(kept)
                nxt = self.state.step + 1
                ahead = self._prefetch(pool, batches[nxt]) if nxt < len(batches) else None
                if len(rows) < 2:
                    self.state.step += 1
                    continue
                losses.append(self._step(rows, pixels))
                self._train_seconds += time.monotonic() - started
                self._samples += len(rows)
                self.state.step += 1
                self.state.global_step += 1
                self._report_step(losses[-1], len(batches))
                every = self.settings.checkpoint_every_steps
                if every and self.state.global_step % every == 0:
                    self._save_checkpoint()
        self._epoch_loss = float(np.mean(losses)) if losses else float("nan")

    def _report_step(self, loss: float, steps: int) -> None:
        rate = self._samples / self._train_seconds if self._train_seconds else 0.0
        left = self.state.total_steps - self.state.global_step
        eta = left * self.state.batch_size / rate if rate else None
        self.emit(
            {
                "kind": "step",
                "epoch": self.state.epoch + 1,
                "epochs": self.settings.epochs,
                "step": self.state.step,
                "steps": steps,
                "global_step": self.state.global_step,
                "total_steps": self.state.total_steps,
                "loss": loss,
                "lr": float(self.optimizer.param_groups[0]["lr"]),
                "samples_per_s": rate,
                "eta_s": eta,
            }
        )

    def _evaluate(self) -> dict[str, float]:
        """Eval metrics now; the locked tower's side comes from the cache."""
        k, data, cancel = self.settings.eval_top_k, self.eval.data, self.cancel
        was_training = self.model.training
        self.model.eval()
        try:
            if self.eval_images is not None:
                texts = evaluation.embed_texts(
                    self.model, self.loaded.tokenizer, data.queries, self.device, cancel
                )
                return evaluation.score(texts, self.eval_images, data, k)
            if self.eval_texts is not None:
                images = evaluation.embed_pixels(self.model, self.eval.pixels, self.device, cancel)
                return evaluation.score(self.eval_texts, images, data, k)
            return evaluation.evaluate_open_clip(
                self.model, self.loaded.tokenizer, self.eval, self.device, k, cancel
            )
        finally:
            self.model.train(was_training)

    def _zero_shot(self) -> None:
        self._status("evaluating the model before training (zero-shot)")
        self.state.zero_shot = self._evaluate()
        self.emit({"kind": "eval", "epoch": 0, "metrics": self.state.zero_shot, "loss": None})

    def _end_epoch(self) -> None:
        self._status(f"evaluating epoch {self.state.epoch + 1}")
        metrics = self._evaluate()
        self.state.epoch += 1
        self.state.step = 0
        mrr = metrics["mRR"]
        improved = mrr > self.state.best_mrr
        if improved:
            self.state.best_mrr, self.state.best_epoch, self.state.bad_epochs = (
                mrr,
                self.state.epoch,
                0,
            )
            self._save_best()
        else:
            self.state.bad_epochs += 1
        patience = self.settings.patience
        self.state.stopped_early = bool(patience and self.state.bad_epochs >= patience)
        self.state.history.append(
            {"epoch": self.state.epoch, "loss": self._epoch_loss, "metrics": metrics}
        )
        self.emit(
            {
                "kind": "eval",
                "epoch": self.state.epoch,
                "metrics": metrics,
                "loss": self._epoch_loss,
                "best_epoch": self.state.best_epoch,
                "improved": improved,
                "stopped_early": self.state.stopped_early,
            }
        )
        log.info("epoch %d: loss %.4f, %s", self.state.epoch, self._epoch_loss, metrics)
        self._save_checkpoint()

    # -- saving ------------------------------------------------------------------------------
    def _save_best(self) -> None:
        from mclip_gui.core.modelspec import save_model_folder

        extra: dict[str, Any] = {}
        if self.loaded.tokenizer.prefix:
            extra["text_prefix"] = self.loaded.tokenizer.prefix
        if self.loaded.train_defaults:  # a fine-tuned starter trains on like the starter
            extra["train_defaults"] = self.loaded.train_defaults
        save_model_folder(
            self.model,
            self.loaded.model_cfg,
            self.run_dir / BEST,
            self.loaded.preprocess_cfg,
            extra,
        )

    def _save_checkpoint(self) -> None:
        """Model, optimizer, scheduler and run state; written atomically (temp file + rename)."""
        import torch

        payload = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
        }
        if self.scaler is not None:
            payload["scaler"] = self.scaler.state_dict()
        tmp = self.run_dir / (CHECKPOINT + ".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, self.run_dir / CHECKPOINT)
        self.state.save(self.run_dir)
        log.info("checkpoint saved at epoch %d step %d", self.state.epoch, self.state.step)

    def _load_checkpoint(self) -> None:
        import torch

        payload = torch.load(self.run_dir / CHECKPOINT, weights_only=True, map_location="cpu")
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        if self.scaler is not None and "scaler" in payload:
            self.scaler.load_state_dict(payload["scaler"])
        self._status(
            f"resumed at epoch {self.state.epoch + 1}, step {self.state.step} "
            f"(best so far: epoch {self.state.best_epoch})"
        )


def summary_metrics(outcome: TrainOutcome, k: int) -> dict[str, Any]:
    """What a model version records: zero-shot, every epoch, and the best epoch."""
    return {
        "k": k,
        "names": metric_names(k),
        "zero_shot": outcome.state.zero_shot,
        "epochs": outcome.state.history,
        "best_epoch": outcome.state.best_epoch,
        "best": outcome.best_metrics,
        "samples_per_s": outcome.samples_per_s,
        "seconds": outcome.seconds,
    }

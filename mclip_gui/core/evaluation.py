"""Text-to-image retrieval evaluation on the eval split, and the comparison table of models.

Each eval caption is a query, the eval images are the candidates, relevant are the images whose
caption equals the query (duplicate captions count). Metrics are in core.metrics. The table has
one row per metric and one column per model: a fine-tuned model version sits beside the
zero-shot model it was trained from, as in the published comparison.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mclip_gui.core.errors import ModelError
from mclip_gui.core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from mclip_gui.core.metrics import metric_names, retrieval_metrics
from mclip_gui.core.training.data import EvalSet, decode_images, eval_set

if TYPE_CHECKING:
    from mclip_gui.core.library import Library
    from mclip_gui.core.modelspec import LoadedModel

log = logging.getLogger(__name__)

TEXT_BATCH = 256
IMAGE_BATCH = 64


def autocast(device: Any, enabled: bool = True) -> Any:
    """fp16 autocast on CUDA; a no-op context elsewhere."""
    import contextlib

    import torch

    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def embed_texts(
    model: Any, tokenizer: Any, texts: Sequence[str], device: Any, cancel: CancelToken | None = None
) -> np.ndarray:
    """L2-normalised text embeddings of an open_clip model (evaluated without gradients)."""
    import torch

    out = []
    with torch.no_grad(), autocast(device):
        for start in range(0, len(texts), TEXT_BATCH):
            if cancel is not None:
                cancel.check()
            tokens = tokenizer(list(texts[start : start + TEXT_BATCH])).to(device)
            out.append(model.encode_text(tokens, normalize=True).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def embed_pixels(
    model: Any, pixels: Any, device: Any, cancel: CancelToken | None = None
) -> np.ndarray:
    """L2-normalised image embeddings of preprocessed pixels [n, 3, H, W]."""
    import torch

    out = []
    with torch.no_grad(), autocast(device):
        for start in range(0, len(pixels), IMAGE_BATCH):
            if cancel is not None:
                cancel.check()
            batch = pixels[start : start + IMAGE_BATCH].to(device)
            out.append(model.encode_image(batch, normalize=True).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def score(text_embeddings: np.ndarray, image_embeddings: np.ndarray, data: EvalSet, k: int) -> dict:
    """Metrics of ready embeddings (queries in data.items order, images in data.image_ids)."""
    scores = text_embeddings @ image_embeddings.T
    return retrieval_metrics(scores, data.relevance(), data.own(), k)


@dataclass
class PreparedEval:
    """An eval set with its images decoded once (for one preprocessing), reused per model."""

    data: EvalSet
    pixels: Any


def prepare(
    data: EvalSet,
    preprocess: Any,
    max_pixels: int,
    workers: int,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> PreparedEval:
    """Decode the eval images; unreadable ones are dropped, with their queries, and named."""
    pixels, failed_rows = decode_images(
        data.image_paths, preprocess, max_pixels, workers, progress, cancel, "reading eval images"
    )
    if failed_rows:
        failed = {data.image_ids[row]: reason for row, reason in failed_rows.items()}
        keep = [row for row in range(len(data.image_ids)) if row not in failed_rows]
        data = data.without_images(failed)
        pixels = pixels[keep]
    return PreparedEval(data, pixels)


def evaluate_open_clip(
    model: Any,
    tokenizer: Any,
    prepared: PreparedEval,
    device: Any,
    k: int,
    cancel: CancelToken | None = None,
) -> dict[str, float]:
    """Metrics of an open_clip model on a prepared eval set (the model is put in eval mode)."""
    was_training = model.training
    model.eval()
    try:
        texts = embed_texts(model, tokenizer, prepared.data.queries, device, cancel)
        images = embed_pixels(model, prepared.pixels, device, cancel)
    finally:
        model.train(was_training)
    return score(texts, images, prepared.data, k)


# -- comparing models -----------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One column of the comparison: a model and whether it is zero-shot or fine-tuned."""

    spec: str
    label: str
    kind: str  # zero-shot or fine-tuned


@dataclass
class Comparison:
    """Metrics (rows) of several models (columns) on one eval set."""

    k: int
    columns: list[Column] = field(default_factory=list)
    results: list[dict[str, float]] = field(default_factory=list)
    queries: int = 0
    images: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def metric_names(self) -> list[str]:
        return metric_names(self.k)

    def header(self) -> list[str]:
        return ["Metric", *[f"{c.label} ({c.kind})" for c in self.columns]]

    def rows(self) -> list[list[str]]:
        return [
            [name, *[f"{result[name]:.4f}" for result in self.results]]
            for name in self.metric_names
        ]

    def to_markdown(self) -> str:
        header = self.header()
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows()]
        note = f"\n\n{self.queries} queries, {self.images} eval images, top {self.k}."
        return "\n".join(lines) + note + "\n"

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header())
        writer.writerows(self.rows())
        return buffer.getvalue()

    def to_json(self) -> str:
        return json.dumps(
            {
                "k": self.k,
                "queries": self.queries,
                "images": self.images,
                "columns": [
                    {"model": c.spec, "label": c.label, "kind": c.kind, "metrics": r, "seconds": s}
                    for c, r, s in zip(self.columns, self.results, self.seconds, strict=True)
                ],
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            },
            indent=2,
            ensure_ascii=False,
        )


def comparison_columns(library: Library, specs: Sequence[str]) -> list[Column]:
    """Columns for `specs`: each fine-tuned version next to the model it was trained from.

    One model named (or none: the active one) also brings its newest fine-tuned version, so
    that `evaluate` alone compares before and after. A model appears once, however often it is
    reached, labelled by what it is: a version trained here is "fine-tuned"; a base model, or
    a registered model that was not trained here (the starter), is "zero-shot".
    """
    from mclip_gui.core.training.versions import find_version, newest_version_of

    named = list(specs) or [library.settings.model]
    columns: list[Column] = []

    def add(spec: str) -> None:
        column = _column(library, spec)
        if all(c.spec != column.spec for c in columns):
            columns.append(column)

    for spec in named:
        version = find_version(library, spec.removeprefix("version:"))
        if spec.startswith("version:") and version is None:
            raise ModelError(f"no model version named {spec.removeprefix('version:')!r}")
        if version is not None and _loadable(version.base_model):
            add(version.base_model)  # the "before" of this version
        add(f"version:{version.name}" if version is not None else spec)
        if len(named) == 1:
            newest = newest_version_of(library, columns[-1].spec)
            if newest is not None:
                add(f"version:{newest.name}")
    return columns


def _column(library: Library, spec: str) -> Column:
    from mclip_gui.core.training.versions import find_version

    version = find_version(library, spec.removeprefix("version:"))
    if version is None:
        return Column(spec, short_label(spec), "zero-shot")
    trained_here = _loadable(version.base_model)
    return Column(
        f"version:{version.name}", version.name, "fine-tuned" if trained_here else "zero-shot"
    )


def _loadable(spec: str) -> bool:
    from mclip_gui.core.modelspec import parse_model_spec

    try:
        parse_model_spec(spec)
    except ModelError:
        return False
    return True


def short_label(spec: str) -> str:
    """A readable column label: the architecture, or a file or folder name."""
    from pathlib import Path

    if "::" in spec:
        return spec.split("::", 1)[0]
    return Path(spec).stem if ("/" in spec or spec.endswith(".json")) else spec


def evaluate_models(
    library: Library,
    columns: Sequence[Column],
    k: int = 20,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    device: str | None = None,
) -> Comparison:
    """Evaluate each column's model on the eval split; models are loaded one at a time."""
    from mclip_gui.core.modelspec import load_model

    cancel = cancel or CancelToken()
    data = eval_set(library)
    result = Comparison(k, queries=len(data.items), images=len(data.image_ids))
    prepared: dict[str, PreparedEval] = {}
    workers = library.settings.embed_workers or 4
    for n, column in enumerate(columns):
        cancel.check()
        progress(Progress(n, len(columns), f"evaluating {column.label} ({column.kind})"))
        started = time.monotonic()
        loaded = load_model(column.spec, device or library.settings.device, library)
        key = json.dumps(loaded.preprocess_cfg, sort_keys=True, default=str)
        if key not in prepared:
            prepared[key] = prepare(
                data, loaded.preprocess, library.settings.max_image_pixels, workers, cancel=cancel
            )
        metrics = evaluate_loaded(loaded, prepared[key], k)
        result.columns.append(column)
        result.results.append(metrics)
        result.seconds.append(time.monotonic() - started)
        log.info("evaluated %s: %s", column.spec, metrics)
        del loaded
    first = next(iter(prepared.values()), None)
    if first is not None:
        result.queries, result.images = len(first.data.items), len(first.data.image_ids)
        result.skipped = first.data.skipped
    progress(Progress(len(columns), len(columns), "evaluation done"))
    return result


def evaluate_loaded(loaded: LoadedModel, prepared: PreparedEval, k: int) -> dict[str, float]:
    """Metrics of a loaded model on a prepared eval set."""
    queries = prepared.data.queries
    if not queries:
        return dict.fromkeys(metric_names(k), 0.0)
    texts = np.concatenate(
        [
            loaded.encode_texts(queries[i : i + TEXT_BATCH])
            for i in range(0, len(queries), TEXT_BATCH)
        ]
    )
    images = np.concatenate(
        [
            loaded.encode_images(prepared.pixels[i : i + IMAGE_BATCH])
            for i in range(0, len(prepared.pixels), IMAGE_BATCH)
        ]
    )
    return score(texts, images, prepared.data, k)


# -- learning curve -------------------------------------------------------------------------
@dataclass
class LearningCurve:
    """Eval metrics after fine-tuning on growing subsets of the train split."""

    k: int
    model: str
    zero_shot: dict[str, float] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    results: list[dict[str, float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def to_csv(self) -> str:
        """One row per training size (0: zero-shot), one column per metric."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        names = metric_names(self.k)
        writer.writerow(["train_captions", *names])
        rows = [(0, self.zero_shot), *zip(self.sizes, self.results, strict=True)]
        for size, metrics in rows:
            if metrics:
                writer.writerow([size, *[f"{metrics[n]:.4f}" for n in names]])
        return buffer.getvalue()


def parse_sizes(text: str) -> list[int]:
    """`500,1000,2000` -> [500, 1000, 2000]; ValueError naming a bad entry."""
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 2:
            raise ValueError(f"training size {part!r} is not a whole number of at least 2")
        sizes.append(int(part))
    return sorted(set(sizes))


def learning_curve(
    library: Library,
    sizes: Sequence[int],
    model: str | None = None,
    settings: Any = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    on_point: Any = None,
    in_process: bool = False,
) -> LearningCurve:
    """Fine-tune `model` on each subset size (nested random subsets, same seed) and record the
    best epoch's eval metrics. Sizes beyond the available captions are clipped to all of them.
    No model versions are kept. `on_point(curve)` is called after each size."""
    from mclip_gui.core.training.child import finetune
    from mclip_gui.core.training.config import TrainSettings
    from mclip_gui.core.training.data import train_items

    settings = (settings or TrainSettings()).updated(activate=False)
    available = len(train_items(library))
    clipped = sorted({min(size, available) for size in sizes})
    curve = LearningCurve(settings.eval_top_k, model or library.settings.model)
    for n, size in enumerate(clipped):
        progress(Progress(n, len(clipped), f"training on {size} captions"))
        started = time.monotonic()
        result = finetune(
            library,
            curve.model,
            settings.updated(max_train_captions=size),
            cancel=cancel,
            in_process=in_process,
            keep_version=False,
        )
        curve.zero_shot = curve.zero_shot or result.zero_shot
        curve.sizes.append(size)
        curve.results.append(result.best)
        curve.seconds.append(time.monotonic() - started)
        if on_point is not None:
            on_point(curve)
    return curve

"""Typed settings of one library, stored as JSON in its data folder.

Every field has a default and limits; a stored value that is missing, of the wrong type or out of
its limits falls back to the default with a warning, so a hand-edited file never stops the app.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_MODEL = "xlm-roberta-base-ViT-B-32::laion5b_s13b_b90k"
ENGLISH_MODEL = "ViT-B-32::openai"


def limits(lo: float | None = None, hi: float | None = None, choices: tuple[str, ...] = ()) -> Any:
    """Field metadata: the allowed range or choices, checked by `check_value`."""
    return {"lo": lo, "hi": hi, "choices": choices}


@dataclass
class Settings:
    """Settings of one library; `Settings.load(path)` never raises for bad content."""

    # SQLAlchemy URL of the database; empty means the SQLite file in the data folder.
    database_url: str = ""
    # Images with more pixels than this are refused as decompression bombs.
    max_image_pixels: int = field(default=100_000_000, metadata=limits(1_000, 2_000_000_000))
    # Longest side of cached thumbnails, in pixels.
    thumbnail_size: int = field(default=192, metadata=limits(32, 1024))
    # The model used for search and captions' token preview (any model form, see core.modelspec).
    model: str = DEFAULT_MODEL
    # Device for models: auto (CUDA, then MPS, then CPU), cpu, cuda, mps.
    device: str = field(default="auto", metadata=limits(choices=("auto", "cpu", "cuda", "mps")))
    # Images per batch when embedding the library.
    embed_batch_size: int = field(default=32, metadata=limits(1, 4096))
    # Parallel workers that decode and preprocess images while the model runs (0: automatic).
    embed_workers: int = field(default=0, metadata=limits(0, 64))
    # Libraries with at most this many images are searched exactly instead of through HNSW
    # (exact search over 20,000 vectors takes a few milliseconds and is never wrong).
    exact_search_below: int = field(default=20_000, metadata=limits(0, 10_000_000))
    # HNSW graph degree; more is more accurate and larger.
    hnsw_m: int = field(default=32, metadata=limits(4, 128))
    # HNSW build-time candidate list size.
    hnsw_ef_construction: int = field(default=200, metadata=limits(10, 2000))
    # HNSW query-time candidate list size (at least top_k is used); 64 gave recall@20 0.9997
    # at 0.87 ms per query over 100,000 vectors (bench_hnsw.py).
    hnsw_ef_search: int = field(default=64, metadata=limits(10, 5000))
    # Results shown for a query.
    search_top_k: int = field(default=60, metadata=limits(1, 10_000))
    # Milliseconds to wait after the last keystroke before a live search starts.
    search_debounce_ms: int = field(default=150, metadata=limits(0, 5000))
    # Language of new captions: decides the rule set (de or en).
    caption_language: str = field(default="de", metadata=limits(choices=("de", "en")))
    # Language of the user interface: system follows the locale.
    ui_language: str = field(default="system", metadata=limits(choices=("system", "de", "en")))
    # Fewest words a caption must have.
    min_caption_words: int = field(default=6, metadata=limits(1, 100))
    # Verdicts each caption collects before the majority decides.
    verdicts_per_caption: int = field(default=1, metadata=limits(1, 15))
    # Allow validating one's own captions (for a person working alone).
    allow_self_review: bool = False
    # Seconds a served image or caption stays reserved for one annotator.
    claim_seconds: int = field(default=900, metadata=limits(10, 86_400))
    # One image in this many goes to the eval split (6: as 10,000 train / 2,000 eval).
    eval_one_in: int = field(default=6, metadata=limits(2, 1000))
    # Name of the annotator last active in this library.
    annotator: str = ""

    @classmethod
    def load(cls, path: Path) -> Settings:
        """Read settings from `path`; missing file or bad values give defaults, with a warning."""
        defaults = cls()
        if not path.exists():
            return defaults
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            log.warning("settings file %s unreadable (%s); using defaults", path, e)
            return defaults
        if not isinstance(raw, dict):
            log.warning("settings file %s is not an object; using defaults", path)
            return defaults
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            value = raw[f.name]
            problem = check_value(f, value, getattr(defaults, f.name))
            if problem:
                log.warning(
                    "setting %s=%r ignored: %s; using %r",
                    f.name,
                    value,
                    problem,
                    getattr(defaults, f.name),
                )
                continue
            values[f.name] = value
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            log.warning("unknown settings ignored: %s", ", ".join(sorted(unknown)))
        return cls(**values)

    def save(self, path: Path) -> None:
        """Write atomically (temporary file, then rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(dataclasses.asdict(self), indent=2, ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)

    def updated(self, **changes: Any) -> Settings:
        """A copy with `changes` applied; raises ValueError naming a bad value."""
        for name, value in changes.items():
            f = next((f for f in fields(self) if f.name == name), None)
            if f is None:
                raise ValueError(f"unknown setting {name!r}")
            problem = check_value(f, value, getattr(self, name))
            if problem:
                raise ValueError(f"setting {name}={value!r}: {problem}")
        return dataclasses.replace(self, **changes)


def check_value(f: dataclasses.Field[Any], value: Any, default: Any) -> str | None:
    """Why `value` is not allowed for field `f` (of type and limits as `default`), or None."""
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not type(default):
        return f"expected {type(default).__name__}"
    lim = f.metadata
    if not lim:
        return None
    if lim["choices"] and value not in lim["choices"]:
        return "expected one of " + ", ".join(lim["choices"])
    if lim["lo"] is not None and value < lim["lo"]:
        return f"below {lim['lo']}"
    if lim["hi"] is not None and value > lim["hi"]:
        return f"above {lim['hi']}"
    return None


@functools.cache
def field_comments(cls: type) -> dict[str, str]:
    """The comment lines above each field of dataclass `cls`: its help text for the user."""
    source = inspect.getsource(cls).splitlines()
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in source:
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("# "))
            continue
        name = stripped.split(":", 1)[0].strip()
        if pending and ":" in stripped and name.isidentifier():
            comments[name] = " ".join(pending)
        pending = []
    return comments

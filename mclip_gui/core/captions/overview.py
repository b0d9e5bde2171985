"""Caption progress: images per state, work per annotator, and agreement between validators.

Each usable image (readable, not a duplicate) is counted once, in the first state that applies:
image problem, accepted (has an accepted caption), awaiting validation (has a pending
caption), rejected (only rejected captions: it is back in the caption queue), no caption.
Agreement is Krippendorff's alpha (nominal) over captions with two or more verdicts, from the
`krippendorff` package; it is None while there are too few such captions to compute it.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mclip_gui.core.captions.service import VERDICTS
from mclip_gui.core.captions.split import eval_one_in, split_counts
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Annotator, Caption, Image, Verdict

log = logging.getLogger(__name__)

IMAGE_STATES = ("no_caption", "awaiting_validation", "accepted", "rejected", "image_problem")


@dataclass
class AnnotatorStats:
    """One annotator's captions by state and verdicts given."""

    name: str
    written: int = 0
    accepted: int = 0
    rejected: int = 0
    pending: int = 0
    verdicts: int = 0


@dataclass
class Overview:
    """Counts for the overview screen and `mclip info`-like reports."""

    images: dict[str, int] = field(default_factory=dict)
    captions: dict[str, int] = field(default_factory=dict)
    annotators: list[AnnotatorStats] = field(default_factory=list)
    agreement_alpha: float | None = None
    agreement_captions: int = 0  # captions with 2+ verdicts
    percent_agreement: float | None = None
    splits: dict[str, int] = field(default_factory=dict)  # train, eval, unassigned
    eval_one_in: int = 6


def compute_overview(library: Library) -> Overview:
    """Read the counts; a few queries, fine for hundreds of thousands of captions."""
    with library.store.session() as s:
        images = _image_states(s)
        by_state = select(Caption.state, func.count()).group_by(Caption.state)
        captions = {state: int(count) for state, count in s.execute(by_state)}
        annotators = _annotator_stats(s)
        ratings = _ratings(s)
    alpha, agreement = agreement_of(ratings)
    splits = {str(name or "unassigned"): count for name, count in split_counts(library).items()}
    return Overview(
        splits=splits,
        eval_one_in=eval_one_in(library),
        images=images,
        captions=captions,
        annotators=annotators,
        agreement_alpha=alpha,
        agreement_captions=len(ratings),
        percent_agreement=agreement,
    )


def _image_states(s: Session) -> dict[str, int]:
    states: dict[int, set[str]] = defaultdict(set)
    for image_id, state in s.execute(select(Caption.image_id, Caption.state).distinct()):
        states[image_id].add(state)
    counts = dict.fromkeys(IMAGE_STATES, 0)
    usable = select(Image.id, Image.problem).where(
        Image.state == "ok", Image.duplicate_of.is_(None)
    )
    for image_id, problem in s.execute(usable):
        counts[_image_state(bool(problem), states.get(image_id, set()))] += 1
    return counts


def _image_state(problem: bool, caption_states: set[str]) -> str:
    if problem:
        return "image_problem"
    if "accepted" in caption_states:
        return "accepted"
    if "pending" in caption_states:
        return "awaiting_validation"
    if "rejected" in caption_states:
        return "rejected"
    return "no_caption"


def _annotator_stats(s: Session) -> list[AnnotatorStats]:
    stats = {name: AnnotatorStats(name) for name in s.scalars(select(Annotator.name))}
    written = s.execute(
        select(Annotator.name, Caption.state, func.count())
        .join(Caption, Caption.author_id == Annotator.id)
        .group_by(Annotator.name, Caption.state)
    )
    for name, state, count in written:
        row = stats[name]
        if state != "withdrawn":
            row.written += count
        if state in ("accepted", "rejected", "pending"):
            setattr(row, state, getattr(row, state) + count)
    given = s.execute(
        select(Annotator.name, func.count())
        .join(Verdict, Verdict.validator_id == Annotator.id)
        .group_by(Annotator.name)
    )
    for name, count in given:
        stats[name].verdicts = count
    return sorted(stats.values(), key=lambda a: a.name.casefold())


def _ratings(s: Session) -> dict[int, dict[int, str]]:
    """caption id -> {validator id: verdict}, for captions with two or more verdicts."""
    by_caption: dict[int, dict[int, str]] = defaultdict(dict)
    rows = s.execute(select(Verdict.caption_id, Verdict.validator_id, Verdict.verdict))
    for caption_id, validator_id, verdict in rows:
        by_caption[caption_id][validator_id] = verdict
    return {c: v for c, v in by_caption.items() if len(v) >= 2}


def agreement_of(ratings: dict[int, dict[int, str]]) -> tuple[float | None, float | None]:
    """(Krippendorff's alpha, share of caption-pairs of verdicts that agree), None when unknown."""
    if not ratings:
        return None, None
    import krippendorff
    import numpy as np

    validators = sorted({v for verdicts in ratings.values() for v in verdicts})
    codes = {name: i for i, name in enumerate(VERDICTS)}
    data = np.full((len(validators), len(ratings)), np.nan)
    row_of = {v: i for i, v in enumerate(validators)}
    for column, verdicts in enumerate(ratings.values()):
        for validator, verdict in verdicts.items():
            data[row_of[validator], column] = codes[verdict]
    alpha: float | None
    if len({v for verdicts in ratings.values() for v in verdicts.values()}) < 2:
        alpha = 1.0  # every verdict is the same: perfect agreement, alpha is undefined (0/0)
    else:
        alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
        if math.isnan(alpha):
            alpha = None
    return alpha, _percent_agreement(ratings)


def _percent_agreement(ratings: dict[int, dict[int, str]]) -> float:
    agree = pairs = 0
    for verdicts in ratings.values():
        counts = Counter(verdicts.values())
        n = sum(counts.values())
        pairs += n * (n - 1) // 2
        agree += sum(c * (c - 1) // 2 for c in counts.values())
    return agree / pairs if pairs else 0.0

"""Caption and validation queues, claims, drafts, verdicts and the majority decision.

One `CaptionService` serves one annotator in one running app instance (`session_id`). Every
submit, verdict, skip and undo is one committed transaction, so killing the app loses nothing
that was confirmed. Two instances on one database never get the same image or caption at the
same time: serving an item first claims it with an INSERT into `claims`, which fails on the
primary key when another session holds it; a claim older than settings.claim_seconds may be
replaced.

Majority: a caption is decided once it has at least settings.verdicts_per_caption verdicts and
one verdict is more frequent than each other one. A tie (two verdicts share the highest count)
waits for one more verdict; the caption stays in the validation queue until the tie is broken.
- appropriate: the caption is accepted (training data).
- inappropriate: the caption is rejected and the image goes back to the caption queue.
- image_failed: the caption's state becomes `problem`, the image is flagged (Image.problem)
  and leaves both queues.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mclip_gui.core.captions.rules import check_caption
from mclip_gui.core.errors import CaptionError
from mclip_gui.core.library import Library
from mclip_gui.core.schema import Annotator, Caption, Claim, Draft, Image, Verdict

log = logging.getLogger(__name__)

VERDICTS = ("appropriate", "inappropriate", "image_failed")
OUTCOME_STATE = {"appropriate": "accepted", "inappropriate": "rejected", "image_failed": "problem"}
CAPTION_CLAIM, VALIDATE_CLAIM = "caption", "validate"


class _Stale(Exception):
    """Raised inside a claim transaction to roll it back: the item needs no more work."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ImageItem:
    """An image served for captioning, with the draft to restore and one's own caption on it."""

    image_id: int
    path: str
    draft: str = ""
    own_caption_id: int | None = None
    own_caption: str = ""


@dataclass(frozen=True)
class ValidationItem:
    """A caption served for a verdict."""

    caption_id: int
    image_id: int
    path: str
    text: str
    language: str
    author: str
    verdicts_so_far: int


@dataclass(frozen=True)
class CaptionInfo:
    """One caption of an image, as the library's detail pane shows it."""

    caption_id: int
    text: str
    language: str
    state: str
    author: str
    source: str
    created_at: datetime
    rule_flags: list[str]
    verdicts: dict[str, int]


def decide(verdicts: Sequence[str], needed: int) -> str | None:
    """The winning verdict once `needed` verdicts are in and one leads; None while waiting."""
    if len(verdicts) < needed:
        return None
    ranked = Counter(verdicts).most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None  # a tie waits for one more verdict
    return ranked[0][0]


def ensure_annotator(library: Library, name: str) -> int:
    """The id of the annotator `name`, created when new. Names are trimmed and must not be empty."""
    name = " ".join(name.split())
    if not name:
        raise CaptionError("An annotator needs a name.")
    if len(name) > 200:
        raise CaptionError("An annotator name may have at most 200 characters.")
    with library.store.session() as s:
        found = s.scalar(select(Annotator.id).where(Annotator.name == name))
        if found is not None:
            return int(found)
        row = Annotator(name=name)
        s.add(row)
        s.flush()
        log.info("annotator %s added", name)
        return int(row.id)


def annotator_names(library: Library) -> list[str]:
    """All annotators, by name."""
    with library.store.session() as s:
        return list(s.scalars(select(Annotator.name).order_by(Annotator.name)))


def captions_for_image(library: Library, image_id: int) -> list[CaptionInfo]:
    """Every caption of an image, oldest first, with author, state, rule flags and verdicts."""
    with library.store.session() as s:
        rows = s.execute(
            select(Caption, Annotator.name)
            .outerjoin(Annotator, Annotator.id == Caption.author_id)
            .where(Caption.image_id == image_id)
            .order_by(Caption.id)
        ).all()
        return [
            CaptionInfo(
                caption_id=c.id,
                text=c.text,
                language=c.language,
                state=c.state,
                author=author or "",
                source=c.source,
                created_at=c.created_at,
                rule_flags=json.loads(c.rule_flags) if c.rule_flags else [],
                verdicts=dict(Counter(v.verdict for v in c.verdicts)),
            )
            for c, author in rows
        ]


class CaptionService:
    """The caption and validate screens' work for one annotator in one app instance."""

    def __init__(self, library: Library, annotator_name: str, session_id: str | None = None):
        self.library = library
        self.annotator_name = " ".join(annotator_name.split())
        self.annotator_id = ensure_annotator(library, annotator_name)
        self.session_id = session_id or uuid.uuid4().hex
        self._history: list[int] = []  # images served for captioning, in order
        self._cursor = -1  # position of the current image in _history
        self._skipped_images: list[int] = []
        self._skipped_captions: list[int] = []
        self.current_image: int | None = None
        self.current_caption: int | None = None

    # -- claims --------------------------------------------------------------------------
    def _claim(self, kind: str, target_id: int, only_open: bool = True) -> bool:
        """Reserve an item for this session.

        False when another session holds a live claim or, with `only_open`, when the item no
        longer needs work (going back to one's own captioned image does not need that).
        """
        now = _now()
        expires = now + timedelta(seconds=self.library.settings.claim_seconds)
        try:
            with self.library.store.session() as s:
                s.execute(
                    delete(Claim).where(
                        Claim.kind == kind,
                        Claim.target_id == target_id,
                        or_(Claim.expires_at <= now, Claim.session == self.session_id),
                    )
                )
                s.execute(
                    insert(Claim).values(
                        kind=kind,
                        target_id=target_id,
                        annotator_id=self.annotator_id,
                        session=self.session_id,
                        expires_at=expires,
                    )
                )
                # Checked after the write above, under SQLite's write lock: the candidate list
                # was read earlier and another session may have finished the item since.
                if only_open and not self._still_open(s, kind, target_id):
                    raise _Stale
        except (IntegrityError, _Stale):
            return False
        return True

    def _still_open(self, s: Session, kind: str, target_id: int) -> bool:
        if kind == CAPTION_CLAIM:
            query = self._caption_queue().where(Image.id == target_id)
        else:
            query = self._validation_queue().where(Caption.id == target_id)
        return s.scalar(query.limit(1)) is not None

    def _release(self, kind: str, target_id: int | None) -> None:
        if target_id is None:
            return
        with self.library.store.session() as s:
            s.execute(
                delete(Claim).where(
                    Claim.kind == kind,
                    Claim.target_id == target_id,
                    Claim.session == self.session_id,
                )
            )

    def _holder(self, s: Session, kind: str, target_id: int) -> str | None:
        """Name of the annotator whose other session holds a live claim on the item, if any."""
        row = s.execute(
            select(Annotator.name)
            .join(Claim, Claim.annotator_id == Annotator.id)
            .where(
                Claim.kind == kind,
                Claim.target_id == target_id,
                Claim.session != self.session_id,
                Claim.expires_at > _now(),
            )
        ).first()
        return None if row is None else str(row[0])

    def close(self) -> None:
        """Give back every claim of this session (the app is closing or switching annotator)."""
        with self.library.store.session() as s:
            s.execute(delete(Claim).where(Claim.session == self.session_id))

    # -- caption queue -------------------------------------------------------------------
    def _caption_queue(self) -> Select[Any]:
        """Images that need a caption in the caption language and nobody else holds."""
        language = self.library.settings.caption_language
        has_caption = exists().where(
            Caption.image_id == Image.id,
            Caption.language == language,
            Caption.state.in_(("pending", "accepted")),
        )
        claimed = exists().where(
            Claim.kind == CAPTION_CLAIM,
            Claim.target_id == Image.id,
            Claim.session != self.session_id,
            Claim.expires_at > _now(),
        )
        return (
            select(Image.id)
            .where(
                Image.state == "ok",
                Image.problem.is_(False),
                Image.duplicate_of.is_(None),
                ~has_caption,
                ~claimed,
            )
            .order_by(Image.id)
        )

    def _caption_candidates(self, s: Session, limit: int) -> list[int]:
        query = self._caption_queue()
        fresh = list(s.scalars(query.where(Image.id.not_in(self._skipped_images)).limit(limit)))
        if fresh:
            return fresh
        # Only skipped images remain: serve them again, in the order they were skipped.
        eligible = set(s.scalars(query.where(Image.id.in_(self._skipped_images))))
        return [i for i in self._skipped_images if i in eligible]

    def next_image(self) -> ImageItem | None:
        """Claim and return the next image that needs a caption; None when the queue is empty."""
        for _attempt in range(5):
            with self.library.store.session() as s:
                candidates = self._caption_candidates(s, limit=50)
            if not candidates:
                break
            for image_id in candidates:
                if image_id == self.current_image or self._claim(CAPTION_CLAIM, image_id):
                    if image_id != self.current_image:
                        self._release(CAPTION_CLAIM, self.current_image)
                    self._show(image_id, append=True)
                    return self._item(image_id)
        self._release(CAPTION_CLAIM, self.current_image)
        self.current_image = None
        self._cursor = len(self._history)
        return None

    def _show(self, image_id: int, append: bool) -> None:
        if image_id in self._skipped_images:
            self._skipped_images.remove(image_id)
        if append:
            self._history.append(image_id)
            self._cursor = len(self._history) - 1
        self.current_image = image_id

    def _item(self, image_id: int) -> ImageItem:
        with self.library.store.session() as s:
            image = s.get(Image, image_id)
            if image is None:
                raise CaptionError(f"Image {image_id} is no longer in the library.")
            draft = s.get(Draft, (self.annotator_id, image_id))
            own = s.execute(
                select(Caption.id, Caption.text)
                .where(
                    Caption.image_id == image_id,
                    Caption.author_id == self.annotator_id,
                    Caption.state == "pending",
                )
                .order_by(Caption.id.desc())
            ).first()
            return ImageItem(
                image_id=image_id,
                path=image.path,
                draft=draft.text if draft else "",
                own_caption_id=None if own is None else int(own[0]),
                own_caption="" if own is None else str(own[1]),
            )

    def skip(self, image_id: int) -> ImageItem | None:
        """Put the image at the end of this session's queue and serve the next one."""
        if image_id not in self._skipped_images:
            self._skipped_images.append(image_id)
        return self.next_image()

    def previous(self) -> ImageItem | None:
        """Go back to the image served before the current one; None at the start."""
        if self._cursor <= 0:
            return None
        image_id = self._history[self._cursor - 1]
        if not self._claim(CAPTION_CLAIM, image_id, only_open=False):
            with self.library.store.session() as s:
                holder = self._holder(s, CAPTION_CLAIM, image_id) or "someone else"
            raise CaptionError(f"{holder} is working on the previous image now.")
        if image_id != self.current_image:
            self._release(CAPTION_CLAIM, self.current_image)
        self._cursor -= 1
        self._show(image_id, append=False)
        return self._item(image_id)

    # -- writing -------------------------------------------------------------------------
    def save_draft(self, image_id: int, text: str) -> None:
        """Keep a half-typed caption (empty text removes the draft) and renew the claim."""
        now = _now()
        with self.library.store.session() as s:
            row = s.get(Draft, (self.annotator_id, image_id))
            if not text.strip():
                if row is not None:
                    s.delete(row)
            elif row is None:
                s.add(Draft(annotator_id=self.annotator_id, image_id=image_id, text=text))
            else:
                row.text = text
                row.updated_at = now
            s.execute(
                update(Claim)
                .where(
                    Claim.kind == CAPTION_CLAIM,
                    Claim.target_id == image_id,
                    Claim.session == self.session_id,
                )
                .values(expires_at=now + timedelta(seconds=self.library.settings.claim_seconds))
            )

    def draft_for(self, image_id: int) -> str:
        with self.library.store.session() as s:
            row = s.get(Draft, (self.annotator_id, image_id))
            return row.text if row else ""

    def submit(self, image_id: int, text: str) -> int:
        """Store the caption (one transaction) and return its id.

        Raises CaptionError listing every broken rule, or when another session holds the image.
        A pending caption of one's own on the same image is replaced (state withdrawn).
        """
        text = text.strip()
        settings = self.library.settings
        broken = check_caption(text, settings.caption_language, settings.min_caption_words)
        if broken:
            raise CaptionError(" ".join(v.message for v in broken))
        now = _now()
        with self.library.store.session() as s:
            # Write first, so SQLite takes the write lock before anything is read.
            s.execute(
                delete(Draft).where(
                    Draft.annotator_id == self.annotator_id, Draft.image_id == image_id
                )
            )
            holder = self._holder(s, CAPTION_CLAIM, image_id)
            if holder is not None:
                raise CaptionError(
                    f"{holder} is captioning this image now; your text is kept as a draft."
                )
            if s.get(Image, image_id) is None:
                raise CaptionError(f"Image {image_id} is no longer in the library.")
            s.execute(
                update(Caption)
                .where(
                    Caption.image_id == image_id,
                    Caption.author_id == self.annotator_id,
                    Caption.state == "pending",
                    ~exists().where(Verdict.caption_id == Caption.id),
                )
                .values(state="withdrawn", decided_at=now)
            )
            caption = Caption(
                image_id=image_id,
                text=text,
                language=settings.caption_language,
                author_id=self.annotator_id,
                source="written",
                state="pending",
                created_at=now,
            )
            s.add(caption)
            s.execute(
                delete(Claim).where(
                    Claim.kind == CAPTION_CLAIM,
                    Claim.target_id == image_id,
                    Claim.session == self.session_id,
                )
            )
            s.flush()
            caption_id = int(caption.id)
        log.info(
            "caption %s submitted by %s for image %s", caption_id, self.annotator_name, image_id
        )
        return caption_id

    def undo_last(self) -> ImageItem:
        """Withdraw one's newest caption that has no verdict yet; its text becomes the draft.

        Returns the image, claimed again, so the screen can show it with the text to edit.
        """
        now = _now()
        with self.library.store.session() as s:
            caption = s.scalars(
                select(Caption)
                .where(
                    Caption.author_id == self.annotator_id,
                    Caption.state == "pending",
                    ~exists().where(Verdict.caption_id == Caption.id),
                )
                .order_by(Caption.id.desc())
                .limit(1)
            ).first()
            if caption is None:
                raise CaptionError(
                    "Nothing to undo: none of your captions is still waiting for validation."
                )
            caption.state = "withdrawn"
            caption.decided_at = now
            draft = s.get(Draft, (self.annotator_id, caption.image_id))
            if draft is None:
                s.add(
                    Draft(
                        annotator_id=self.annotator_id, image_id=caption.image_id, text=caption.text
                    )
                )
            else:
                draft.text = caption.text
            image_id = caption.image_id
        log.info("caption %s withdrawn by %s (undo)", caption.id, self.annotator_name)
        if image_id != self.current_image:
            self._claim(CAPTION_CLAIM, image_id, only_open=False)
            self._release(CAPTION_CLAIM, self.current_image)
            self._show(image_id, append=True)
        return self._item(image_id)

    # -- validation ----------------------------------------------------------------------
    def _validation_queue(self) -> Select[Any]:
        """Pending captions we may judge, have not judged, and nobody else holds."""
        mine = exists().where(
            Verdict.caption_id == Caption.id, Verdict.validator_id == self.annotator_id
        )
        claimed = exists().where(
            Claim.kind == VALIDATE_CLAIM,
            Claim.target_id == Caption.id,
            Claim.session != self.session_id,
            Claim.expires_at > _now(),
        )
        query = (
            select(Caption.id)
            .join(Image, Image.id == Caption.image_id)
            .where(Caption.state == "pending", Image.problem.is_(False), ~mine, ~claimed)
            .order_by(Caption.id)
        )
        if not self.library.settings.allow_self_review:
            query = query.where(
                or_(Caption.author_id.is_(None), Caption.author_id != self.annotator_id)
            )
        return query

    def _validation_candidates(self, s: Session, limit: int) -> list[int]:
        query = self._validation_queue()
        fresh = list(s.scalars(query.where(Caption.id.not_in(self._skipped_captions)).limit(limit)))
        if fresh:
            return fresh
        eligible = set(s.scalars(query.where(Caption.id.in_(self._skipped_captions))))
        return [c for c in self._skipped_captions if c in eligible]

    def next_caption_to_validate(self) -> ValidationItem | None:
        """Claim and return the next caption by someone else that needs a verdict from us."""
        for _attempt in range(5):
            with self.library.store.session() as s:
                candidates = self._validation_candidates(s, limit=50)
            if not candidates:
                break
            for caption_id in candidates:
                if caption_id == self.current_caption or self._claim(VALIDATE_CLAIM, caption_id):
                    if caption_id != self.current_caption:
                        self._release(VALIDATE_CLAIM, self.current_caption)
                    self.current_caption = caption_id
                    if caption_id in self._skipped_captions:
                        self._skipped_captions.remove(caption_id)
                    return self._validation_item(caption_id)
        self._release(VALIDATE_CLAIM, self.current_caption)
        self.current_caption = None
        return None

    def _validation_item(self, caption_id: int) -> ValidationItem:
        with self.library.store.session() as s:
            row = s.execute(
                select(Caption, Image.path, Annotator.name)
                .join(Image, Image.id == Caption.image_id)
                .outerjoin(Annotator, Annotator.id == Caption.author_id)
                .where(Caption.id == caption_id)
            ).one()
            caption, path, author = row
            return ValidationItem(
                caption_id=caption.id,
                image_id=caption.image_id,
                path=path,
                text=caption.text,
                language=caption.language,
                author=author or "",
                verdicts_so_far=len(caption.verdicts),
            )

    def skip_caption(self, caption_id: int) -> ValidationItem | None:
        """Put the caption at the end of this session's validation queue; serve the next."""
        if caption_id not in self._skipped_captions:
            self._skipped_captions.append(caption_id)
        return self.next_caption_to_validate()

    def give_verdict(self, caption_id: int, verdict: str) -> str | None:
        """Record a verdict (one transaction); returns the decision once the majority is clear.

        The returned value is the caption's new state (accepted, rejected, problem) or None
        while it waits for more verdicts.
        """
        if verdict not in VERDICTS:
            raise CaptionError(
                f"Unknown verdict {verdict!r}; expected one of {', '.join(VERDICTS)}."
            )
        try:
            with self.library.store.session() as s:
                # Insert first: SQLite takes the write lock before the caption is read.
                s.execute(
                    insert(Verdict).values(
                        caption_id=caption_id,
                        validator_id=self.annotator_id,
                        verdict=verdict,
                        created_at=_now(),
                    )
                )
                state = self._decide(s, caption_id)
        except IntegrityError as e:
            raise CaptionError("You already gave a verdict on this caption.") from e
        self._release(VALIDATE_CLAIM, caption_id)
        if self.current_caption == caption_id:
            self.current_caption = None
        log.info("verdict %s on caption %s by %s", verdict, caption_id, self.annotator_name)
        return state

    def _decide(self, s: Session, caption_id: int) -> str | None:
        caption = s.get(Caption, caption_id)
        if caption is None:
            raise CaptionError(f"Caption {caption_id} does not exist.")
        if caption.state != "pending":
            raise CaptionError(f"This caption was already decided ({caption.state}).")
        if caption.author_id == self.annotator_id and not self.library.settings.allow_self_review:
            raise CaptionError(
                "You cannot validate your own caption (self-review is off in the settings)."
            )
        verdicts = list(s.scalars(select(Verdict.verdict).where(Verdict.caption_id == caption_id)))
        outcome = decide(verdicts, self.library.settings.verdicts_per_caption)
        if outcome is None:
            return None
        caption.state = OUTCOME_STATE[outcome]
        caption.decided_at = _now()
        if outcome == "image_failed":
            s.execute(update(Image).where(Image.id == caption.image_id).values(problem=True))
            log.warning("image %s flagged as a problem by majority verdict", caption.image_id)
        return caption.state

"""Database tables (SQLAlchemy 2 ORM). Changes here need an Alembic migration in migrations/."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Folder(Base):
    """A folder the user added; its images are scanned recursively."""

    __tablename__ = "folders"
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    scanned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Image(Base):
    """One image file. `state`: ok, unreadable, missing. Never deleted: captions hang on it."""

    __tablename__ = "images"
    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("folders.id", ondelete="SET NULL"))
    path: Mapped[str] = mapped_column(Text, unique=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    mtime: Mapped[float] = mapped_column(Float, default=0.0)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="ok", index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    # Set on a byte-identical copy: the image it duplicates (the first one seen).
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="SET NULL"))
    # Set when validators decided by majority that the image fails to load.
    problem: Mapped[bool] = mapped_column(Boolean, default=False)
    # train or eval, assigned once from the content hash.
    split: Mapped[str | None] = mapped_column(String(8), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    captions: Mapped[list[Caption]] = relationship(back_populates="image")


class Annotator(Base):
    """A person who writes captions and verdicts. Attribution, not security."""

    __tablename__ = "annotators"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Caption(Base):
    """A search-query caption. `state`: pending, accepted, rejected, withdrawn, problem."""

    __tablename__ = "captions"
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="de")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("annotators.id"))
    # written (in the caption screen) or imported:<file name>
    source: Mapped[str] = mapped_column(String(200), default="written")
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # JSON list of rule ids the text breaks (imported captions are kept and flagged).
    rule_flags: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    image: Mapped[Image] = relationship(back_populates="captions")
    verdicts: Mapped[list[Verdict]] = relationship(back_populates="caption")


class Verdict(Base):
    """One validator's judgement of a caption: appropriate, inappropriate, image_failed."""

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("caption_id", "validator_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    caption_id: Mapped[int] = mapped_column(
        ForeignKey("captions.id", ondelete="CASCADE"), index=True
    )
    validator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    verdict: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    caption: Mapped[Caption] = relationship(back_populates="verdicts")


class Claim(Base):
    """A short reservation so two app instances never serve the same item at once.

    `kind` is caption (target: image id) or validate (target: caption id).
    """

    __tablename__ = "claims"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    target_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    # A random id per running app instance, so one person in two windows is two claimants.
    session: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Draft(Base):
    """A half-typed caption, saved while typing so a crash loses nothing."""

    __tablename__ = "drafts"
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), primary_key=True)
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Meta(Base):
    """Library-wide key/value facts (active model, split settings frozen at first training)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ModelVersion(Base):
    """A model made by fine-tuning here (or registered base model), with what made it."""

    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    base_model: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    checkpoint_path: Mapped[str | None] = mapped_column(Text)
    # JSON: training settings, data snapshot (caption ids / counts), metrics per epoch.
    settings_json: Mapped[str | None] = mapped_column(Text)
    data_json: Mapped[str | None] = mapped_column(Text)
    metrics_json: Mapped[str | None] = mapped_column(Text)
    mode: Mapped[str | None] = mapped_column(String(32))
    image_tower_changed: Mapped[bool] = mapped_column(Boolean, default=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrainingRun(Base):
    """One press of Fine-tune now. `state`: running, finished, failed, cancelled."""

    __tablename__ = "training_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="running")
    run_dir: Mapped[str] = mapped_column(Text)
    settings_json: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmbeddingSet(Base):
    """Image embeddings of one model (by fingerprint): the array file and its HNSW index."""

    __tablename__ = "embedding_sets"
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(Text)
    dim: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


Index("ix_captions_image_state", Caption.image_id, Caption.state)

"""Training (培训): which catalog versions are in trial or released, who must watch what by when, what each
member really played (merged intervals, so re-watching a minute counts once) and how seed users rated it."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow


class TrainingVersion(Base):
    """A catalog item's version as opsbot first saw it: in trial (seed users) until released."""

    __tablename__ = "training_versions"
    __table_args__ = (UniqueConstraint("code", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    trial_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(default=None)
    released_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


class TrainingAssignment(Base):
    """Required training for one member: one per item version, so a new version assigns it again."""

    __tablename__ = "training_assignments"
    __table_args__ = (UniqueConstraint("user_id", "code", "version"), Index("ix_training_assignments_due", "due_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class TrainingProgress(Base):
    """What one member has played of one item version: `played` is a list of merged [start, end] seconds."""

    __tablename__ = "training_progress"
    __table_args__ = (UniqueConstraint("user_id", "code", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    played: Mapped[list[Any]] = mapped_column(JSON, default=list)
    played_s: Mapped[float] = mapped_column(Float, default=0.0)  # length of the union of `played`
    position_s: Mapped[float] = mapped_column(Float, default=0.0)  # resume point
    quiz_score: Mapped[int | None] = mapped_column(Integer, default=None)
    quiz_passed: Mapped[bool | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingView(Base):
    """One opening of the player (its source: scan, chat, page) and the seconds played in it; heartbeats
    anchor on the last position and time, so a jump ahead is never counted as watched."""

    __tablename__ = "training_views"
    __table_args__ = (Index("ix_training_views_opened_at", "opened_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default="page")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    watched_s: Mapped[float] = mapped_column(Float, default=0.0)
    anchor_s: Mapped[float | None] = mapped_column(Float, default=None)
    anchor_at: Mapped[datetime | None] = mapped_column(default=None)


class TrainingRating(Base):
    """A seed user's verdict on a version in trial (有用 / 需改进) and an optional comment; the latest counts."""

    __tablename__ = "training_ratings"
    __table_args__ = (UniqueConstraint("user_id", "code", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(16))  # useful | improve
    comment: Mapped[str] = mapped_column(String(500), default="")
    rated_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Patrol rounds (巡检/点检): checklist versions, rounds per slot, checkpoint visits, answers and their photos."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow


class RoundStatus(StrEnum):
    OPEN = "open"  # dispatched, nothing answered yet
    STARTED = "started"
    DONE = "done"
    MISSED = "missed"  # 漏检: the window closed before the round was done
    SKIPPED = "skipped"  # e.g. the machine was in a planned stop for the whole window


class PatrolChecklistVersion(Base):
    """A checklist as it was when rounds were made with it: an edited file becomes a new version."""

    __tablename__ = "patrol_checklist_versions"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_patrol_versions_code_version"),
                      UniqueConstraint("code", "digest", name="uq_patrol_versions_code_digest"))
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PatrolRound(Base):
    """One round of one checklist for one scope (plant, line or machine) and one slot; the unique key makes
    dispatch exactly once, also with several dispatchers."""

    __tablename__ = "patrol_rounds"
    __table_args__ = (UniqueConstraint("checklist_code", "version", "scope_key", "slot", name="uq_patrol_round_slot"),
                      Index("ix_patrol_rounds_status_end", "status", "window_end"))
    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    scope_key: Mapped[str] = mapped_column(String(80))  # plant | line:<code> | machine:<code>
    slot: Mapped[str] = mapped_column(String(32))  # the slot's start, UTC ISO minutes
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id"), default=None)
    machine_id: Mapped[int | None] = mapped_column(ForeignKey("machines.id"), default=None)
    assignees: Mapped[list[str]] = mapped_column(JSON, default=list)  # WeCom ids
    window_start: Mapped[datetime]
    due_at: Mapped[datetime]
    window_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=RoundStatus.OPEN)
    reason: Mapped[str | None] = mapped_column(String(64), default=None)  # why skipped
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    too_fast: Mapped[bool] = mapped_column(Boolean, default=False)
    card_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PatrolVisit(Base):
    """A checkpoint of a round: when its QR was scanned (presence) and when it was answered."""

    __tablename__ = "patrol_visits"
    __table_args__ = (UniqueConstraint("round_id", "checkpoint"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("patrol_rounds.id"))
    checkpoint: Mapped[str] = mapped_column(String(64))
    scanned_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    unscanned: Mapped[bool] = mapped_column(Boolean, default=False)  # 未扫码: answered without its scan


class PatrolAnswer(Base):
    """One item's answer; an NG answer carries the issue it opened."""

    __tablename__ = "patrol_answers"
    __table_args__ = (UniqueConstraint("round_id", "checkpoint", "item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("patrol_rounds.id"))
    checkpoint: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(512), default="")
    number: Mapped[float | None] = mapped_column(Float, default=None)
    ng: Mapped[bool] = mapped_column(Boolean, default=False)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_photos.id"), default=None)
    answered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime]
    issue_ref: Mapped[str | None] = mapped_column(String(64), default=None)  # the issue's number; status is live


class PatrolPhoto(Base):
    """A photo stored the moment it arrives (WeCom forgets a media id after 3 days)."""

    __tablename__ = "patrol_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("patrol_rounds.id"))
    checkpoint: Mapped[str] = mapped_column(String(64))
    item: Mapped[str | None] = mapped_column(String(64), default=None)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    media_id: Mapped[str | None] = mapped_column(String(128), default=None)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

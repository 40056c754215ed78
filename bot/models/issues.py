"""The issue list (问题清单): issues, their yearly number counter, photos and the history of every change."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow


class IssueStatus(StrEnum):
    NEW = "new"  # 新建
    IN_PROGRESS = "in_progress"  # 处理中
    TO_VERIFY = "to_verify"  # 待验证
    CLOSED = "closed"  # 已关闭 (may be reopened)
    REJECTED = "rejected"  # 已驳回


OPEN_STATUSES = (IssueStatus.NEW, IssueStatus.IN_PROGRESS, IssueStatus.TO_VERIFY)


class IssuePriority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class IssueSource(StrEnum):
    CHAT = "chat"
    H5 = "h5"
    PATROL = "patrol"
    DOWNTIME = "downtime"
    IMPORT = "import"


class IssueCounter(Base):
    """The last number given in a year: locked and bumped in the creating transaction, so numbers have no gaps."""

    __tablename__ = "issue_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Issue(Base):
    """One problem on the list; (source, source_ref) makes a hook's second call for the same cause a no-op."""

    __tablename__ = "issues"
    __table_args__ = (
        UniqueConstraint("source", "source_ref", name="uq_issues_source_ref"),
        UniqueConstraint("year", "seq", name="uq_issues_year_seq"),
        Index("ix_issues_status_due", "status", "due_on"),
        # The H5 list filters by owner, line or category within a status and sorts by due day (bot/issues/listing.py).
        Index("ix_issues_owner_status", "owner_id", "status", "due_on"),
        Index("ix_issues_line_status", "line_id", "status", "due_on"),
        Index("ix_issues_category_status", "category", "status", "due_on"),
        Index("ix_issues_closed_at", "closed_at"),  # the digest's closed-this-week
        # The list's other sorts: newest/oldest and recently updated within a status, and all statuses by due day.
        Index("ix_issues_status_created", "status", "created_at"),
        Index("ix_issues_status_updated", "status", "updated_at"),
        Index("ix_issues_due", "due_on", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # Q-2026-0012
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(8), default=IssuePriority.MEDIUM)
    source: Mapped[str] = mapped_column(String(16), default=IssueSource.CHAT)
    source_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default=IssueStatus.NEW)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id"), default=None)
    machine_id: Mapped[int | None] = mapped_column(ForeignKey("machines.id"), default=None)
    due_on: Mapped[date | None] = mapped_column(Date, default=None)  # a plant-local day
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # 1: told the PMs, 2: the managers
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class IssueEvent(Base):
    """One entry of an issue's history: who changed what, when, from which value to which (or a comment)."""

    __tablename__ = "issue_events"
    __table_args__ = (Index("ix_issue_events_at", "at"),)  # the digest's "anything changed this week"
    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)  # None: the system
    kind: Mapped[str] = mapped_column(String(16))  # created, status, owner, verifier, due, photo, comment, escalated
    old: Mapped[str | None] = mapped_column(String(200), default=None)
    new: Mapped[str | None] = mapped_column(String(200), default=None)
    note: Mapped[str] = mapped_column(Text, default="")


class PhotoStatus(StrEnum):
    PENDING = "pending"  # media_id known, bytes not fetched yet
    FETCHING = "fetching"  # claimed by a fetcher until lease_until
    STORED = "stored"
    FAILED = "failed"  # WeCom no longer has it, or the retries ran out
    REFUSED = "refused"  # not an image, or too large


class IssuePhoto(Base):
    """A photo of an issue: the member's media_id at first, its bytes once fetched (kept in the database, so
    every replica and every backup has them; photos are capped at 10 MB and a few per issue)."""

    __tablename__ = "issue_photos"
    __table_args__ = (Index("ix_issue_photos_status_next", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id"), index=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    media_id: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default=PhotoStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    data: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    stored_at: Mapped[datetime | None] = mapped_column(default=None)

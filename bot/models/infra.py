"""Rows the plumbing needs: callback de-duplication, conversation state, the outbox and its per-member quota,
shared tokens, job runs."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow


class InboundEvent(Base):
    """One row per WeCom callback handled; its reply is kept so a retried callback gets the same answer."""

    __tablename__ = "inbound_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    user_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reply_xml: Mapped[str | None] = mapped_column(Text, default=None)


class ConversationState(Base):
    """Where a user is in a multi-step chat, kept in the database so any replica can take the next message."""

    __tablename__ = "conversation_states"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A message to deliver, written with the change that caused it so neither exists without the other."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "priority", "next_attempt_at"),
                      Index("ix_outbox_holds", "holds_replies", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default="app")  # app, appchat, webhook, card_update
    target: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # touser list / chatid / webhook key
    msgtype: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(SmallInteger, default=2)  # bot.outbox.Priority: 0 urgent .. 2 routine
    idempotency_key: Mapped[str | None] = mapped_column(String(191), unique=True, default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set before a send on a channel without WeCom's duplicate check: a later claim knows it may have left.
    send_started_at: Mapped[datetime | None] = mapped_column(default=None)
    # Media step: {"producer", "args", "kind"}; its upload is kept so a retry sends without uploading again.
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    media_id: Mapped[str | None] = mapped_column(String(128), default=None)
    media_uploaded_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    msgid: Mapped[str | None] = mapped_column(String(128), default=None)
    response_code: Mapped[str | None] = mapped_column(String(255), default=None)
    invalid_users: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # The member whose next replies wait behind this message (a chart they asked for: bot.outbox.ordering);
    # indexed so that the check every callback makes is one index lookup, not a scan of the queue.
    holds_replies: Mapped[str | None] = mapped_column(String(64), default=None)


class SendQuota(Base):
    """Messages sent to one member in one short window, shared by every replica's sender (WeCom's per-member
    limit is per app, not per process)."""

    __tablename__ = "send_quota"
    member: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ApiToken(Base):
    """WeCom access tokens and tickets, shared across processes because gettoken is rate-limited."""

    __tablename__ = "api_tokens"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[float]


class JobRun(Base):
    """Claims one scheduled slot of a job, so a job fires once even with several replicas."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "slot"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    slot: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)

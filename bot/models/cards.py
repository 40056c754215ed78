"""Cards we sent and may still replace: their recipients, the response codes we hold and what each one shows."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow


class SentCard(Base):
    """One template card (one WeCom task_id); `key` is the feature's name for it and its outbox idempotency key.

    `codes` are the unused response codes: [{"code", "holders": [userid], "at": ISO time}]; the send's code is
    held by every recipient, a tap's by the tapper. `shown` maps each recipient to a digest of the card they see,
    so a refresh that changes nothing spends no code."""

    __tablename__ = "sent_cards"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(191), unique=True)
    task_id: Mapped[str] = mapped_column(String(128), unique=True)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    codes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    shown: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    send_code_taken: Mapped[bool] = mapped_column(Boolean, default=False)
    updates: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Monthly recognition (月度之星): the candidates scored when the cards went out, and the winner a manager confirmed."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow


class ReviewAward(Base):
    """One award of one month (e.g. 2026-11 · entry); `winner_id` is set once, by the first confirmation, so a second
    tap (or a second manager) changes nothing and the announcement leaves once."""

    __tablename__ = "review_awards"
    __table_args__ = (UniqueConstraint("month", "category"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # 2026-11
    category: Mapped[str] = mapped_column(String(16))  # entry | patrol | issues
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # scored, best first
    winner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

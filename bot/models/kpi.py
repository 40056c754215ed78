"""KPI push state: open threshold breaches, one alert per breach."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow


class KpiBreach(Base):
    """A KPI below its target from `opened_at` until it recovers (`closed_at`); alerted once, when opened."""

    __tablename__ = "kpi_breaches"
    __table_args__ = (Index("ix_kpi_breaches_open", "kpi", "scope", "code", "closed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kpi: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(16))  # plant | line | machine
    code: Mapped[str] = mapped_column(String(32), default="")  # line/machine code, "" for the plant
    target: Mapped[float] = mapped_column(Float)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_value: Mapped[float] = mapped_column(Float)
    last_value: Mapped[float] = mapped_column(Float)
    last_checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

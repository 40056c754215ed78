"""Rows that let several `opsbot serve` replicas share one PostgreSQL database: who owns which OPC UA endpoint,
and which replicas are alive (so endpoints spread across them)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow


class CollectorLease(Base):
    """One OPC UA endpoint's collector lease: `token` grows on every change of owner and fences old owners."""

    __tablename__ = "collector_leases"
    endpoint: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    token: Mapped[int] = mapped_column(Integer, default=1)
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    renewed_at: Mapped[datetime] = mapped_column(default=utcnow)  # last sign of life of the owner (gap start)
    expires_at: Mapped[datetime]


class ReplicaHeartbeat(Base):
    """A live replica says so every few seconds; the count of live ones sets each replica's fair share."""

    __tablename__ = "replica_heartbeats"
    replica: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)

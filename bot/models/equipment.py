"""Equipment history: state intervals, counter deltas and downtime alerts, the raw data of OEE/MTBF/MTTR."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, utcnow


class MachineStateKind(StrEnum):
    RUNNING = "running"
    IDLE = "idle"
    DOWN = "down"
    PLANNED_STOP = "planned_stop"
    SETUP = "setup"
    UNKNOWN = "unknown"  # a data gap (endpoint unreachable, bad status): never counted as up or down


class StateSource(StrEnum):
    OPCUA = "opcua"
    IMPORT = "import"
    MANUAL = "manual"


class MachineState(Base):
    """One interval a machine spent in one state; `end_at` is None while the interval is still open."""

    __tablename__ = "machine_states"
    __table_args__ = (Index("ix_machine_states_machine_start", "machine_id", "start_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    state: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime | None] = mapped_column(default=None)
    reason_code: Mapped[str | None] = mapped_column(String(32), default=None)
    source: Mapped[str] = mapped_column(String(16), default=StateSource.OPCUA)
    raw_state: Mapped[str | None] = mapped_column(String(64), default=None)  # the PLC value, for audits


class CounterKind(StrEnum):
    NORMAL = "normal"
    WRAP = "wrap"
    RESET = "reset"


class CounterDelta(Base):
    """Parts made between two reads (or an imported period): good and scrap, never raw counter samples."""

    __tablename__ = "counter_deltas"
    __table_args__ = (Index("ix_counter_deltas_machine_start", "machine_id", "start_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    good: Mapped[int] = mapped_column(Integer, default=0)
    scrap: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16), default=CounterKind.NORMAL)
    source: Mapped[str] = mapped_column(String(16), default=StateSource.OPCUA)


class CounterCursor(Base):
    """The last counter values read per machine, so deltas survive a restart of the collector."""

    __tablename__ = "counter_cursors"
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"), primary_key=True)
    good: Mapped[int | None] = mapped_column(BigInteger, default=None)
    total: Mapped[int | None] = mapped_column(BigInteger, default=None)
    scrap: Mapped[int | None] = mapped_column(BigInteger, default=None)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    FIXED = "fixed"
    CANCELLED = "cancelled"  # the machine came back before anybody acted


class DowntimeAlert(Base):
    """An andon call for one down period: who took it and when, who fixed it and why it stopped."""

    __tablename__ = "downtime_alerts"
    __table_args__ = (Index("ix_downtime_alerts_machine_status", "machine_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    state_id: Mapped[int] = mapped_column(ForeignKey("machine_states.id"))
    down_start: Mapped[datetime]
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    fixed_at: Mapped[datetime | None] = mapped_column(default=None)
    fixed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reason_code: Mapped[str | None] = mapped_column(String(32), default=None)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # 0 maintenance, 1 team lead, 2 manager
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.OPEN)
    task_id: Mapped[str] = mapped_column(String(128), unique=True)
    recovered_at: Mapped[datetime | None] = mapped_column(default=None)  # the machine left `down`
    alarm_code: Mapped[str | None] = mapped_column(String(32), default=None)
    reason_at: Mapped[datetime | None] = mapped_column(default=None)  # maintenance gave the reason
    source: Mapped[str] = mapped_column(String(16), default="machine")  # machine (a stop), manual (报修)
    raised_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)  # who called (报修)


class DowntimeReason(Base):
    """A downtime reason maintenance may choose; seeded from `[equipment] reasons`."""

    __tablename__ = "downtime_reasons"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))

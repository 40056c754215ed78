"""Master data every feature shares: people, the plant's structure, what is made and the orders to make it."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db import Base, utcnow


class Role(StrEnum):
    OPERATOR = "operator"
    TEAM_LEAD = "team_lead"
    QC = "qc"
    DISPATCHER = "dispatcher"
    MAINTENANCE = "maintenance"
    PM = "pm"
    MANAGER = "manager"
    ADMIN = "admin"


class User(Base):
    """A WeCom member known to opsbot; one without roles is pending until an admin grants some."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    wecom_userid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id"), default=None)
    is_seed: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def pending(self) -> bool:
        return not self.roles


class Plant(Base):
    __tablename__ = "plants"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")


class Line(Base):
    __tablename__ = "lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    machines: Mapped[list[Machine]] = relationship(back_populates="line", lazy="raise")


class Machine(Base):
    __tablename__ = "machines"
    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    ideal_cycle_time_s: Mapped[float] = mapped_column(Float, default=1.0)
    line: Mapped[Line] = relationship(back_populates="machines", lazy="raise")


class Material(Base):
    __tablename__ = "materials"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str] = mapped_column(String(16), default="件")


class WorkOrderStatus(StrEnum):
    DRAFT = "draft"
    RELEASED = "released"
    CLOSED = "closed"


class WorkOrder(Base):
    __tablename__ = "work_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    material_id: Mapped[int | None] = mapped_column(ForeignKey("materials.id"), default=None)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id"), default=None)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=WorkOrderStatus.RELEASED)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    released_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    operations: Mapped[list[Operation]] = relationship(back_populates="work_order", lazy="raise",
                                                       order_by="Operation.seq")


class Operation(Base):
    __tablename__ = "operations"
    __table_args__ = (UniqueConstraint("work_order_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    machine_id: Mapped[int | None] = mapped_column(ForeignKey("machines.id"), default=None)
    planned_quantity: Mapped[int] = mapped_column(Integer)
    work_order: Mapped[WorkOrder] = relationship(back_populates="operations", lazy="raise")

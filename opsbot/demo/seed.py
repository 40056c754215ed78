"""Seeds the demo plant (content/demo/plant.toml) into an empty database, so a demo starts with a living plant."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Line, Machine, Material, Operation, Plant, User, WorkOrder, WorkOrderStatus
from bot.templates import CONTENT_DIR

PLANT_FILE = CONTENT_DIR / "demo" / "plant.toml"
DUE_HOUR = 17


@dataclass(frozen=True)
class SeedResult:
    """Whether this call seeded (False: the database already had a plant) and how many rows of each."""

    seeded: bool
    counts: dict[str, int]


def load_plant(path: Path = PLANT_FILE) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


async def count_rows(session: AsyncSession) -> dict[str, int]:
    models = {"plants": Plant, "lines": Line, "machines": Machine, "materials": Material,
              "work_orders": WorkOrder, "operations": Operation, "users": User}
    return {name: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in models.items()}


async def seed_if_empty(sessions: async_sessionmaker[AsyncSession], now: datetime, tz: ZoneInfo,
                        plant: dict[str, Any] | None = None) -> SeedResult:
    """Seeds only when no plant exists; users already known (e.g. pending members) are left as they are."""
    plant = plant or load_plant()
    async with sessions() as session, session.begin():
        if await session.scalar(select(func.count()).select_from(Plant)):
            return SeedResult(False, await count_rows(session))
        await _seed(session, plant, now, tz)
        await session.flush()
        return SeedResult(True, await count_rows(session))


async def _seed(session: AsyncSession, data: dict[str, Any], now: datetime, tz: ZoneInfo) -> None:
    plant = Plant(code=data["plant"]["code"], name=data["plant"]["name"], timezone=str(tz))
    session.add(plant)
    await session.flush()
    lines = {row["code"]: Line(plant_id=plant.id, code=row["code"], name=row["name"]) for row in data["lines"]}
    session.add_all(lines.values())
    await session.flush()
    machines = {row["code"]: Machine(line_id=lines[row["line"]].id, code=row["code"], name=row["name"],
                                     ideal_cycle_time_s=float(row["ideal_cycle_time_s"]))
                for row in data["machines"]}
    materials = {row["code"]: Material(code=row["code"], name=row["name"], unit=row.get("unit", "件"))
                 for row in data["materials"]}
    session.add_all([*machines.values(), *materials.values()])
    await session.flush()
    today = now.astimezone(tz).date()
    for row in data["work_orders"]:
        due_local = datetime.combine(today + timedelta(days=int(row["due_in_days"])), time(DUE_HOUR), tz)
        order = WorkOrder(code=row["code"], material_id=materials[row["material"]].id,
                          line_id=lines[row["line"]].id, quantity=int(row["quantity"]),
                          status=WorkOrderStatus.RELEASED, due_at=due_local.astimezone(now.tzinfo),
                          released_at=now - timedelta(days=1))
        session.add(order)
        await session.flush()
        for spec in row["operations"]:
            seq, name, machine = spec.split(":")
            session.add(Operation(work_order_id=order.id, seq=int(seq), name=name,
                                  machine_id=machines[machine].id, planned_quantity=int(row["quantity"])))
    known = set((await session.scalars(select(User.wecom_userid))).all())
    for row in data["users"]:
        if row["userid"] in known:
            continue
        line = lines[row["line"]].id if row.get("line") else None
        session.add(User(wecom_userid=row["userid"], name=row["name"], roles=list(row["roles"]),
                         line_id=line, is_seed=bool(row.get("seed", False)), active=True, created_at=now))

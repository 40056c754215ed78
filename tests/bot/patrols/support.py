"""A small plant for the patrol tests: line L1 with three CNC machines, its people, and the demo checklists."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, Machine, Plant, User

# 2026-03-02 is a Monday; 08:30 in Shanghai is 00:30 UTC (the 5S slot), 08:00 the day shift (the 点检 slot).
SLOT_5S = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
SHIFT_D = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
PATROLS: dict[str, Any] = {"machine_types": {"CNC": ["L1-M1", "L1-M2", "L1-M3"]}}
PEOPLE = [("lead1", "李组长", ["team_lead"]), ("op1", "王操作", ["operator"]), ("mt1", "赵维修", ["maintenance"]),
          ("mgr1", "钱经理", ["manager"])]


async def seed_plant(session: AsyncSession) -> dict[str, User]:
    plant = Plant(code="P", name="测试工厂")
    session.add(plant)
    await session.flush()
    line = Line(plant_id=plant.id, code="L1", name="机加线")
    session.add(line)
    await session.flush()
    for code, name in (("L1-M1", "数控车床"), ("L1-M2", "加工中心"), ("L1-M3", "钻攻中心")):
        session.add(Machine(line_id=line.id, code=code, name=name))
    users = {}
    for userid, name, roles in PEOPLE:
        users[userid] = User(wecom_userid=userid, name=name, roles=roles,
                             line_id=None if userid == "mgr1" else line.id)
        session.add(users[userid])
    await session.flush()
    return users

"""A plant whose machines count their parts: [equipment] config naming the output source, and counter deltas."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Machine
from bot.models.equipment import CounterDelta

DAY_SHIFT = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # 2026-01-05 08:00-20:00 in Shanghai


def equipment(outputs: dict[str, str]) -> dict[str, Any]:
    """The [equipment] table: machine code -> output source (counters, reports, both; "" for the default)."""
    machines = [{"code": code, "endpoint": "plc", "output": output,
                 "tags": {"state": f"ns=2;s={code}.State", "good": f"ns=2;s={code}.Good",
                          "scrap": f"ns=2;s={code}.Scrap"}}
                for code, output in outputs.items()]
    return {"endpoints": [{"name": "plc", "url": "opc.tcp://127.0.0.1:9"}], "machines": machines}


async def add_counts(sessions: async_sessionmaker[AsyncSession], code: str,
                     deltas: list[tuple[float, float, int, int]], base: datetime = DAY_SHIFT) -> None:
    """Counter deltas of one machine: (start h, end h after `base`, good, scrap)."""
    async with sessions.begin() as session:
        machine_id = await session.scalar(select(Machine.id).where(Machine.code == code))
        session.add_all(CounterDelta(machine_id=machine_id, start_at=base + timedelta(hours=a),
                                     end_at=base + timedelta(hours=b), good=good, scrap=scrap)
                        for a, b, good, scrap in deltas)

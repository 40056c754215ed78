"""Issue numbers `Q-YYYY-NNNN`: one counter row per plant year, locked and bumped inside the creating
transaction, so two concurrent creates get distinct numbers and a rolled-back create leaves no gap."""
from __future__ import annotations

import re

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import lock_row
from bot.models.issues import IssueCounter

NUMBER = re.compile(r"[Qq]-([0-9]{4})-([0-9]{4,6})")


def format_number(year: int, seq: int) -> str:
    return f"Q-{year}-{seq:04d}"


def parse_number(text: str) -> str | None:
    """The canonical number for `Q-2026-0012` typed any case (`q-2026-12` too: the digits are what count)."""
    match = NUMBER.fullmatch(text.strip())
    if match is None:
        return None
    return format_number(int(match.group(1)), int(match.group(2)))


async def next_number(session: AsyncSession, year: int) -> tuple[int, str]:
    """The year's next sequence number and its label; the counter row stays locked until the caller commits."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(IssueCounter).on_conflict_do_nothing(index_elements=["year"])
    elif dialect == "sqlite":
        statement = sqlite.insert(IssueCounter).on_conflict_do_nothing(index_elements=["year"])
    else:
        statement = insert(IssueCounter) if await session.get(IssueCounter, year) is None else None
    if statement is not None:
        await session.execute(statement.values(year=year, last=0))
    await lock_row(session, IssueCounter.year, year)
    seq = (await session.execute(update(IssueCounter).where(IssueCounter.year == year)
                                 .values(last=IssueCounter.last + 1).returning(IssueCounter.last))).scalar_one()
    return seq, format_number(year, seq)


async def last_number(session: AsyncSession, year: int) -> int:
    return int(await session.scalar(select(IssueCounter.last).where(IssueCounter.year == year)) or 0)

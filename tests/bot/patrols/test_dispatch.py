"""Dispatch: each slot makes each round once (repeated runs, two dispatchers on one database), with the version
and the assignees of its checklist, and the round card queued in the same transaction."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import OutboxMessage
from bot.models.equipment import MachineState
from bot.models.patrols import PatrolRound
from bot.patrols.kickoff import dispatch_due_rounds
from bot.templates import CONTENT_DIR, Templates
from tests.bot.patrols.support import PATROLS, SHIFT_D, SLOT_5S, seed_plant
from tests.conftest import make_settings

pytestmark = pytest.mark.db


def settings_for(db_url: str, **patrols: object):  # type: ignore[no-untyped-def]
    return make_settings(db_url, patrols={**PATROLS, **patrols})


async def rounds(session: AsyncSession) -> list[PatrolRound]:
    return list(await session.scalars(select(PatrolRound).order_by(PatrolRound.scope_key)))


async def test_a_slot_makes_each_round_once(session_factory: async_sessionmaker[AsyncSession], db_url: str) -> None:
    settings = settings_for(db_url)
    templates = Templates(settings.tz)
    async with session_factory.begin() as session:
        await seed_plant(session)
    now = SLOT_5S + timedelta(minutes=1)
    async with session_factory.begin() as session:
        created = await dispatch_due_rounds(session, settings, templates, now)
    async with session_factory.begin() as session:
        again = await dispatch_due_rounds(session, settings, templates, now + timedelta(minutes=1))
        made = await rounds(session)
        cards = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.msgtype == "template_card"))
    assert len(created) == 4 and again == []
    assert [(r.checklist_code, r.scope_key, r.version) for r in made] == [
        ("5S-L1", "line:L1", 1), ("DJ-CNC", "machine:L1-M1", 1), ("DJ-CNC", "machine:L1-M2", 1),
        ("DJ-CNC", "machine:L1-M3", 1)]
    five_s = made[0]
    assert five_s.assignees == ["lead1"] and made[1].assignees == ["op1"]
    assert five_s.window_start == SLOT_5S and five_s.due_at == SLOT_5S + timedelta(hours=1)
    assert made[1].window_start == SHIFT_D and made[1].window_end == SHIFT_D + timedelta(hours=12)
    assert cards == 4


async def test_two_dispatchers_at_once_make_each_round_once(session_factory: async_sessionmaker[AsyncSession],
                                                             db_url: str) -> None:
    """Two replicas firing for the same slot (the job_runs claim is the first guard, the round key the last)."""
    settings = settings_for(db_url)
    templates = Templates(settings.tz)
    async with session_factory.begin() as session:
        await seed_plant(session)
    now = SLOT_5S + timedelta(minutes=1)

    async def one() -> list[int]:
        async with session_factory.begin() as session:
            return await dispatch_due_rounds(session, settings, templates, now)

    first, second = await asyncio.gather(one(), one())
    async with session_factory() as session:
        made = await rounds(session)
        cards = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert len(first) + len(second) == 4 == len(made) == cards


async def test_an_edited_checklist_is_a_new_version_and_old_rounds_keep_theirs(
        session_factory: async_sessionmaker[AsyncSession], db_url: str, tmp_path: Path) -> None:
    text = (CONTENT_DIR / "patrols" / "5s_l1.toml").read_text(encoding="utf-8")
    (tmp_path / "5s.toml").write_text(text, encoding="utf-8")
    settings = settings_for(db_url, folder=str(tmp_path))
    templates = Templates(settings.tz)
    async with session_factory.begin() as session:
        await seed_plant(session)
        await dispatch_due_rounds(session, settings, templates, SLOT_5S)
    (tmp_path / "5s.toml").write_text(text.replace("物料定置摆放", "物料按区摆放"), encoding="utf-8")
    import os

    os.utime(tmp_path / "5s.toml", (1, 1))  # a new stamp even within the file system's time resolution
    next_day = SLOT_5S + timedelta(days=1)
    async with session_factory.begin() as session:
        assert await dispatch_due_rounds(session, settings, templates, SLOT_5S + timedelta(minutes=5)) == []
        await dispatch_due_rounds(session, settings, templates, next_day)
        made = await rounds(session)
    assert [(r.slot, r.version) for r in made] == [("2026-03-02T00:30Z", 1), ("2026-03-03T00:30Z", 2)]


async def test_a_machine_in_a_planned_stop_gets_no_card(session_factory: async_sessionmaker[AsyncSession],
                                                        db_url: str) -> None:
    settings = settings_for(db_url)
    templates = Templates(settings.tz)
    async with session_factory.begin() as session:
        await seed_plant(session)
        machine_id = (await session.execute(select(func.min(PatrolRound.id)))).scalar()  # noqa: F841 - warm up
        from bot.models import Machine

        m1 = await session.scalar(select(Machine.id).where(Machine.code == "L1-M1"))
        session.add(MachineState(machine_id=m1, state="planned_stop", start_at=SHIFT_D - timedelta(hours=1)))
    async with session_factory.begin() as session:
        await dispatch_due_rounds(session, settings, templates, SHIFT_D + timedelta(minutes=1))
        made = {r.scope_key: r for r in await rounds(session)}
    assert made["machine:L1-M1"].card_sent is False
    assert made["machine:L1-M2"].card_sent is True

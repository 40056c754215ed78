"""Priorities decide what leaves first; enqueue_once adds a keyed message at most once."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import outbox
from bot.models import OutboxMessage
from bot.outbox import OutboxSender, Priority
from bot.settings import OutboxSettings
from integrations.wecom.client import WeComClient
from integrations.wecom.sandbox import Sandbox
from tests.clock import StoppedClock as Clock
from tests.conftest import eventually

pytestmark = pytest.mark.db


async def test_an_urgent_message_is_claimed_before_a_full_batch_of_routine_ones(
        sandbox: Sandbox, client: WeComClient, session_factory: async_sessionmaker[AsyncSession],
        clock: Clock) -> None:
    sender = OutboxSender(session_factory, client, OutboxSettings(batch_size=5), asyncio.Event(), clock)
    async with session_factory.begin() as session:
        for n in range(12):
            outbox.enqueue(session, "text", {"content": f"日报 {n}"}, to=["wangwu"], now=clock())
        outbox.enqueue(session, "text", {"content": "审批"}, to=["lisi"], priority=Priority.HIGH, now=clock())
        outbox.enqueue(session, "text", {"content": "停机"}, to=["zhangsan"], priority=Priority.URGENT, now=clock())
    await sender.drain_once()
    sent = {m.payload["content"] for m in sandbox.messages}
    assert {"停机", "审批"} <= sent and len(sent) == 5


async def test_enqueue_once_adds_nothing_when_the_key_exists(session_factory: async_sessionmaker[AsyncSession],
                                                             clock: Clock) -> None:
    async with session_factory.begin() as session:
        first = await outbox.enqueue_once(session, "kpi-daily:2026-11-24", "text", {"content": "日报"},
                                          to=["zhangsan"], now=clock())
        again = await outbox.enqueue_once(session, "kpi-daily:2026-11-24", "text", {"content": "日报"},
                                          to=["zhangsan"], now=clock())
        assert first is not None and first.priority == Priority.ROUTINE and again is None
        assert session.info.get("outbox_pending")
    async with session_factory.begin() as session:  # a later transaction, as the next job run
        assert await outbox.enqueue_once(session, "kpi-daily:2026-11-24", "text", {"content": "x"},
                                         to=["lisi"], now=clock()) is None
        assert await outbox.is_queued(session, "kpi-daily:2026-11-24")
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


async def lock_waiters(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")) or 0)


async def test_enqueue_once_in_two_concurrent_transactions_keeps_one(
        session_factory: async_sessionmaker[AsyncSession], clock: Clock, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: transactions cannot overlap")
    async with session_factory.begin() as first, session_factory.begin() as second:
        assert await outbox.enqueue_once(first, "k", "text", {"content": "a"}, to=["u"], now=clock())
        waiting = asyncio.create_task(outbox.enqueue_once(second, "k", "text", {"content": "b"}, to=["u"],
                                                          now=clock()))
        await eventually(lambda: lock_waiters(session_factory))  # the second insert waits on the first's key
        await first.commit()
        assert await waiting is None
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1

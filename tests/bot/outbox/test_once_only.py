"""Once-only delivery: each send is recorded the moment it succeeds, so a crash cannot make it leave twice."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import outbox
from bot.models import OutboxMessage
from bot.outbox import OutboxSender
from bot.settings import OutboxSettings
from integrations.wecom.client import WeComClient
from integrations.wecom.sandbox import Sandbox
from tests.clock import StoppedClock as Clock
from tests.conftest import eventually

pytestmark = pytest.mark.db


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    return {row.payload["content"]: row.status for row in rows}


async def test_each_send_is_recorded_as_soon_as_it_succeeds_not_per_batch(
        sandbox: Sandbox, client: WeComClient, session_factory: async_sessionmaker[AsyncSession],
        clock: Clock) -> None:
    sender = OutboxSender(session_factory, client, OutboxSettings(), asyncio.Event(), clock)
    await client.access_token()
    async with session_factory.begin() as session:
        outbox.enqueue(session, "text", {"content": "甲"}, to=["zhangsan"], now=clock())
        outbox.enqueue(session, "text", {"content": "乙"}, to=["lisi"], now=clock())
    sandbox.inject_fault("message/send", delay_s=5, times=1)  # one of the two hangs, as if the process froze
    drain = asyncio.create_task(sender.drain_once())
    try:
        first = await sandbox.wait_for_message(lambda m: m.api == "message/send", timeout=3)
        await eventually(lambda: _is_sent(session_factory, first.payload["content"]), timeout=2)
    finally:
        drain.cancel()  # the kill: the hanging send never finishes
    others = {content: status for content, status in (await statuses(session_factory)).items()
              if content != first.payload["content"]}
    assert list(others.values()) == ["sending"]  # not sent, so claimable again after its lease


async def _is_sent(sessions: async_sessionmaker[AsyncSession], content: str) -> bool:
    return (await statuses(sessions)).get(content) == "sent"

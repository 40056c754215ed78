"""Per-member limits: one member's backlog waits in the database, never in the sender, so others go on."""
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
from tests.bot.outbox.conftest import run_in_background
from tests.clock import StoppedClock as Clock
from tests.conftest import eventually

pytestmark = pytest.mark.db


async def settled(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """No row held by the sender: what it could do at this instant is done."""
    async with sessions() as session:
        return not await session.scalar(select(OutboxMessage.id).where(OutboxMessage.status == "sending").limit(1))


def approval_card(n: int) -> dict:
    return {"card_type": "button_interaction", "task_id": f"approve-{n}",
            "main_title": {"title": f"超报审批 {n}"}, "button_list": [{"text": "同意", "style": 1, "key": "ok"}]}


async def test_alert_is_delivered_within_2s_while_another_members_backlog_is_throttled(
        sandbox: Sandbox, client: WeComClient, session_factory: async_sessionmaker[AsyncSession],
        clock: Clock) -> None:
    wakeup = asyncio.Event()
    sender = OutboxSender(session_factory, client, OutboxSettings(per_member_per_minute=30), wakeup, clock)
    async with session_factory.begin() as session:
        for n in range(99):
            outbox.enqueue(session, "template_card", approval_card(n), to=["zhangsan"], now=clock())
    stop, task = await run_in_background(sender)
    try:
        await eventually(lambda: len(sandbox.messages_for("zhangsan")) == 30, timeout=5)
        async with session_factory.begin() as session:
            outbox.enqueue(session, "text", {"content": "2号线停机"}, to=["lisi"], now=clock())
        wakeup.set()
        alert = await sandbox.wait_for_message(lambda m: m.touser == ["lisi"], timeout=2)
        assert alert.payload["content"] == "2号线停机"
        assert len(sandbox.messages_for("zhangsan")) == 30  # the backlog waits for the next window
        await eventually(lambda: settled(session_factory), timeout=5)
        clock.advance(66)
        wakeup.set()
        await eventually(lambda: len(sandbox.messages_for("zhangsan")) == 60, timeout=5)
        await eventually(lambda: settled(session_factory), timeout=5)
        clock.advance(66)
        wakeup.set()
        await eventually(lambda: len(sandbox.messages_for("zhangsan")) == 90, timeout=5)
        await eventually(lambda: settled(session_factory), timeout=5)
        clock.advance(66)
        wakeup.set()
        await eventually(lambda: len(sandbox.messages_for("zhangsan")) == 99, timeout=5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    titles = [m.payload["main_title"]["title"] for m in sandbox.messages_for("zhangsan")]
    assert titles == [f"超报审批 {n}" for n in range(99)]  # in order, each once

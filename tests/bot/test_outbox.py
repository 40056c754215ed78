"""Outbox: nothing lost while WeCom is down, nothing sent twice, permanent errors not retried forever."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import outbox
from bot.models import OutboxMessage
from bot.outbox import OutboxSender
from bot.settings import OutboxSettings
from bot.token_store import DatabaseTokenStore
from integrations.wecom.client import WeComClient
from integrations.wecom.sandbox import Sandbox, SandboxConfig
from tests.clock import StoppedClock
from tests.conftest import DEMO_AES_KEY

pytestmark = pytest.mark.db


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(SandboxConfig(encoding_aes_key=DEMO_AES_KEY, users={"zhangsan": "张三", "lisi": "李四"}))
    await box.start()
    yield box
    await box.stop()


@pytest.fixture
async def sender(sandbox: Sandbox, session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[Any]:
    clock = StoppedClock(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    async with aiohttp.ClientSession() as http:
        client = WeComClient(http, corp_id="wwsandbox0000000001", secret="sandbox-secret", agent_id=1000002,
                             api_base=sandbox.base_url, token_store=DatabaseTokenStore(session_factory),
                             max_attempts=1, backoff_base_s=0.01)
        yield OutboxSender(session_factory, client, OutboxSettings(max_attempts=3), asyncio.Event(), clock), clock


async def queue(sessions: async_sessionmaker[AsyncSession], content: str, to: list[str],
                now: datetime, key: str | None = None) -> int:
    async with sessions.begin() as session:
        row = outbox.enqueue(session, "text", {"content": content}, to=to, now=now, idempotency_key=key)
    return row.id


async def row(sessions: async_sessionmaker[AsyncSession], row_id: int) -> OutboxMessage:
    async with sessions() as session:
        found = await session.get(OutboxMessage, row_id)
        assert found is not None
        return found


async def test_message_is_delivered_once_and_its_msgid_kept(sandbox: Sandbox, sender: Any,
                                                             session_factory: async_sessionmaker) -> None:
    send, clock = sender
    row_id = await queue(session_factory, "你好", ["zhangsan"], clock())
    await send.drain_once()
    await send.drain_once()
    sent = [m for m in sandbox.messages if m.api == "message/send"]
    assert len(sent) == 1 and sent[0].payload["content"] == "你好"
    stored = await row(session_factory, row_id)
    assert stored.status == "sent" and stored.msgid == sent[0].msgid and stored.attempts == 1


async def test_wecom_down_keeps_the_message_and_delivers_it_after_recovery(
        sandbox: Sandbox, sender: Any, session_factory: async_sessionmaker) -> None:
    send, clock = sender
    await send.client.access_token()
    sandbox.inject_fault("message/send", errcode=-1, times=2)
    row_id = await queue(session_factory, "停机报警", ["zhangsan"], clock())
    await send.drain_once()
    first = await row(session_factory, row_id)
    assert first.status == "pending" and first.attempts == 1 and first.last_error
    await send.drain_once()  # not due yet: backoff
    assert (await row(session_factory, row_id)).attempts == 1
    clock.advance(5)
    await send.drain_once()
    assert (await row(session_factory, row_id)).status == "pending"
    clock.advance(10)
    await send.drain_once()
    final = await row(session_factory, row_id)
    assert final.status == "sent" and final.attempts == 3
    assert len([m for m in sandbox.messages if m.api == "message/send"]) == 1


async def test_permanent_refusal_is_recorded_and_not_retried(sandbox: Sandbox, sender: Any,
                                                              session_factory: async_sessionmaker) -> None:
    send, clock = sender
    row_id = await queue(session_factory, "", ["zhangsan"], clock())  # empty content: 44004
    await send.drain_once()
    clock.advance(3600)
    await send.drain_once()
    stored = await row(session_factory, row_id)
    assert stored.status == "failed" and stored.attempts == 1 and "44004" in (stored.last_error or "")


async def test_gives_up_after_max_attempts(sandbox: Sandbox, sender: Any,
                                           session_factory: async_sessionmaker) -> None:
    send, clock = sender
    await send.client.access_token()
    sandbox.inject_fault("message/send", errcode=-1, times=10)
    row_id = await queue(session_factory, "x", ["zhangsan"], clock())
    for _ in range(5):
        await send.drain_once()
        clock.advance(600)
    stored = await row(session_factory, row_id)
    assert stored.status == "failed" and stored.attempts == 3


async def test_a_claim_left_by_a_dead_sender_is_retried_after_its_lease(
        sandbox: Sandbox, sender: Any, session_factory: async_sessionmaker) -> None:
    send, clock = sender
    row_id = await queue(session_factory, "租约", ["lisi"], clock())
    async with session_factory.begin() as session:  # as if a sender claimed it and died
        claimed = await session.get(OutboxMessage, row_id)
        claimed.status, claimed.attempts = "sending", 1
        claimed.next_attempt_at = clock() + timedelta(seconds=60)
    await send.drain_once()
    assert (await row(session_factory, row_id)).status == "sending"
    clock.advance(61)
    await send.drain_once()
    assert (await row(session_factory, row_id)).status == "sent"


async def test_expired_token_is_refreshed_once_and_the_send_succeeds(
        sandbox: Sandbox, sender: Any, session_factory: async_sessionmaker) -> None:
    send, clock = sender
    await send.client.access_token()
    sandbox.expire_tokens()
    row_id = await queue(session_factory, "令牌", ["zhangsan"], clock())
    await send.drain_once()
    assert (await row(session_factory, row_id)).status == "sent"


async def test_the_same_idempotency_key_cannot_be_queued_twice(session_factory: async_sessionmaker) -> None:
    now = datetime.now(UTC)
    await queue(session_factory, "a", ["zhangsan"], now, key="report:1:confirm")
    with pytest.raises(IntegrityError):
        await queue(session_factory, "a", ["zhangsan"], now, key="report:1:confirm")
    async with session_factory() as session:
        assert len((await session.scalars(select(OutboxMessage))).all()) == 1

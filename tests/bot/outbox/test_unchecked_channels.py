"""Channels without WeCom's duplicate check: a send that may have left is not repeated blindly."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import outbox
from bot.models import OutboxMessage
from bot.outbox import OutboxSender
from bot.settings import OutboxSettings
from integrations.wecom.client import WeComClient
from integrations.wecom.sandbox import Sandbox
from tests.clock import StoppedClock as Clock

pytestmark = pytest.mark.db


@pytest.fixture
def sender(client: WeComClient, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> OutboxSender:
    return OutboxSender(session_factory, client, OutboxSettings(), asyncio.Event(), clock)


async def as_if_a_sender_died_mid_send(sessions: async_sessionmaker[AsyncSession], row_id: int,
                                       clock: Clock) -> None:
    async with sessions.begin() as session:
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
        row.status, row.attempts, row.send_started_at = "sending", 1, clock()
        row.next_attempt_at = clock() + timedelta(seconds=60)
    clock.advance(61)


async def test_a_robot_message_interrupted_mid_send_is_not_sent_again(
        sandbox: Sandbox, sender: OutboxSender, clock: Clock,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory.begin() as session:
        row = outbox.enqueue(session, "markdown", {"content": "停机"}, channel="webhook", webhook_key="k",
                             now=clock())
    await as_if_a_sender_died_mid_send(session_factory, row.id, clock)
    await sender.drain_once()
    async with session_factory() as session:
        stored = await session.get(OutboxMessage, row.id)
    assert stored is not None and stored.status == "failed" and "not resent" in (stored.last_error or "")
    assert not [m for m in sandbox.messages if m.api == "webhook/send"]


async def test_a_robot_refusal_is_retried_since_nothing_left(
        sandbox: Sandbox, sender: OutboxSender, clock: Clock,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    sandbox.inject_fault("webhook/send", errcode=45009)
    async with session_factory.begin() as session:
        outbox.enqueue(session, "markdown", {"content": "停机"}, channel="webhook", webhook_key="k", now=clock())
    await sender.drain_once()
    clock.advance(10)
    await sender.drain_once()
    assert len([m for m in sandbox.messages if m.api == "webhook/send"]) == 1


async def test_a_card_update_whose_code_was_spent_by_the_interrupted_try_counts_as_done(
        sandbox: Sandbox, sender: OutboxSender, clock: Clock,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    card = {"card_type": "button_interaction", "task_id": "andon-1", "main_title": {"title": "停机"},
            "button_list": [{"text": "我去处理", "style": 1, "key": "take"}]}
    async with session_factory.begin() as session:
        sent = outbox.enqueue(session, "template_card", card, to=["zhangsan"], now=clock())
    await sender.drain_once()
    async with session_factory() as session:
        code = (await session.get(OutboxMessage, sent.id)).response_code  # type: ignore[union-attr]
    await sender.client.update_template_card(["zhangsan"], code, replace_name="已处理")  # the lost first try
    async with session_factory.begin() as session:
        update = outbox.enqueue(session, "update_template_card", {"replace_name": "已处理"}, to=["zhangsan"],
                                channel="card_update", response_code=code, now=clock())
    await as_if_a_sender_died_mid_send(session_factory, update.id, clock)
    await sender.drain_once()
    async with session_factory() as session:
        stored = await session.get(OutboxMessage, update.id)
    assert stored is not None and stored.status == "sent" and "interrupted" in (stored.last_error or "")
    assert len([m for m in sandbox.messages if m.api == "update_template_card"]) == 1

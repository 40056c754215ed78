"""A media step: produced and uploaded by the sender, uploaded once per message unless WeCom forgot it."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import outbox
from bot.models import OutboxMessage
from bot.outbox import MediaFile, MediaStep, OutboxSender
from bot.settings import OutboxSettings
from integrations.wecom.client import WeComClient
from integrations.wecom.sandbox import Sandbox
from tests.clock import StoppedClock as Clock

pytestmark = pytest.mark.db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Chart:
    """A real producer (no WeCom, no database): counts how often it was asked."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, args: dict[str, Any], now: datetime) -> MediaFile:
        self.calls.append(args)
        return MediaFile("kpi.png", "image/png", PNG)


async def queue_image(sessions: async_sessionmaker[AsyncSession], clock: Clock, producer: str = "chart") -> int:
    async with sessions.begin() as session:
        row = outbox.enqueue(session, "image", {}, to=["zhangsan"], now=clock(),
                             media=MediaStep(producer, {"scope": "line", "code": "L1"}))
    return row.id


@pytest.fixture
def chart() -> Chart:
    return Chart()


@pytest.fixture
def sender(client: WeComClient, session_factory: async_sessionmaker[AsyncSession], clock: Clock,
           chart: Chart) -> OutboxSender:
    return OutboxSender(session_factory, client, OutboxSettings(), asyncio.Event(), clock, producers={"chart": chart})


async def test_the_image_is_produced_uploaded_and_sent_once(sandbox: Sandbox, sender: OutboxSender, chart: Chart,
                                                           session_factory: async_sessionmaker[AsyncSession]) -> None:
    row_id = await queue_image(session_factory, sender.clock)  # type: ignore[arg-type]
    await sender.drain_once()
    await sender.drain_once()
    images = [m for m in sandbox.messages if m.msgtype == "image"]
    assert len(images) == 1 and chart.calls == [{"scope": "line", "code": "L1"}]
    assert sandbox.state.media[images[0].payload["media_id"]].data == PNG
    async with session_factory() as session:
        row = await session.get(OutboxMessage, row_id)
    assert row is not None and row.status == "sent" and row.media_id == images[0].payload["media_id"]


async def test_a_retry_after_a_successful_upload_does_not_upload_again(
        sandbox: Sandbox, sender: OutboxSender, chart: Chart, clock: Clock,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    await sender.client.access_token()
    await queue_image(session_factory, clock)
    sandbox.inject_fault("message/send", errcode=-1)
    await sender.drain_once()
    clock.advance(10)
    await sender.drain_once()
    assert len(chart.calls) == 1 and len(sandbox.state.media) == 1
    assert len([m for m in sandbox.messages if m.msgtype == "image"]) == 1


async def test_an_upload_older_than_three_days_is_redone(
        sandbox: Sandbox, sender: OutboxSender, chart: Chart, clock: Clock,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    await sender.client.access_token()
    await queue_image(session_factory, clock)
    sandbox.inject_fault("message/send", errcode=-1)
    await sender.drain_once()
    clock.advance(3 * 24 * 3600)
    sandbox.advance_clock(3 * 24 * 3600)
    await sender.client.access_token(force_refresh=True)
    await sender.drain_once()
    images = [m for m in sandbox.messages if m.msgtype == "image"]
    assert len(chart.calls) == 2 and len(images) == 1


async def test_a_message_naming_an_unknown_producer_fails_without_retries(
        sandbox: Sandbox, sender: OutboxSender, clock: Clock,
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    row_id = await queue_image(session_factory, clock, producer="nobody")
    await sender.drain_once()
    async with session_factory() as session:
        row = await session.get(OutboxMessage, row_id)
    assert row is not None and row.status == "failed" and "nobody" in (row.last_error or "")

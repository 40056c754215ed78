"""KPI trend charts asked for in chat: one outbox image message whose media step is produced here, by the sender
(rendering and uploading are slow, so never in the handler)."""
from __future__ import annotations

import asyncio
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import outbox
from bot.kpi.chart import render_trend
from bot.kpi.scopes import Scope, figures_for
from bot.kpi.service import kpi_settings
from bot.models import Line, Machine, OutboxMessage
from bot.outbox import MediaFile, MediaStep, Priority, Producer
from bot.outbox.ordering import ahead_key
from bot.settings import Settings

PRODUCER = "kpi_chart"
# The same member asking for the same scope again within this gets the chart already on its way, not a second.
ONCE_PER = timedelta(minutes=1)


def chart_labels(content_dir: Path) -> dict[str, str]:
    path = content_dir / "templates" / "kpi" / "chart_labels.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


async def chart_png(sessions: async_sessionmaker[AsyncSession], settings: Settings, content_dir: Path,
                    scope: Scope, now: datetime) -> bytes:
    """The last `chart_days` plant-local days of one scope, as PNG bytes."""
    days = kpi_settings(settings).chart_days
    start, _ = settings.calendar.day_bounds(settings.calendar.day_of(now) - timedelta(days=days - 1))
    async with sessions() as session:
        records = await figures_for(session, settings, scope, start, now, now, every="day")
        if scope.kind in ("line", "machine"):
            table = Line if scope.kind == "line" else Machine
            scope = Scope(scope.kind, scope.code, await session.scalar(
                select(table.name).where(table.code == scope.code)) or scope.code)
    labels = chart_labels(content_dir)
    name = labels["plant"] if scope.kind == "plant" else labels[scope.kind].format(name=scope.name or scope.code)
    target = kpi_settings(settings).target_for("oee", scope.kind, scope.code)
    title = labels["title"].format(scope=name, days=days)
    return await asyncio.to_thread(render_trend, records, labels, title, target.value if target else None)


async def queue_chart(session: AsyncSession, userid: str, scope: Scope, now: datetime) -> bool:
    """The chart leaves with the figures' reply transaction, HIGH (the member is waiting for it) and keyed so that
    their next reply waits behind it (bot.outbox.ordering). False, and nothing queued, when the same member asked
    for the same scope within ONCE_PER: the key names member and scope, so the earlier row is found by prefix."""
    prefix = ahead_key(userid, f"{PRODUCER}:{scope.key}:")
    earlier = await session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.holds_replies == userid, OutboxMessage.created_at > now - ONCE_PER,
        OutboxMessage.idempotency_key.startswith(prefix, autoescape=True)).limit(1))
    if earlier is not None:
        return False
    row = outbox.enqueue(session, "image", {}, to=[userid], priority=Priority.HIGH, now=now,
                         idempotency_key=prefix + now.isoformat(),
                         media=MediaStep(PRODUCER, {"scope": scope.kind, "code": scope.code}, kind="image"))
    row.holds_replies = userid
    return True


def chart_producer(sessions: async_sessionmaker[AsyncSession], settings: Settings, content_dir: Path) -> Producer:
    """The sender's producer for chart images (registered as PRODUCER when the sender is built)."""

    async def produce(args: dict[str, Any], now: datetime) -> MediaFile:
        scope = Scope(args["scope"], args.get("code", ""), args.get("code", ""))
        return MediaFile("kpi.png", "image/png", await chart_png(sessions, settings, content_dir, scope, now))

    return produce

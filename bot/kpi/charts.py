"""Chart requests from chat: render the trend, upload it (slow, so never in the handler), send it as an image."""
from __future__ import annotations

import asyncio
import tomllib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from bot import outbox
from bot.context import Services
from bot.errors import report_error
from bot.kpi.chart import render_trend
from bot.kpi.push import local_day_bounds
from bot.kpi.scopes import Scope, figures_for
from bot.kpi.service import kpi_settings
from bot.models import Line
from bot.models.kpi import KpiChartRequest

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3


def chart_labels(services: Services) -> dict[str, str]:
    path = services.templates.content_dir / "templates" / "kpi" / "chart_labels.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


async def chart_png(services: Services, scope: Scope, now: datetime) -> bytes:
    """The last `chart_days` plant-local days of one scope, as PNG bytes."""
    settings = services.settings
    days = kpi_settings(settings).chart_days
    today = now.astimezone(settings.tz).date()
    start, _ = local_day_bounds(today - timedelta(days=days - 1), settings)
    async with services.sessions() as session:
        records = await figures_for(session, settings, scope, start, now, now, every="day")
        if scope.kind == "line":
            scope = Scope("line", scope.code, await session.scalar(
                select(Line.name).where(Line.code == scope.code)) or scope.code)
    labels = chart_labels(services)
    name = labels["plant"] if scope.kind == "plant" else labels["line"].format(name=scope.name or scope.code)
    target = kpi_settings(settings).target_for("oee", scope.kind, scope.code)
    title = labels["title"].format(scope=name, days=days)
    return await asyncio.to_thread(render_trend, records, labels, title, target.value if target else None)


async def _claim(services: Services, request_id: int, now: datetime) -> KpiChartRequest | None:
    async with services.sessions.begin() as session:
        result = await session.execute(
            update(KpiChartRequest).where(
                KpiChartRequest.id == request_id,
                or_(KpiChartRequest.status == "pending",
                    (KpiChartRequest.status == "working") & (KpiChartRequest.lease_until <= now)))
            .values(status="working", lease_until=now + LEASE, attempts=KpiChartRequest.attempts + 1))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return await session.get(KpiChartRequest, request_id)


async def process_chart_requests(services: Services, now: datetime, limit: int = 10) -> int:
    """Sends the charts asked for; a failed upload is retried by a later run, then given up."""
    async with services.sessions() as session:
        ids = (await session.scalars(select(KpiChartRequest.id).where(or_(
            KpiChartRequest.status == "pending",
            (KpiChartRequest.status == "working") & (KpiChartRequest.lease_until <= now)))
            .order_by(KpiChartRequest.id).limit(limit))).all()
    sent = 0
    for request_id in ids:
        request = await _claim(services, request_id, now)
        if request is None:
            continue
        values: dict[str, Any]
        try:
            assert services.client is not None, "no WeCom client"
            png = await chart_png(services, Scope(request.scope, request.code, request.code), now)
            media_id = await services.client.upload_media("image", "kpi.png", png, "image/png")
        except Exception as exc:  # noqa: BLE001 - retried, then recorded
            give_up = request.attempts >= MAX_ATTEMPTS
            values = {"status": "failed" if give_up else "pending", "error": repr(exc)[:500]}
            if give_up:
                report_error(f"kpi chart {request.id}", exc)
        else:
            values = {"status": "sent", "media_id": media_id, "error": None}
            sent += 1
        async with services.sessions.begin() as session:
            await session.execute(update(KpiChartRequest).where(KpiChartRequest.id == request.id).values(**values))
            if values["status"] == "sent":
                outbox.enqueue(session, "image", {"media_id": values["media_id"]}, to=[request.wecom_userid],
                               idempotency_key=f"kpi-chart:{request.id}", now=now)
        outbox.notify_if_enqueued(session, services.outbox_wakeup)
    return sent

"""KPI pushes: a card per line after each shift, a daily plant summary, threshold alerts once per breach."""
from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.kpi import to_json_records
from bot.kpi.scopes import Scope, figures_for, line_scopes, pick, recipients
from bot.kpi.service import kpi_settings, kpis_from_db
from bot.kpi.settings import KpiSettings, KpiTarget
from bot.kpi.shift_view import shift_url
from bot.models import Machine
from bot.models.kpi import KpiBreach
from bot.plant_calendar import ShiftSlot
from bot.settings import Settings
from bot.templates import Templates

TIME_BASED = {"oee", "availability", "performance", "mtbf_s", "mttr_s"}


def _has_data(record: dict[str, Any]) -> bool:
    return bool(record["planned_s"] or record["total"] or record.get("orders_due"))


async def queue_shift_summaries(session: AsyncSession, settings: Settings, templates: Templates,
                                now: datetime, lookback: timedelta = timedelta(hours=12)) -> list[str]:
    """Cards for every shift that ended (plus the configured delay) within the lookback; each only once."""
    config = kpi_settings(settings)
    until = now - timedelta(minutes=config.shift_summary_delay_min)
    queued = []
    scopes = await line_scopes(session)
    for slot in settings.calendar.ended_between(until - lookback, until):
        keys = {scope.code: f"kpi-shift:{scope.code}:{slot.day.isoformat()}:{slot.code}" for scope in scopes}
        todo = [scope for scope in scopes if not await outbox.is_queued(session, keys[scope.code])]
        if not todo:
            continue
        # The engine computes every line in one pass: once per shift, not once per line.
        frame = await kpis_from_db(session, settings, start=slot.start, end=slot.end, by="line", now=now)
        for scope in todo:
            key = keys[scope.code]
            records = to_json_records(pick(frame, scope))
            to = await recipients(session, scope)
            if not records or not _has_data(records[0]) or not to:
                continue
            card = json.loads(templates.render("kpi/shift_card.json.j2", scope=scope, slot=slot, k=records[0],
                                               target=_targets(config, scope),
                                               url=shift_url(settings.server.base_url, scope.code, slot)))
            if await outbox.enqueue_once(session, key, "template_card", card, to=to, now=now,
                                         priority=outbox.Priority.ROUTINE):
                queued.append(key)
    return queued


def _targets(config: KpiSettings, scope: Scope) -> dict[str, float]:
    out = {}
    for kpi in ("oee", "availability", "performance", "quality", "otd", "first_pass_yield"):
        target = config.target_for(kpi, scope.kind, scope.code)
        if target is not None:
            out[kpi] = target.value
    return out


async def queue_daily_summary(session: AsyncSession, settings: Settings, templates: Templates,
                              now: datetime) -> str | None:
    """Yesterday (plant-local) for the plant and each line, to every manager; once per day."""
    day = settings.calendar.day_of(now) - timedelta(days=1)
    key = f"kpi-daily:{day.isoformat()}"
    if await outbox.is_queued(session, key):  # spares the day's figures when it went out already
        return None
    to = await recipients(session, Scope("plant"))
    if not to:
        return None
    start, end = settings.calendar.day_bounds(day)
    plant = await figures_for(session, settings, Scope("plant"), start, end, now)
    lines = to_json_records(await kpis_from_db(session, settings, start=start, end=end, by="line", now=now))
    names = {s.code: s.name for s in await line_scopes(session)}
    text = templates.render("kpi/daily.md.j2", day=day, k=plant[0], lines=lines, names=names,
                            target=_targets(kpi_settings(settings), Scope("plant")))
    queued = await outbox.enqueue_once(session, key, "markdown", {"content": text}, to=to, now=now,
                                       priority=outbox.Priority.ROUTINE)
    return key if queued else None


async def _scopes_of(session: AsyncSession, target: KpiTarget) -> list[Scope]:
    if target.scope == "plant":
        return [Scope("plant")]
    if target.code:
        return [Scope(target.scope, target.code, target.code)]
    if target.scope == "line":
        return await line_scopes(session)
    codes = (await session.scalars(select(Machine.code).order_by(Machine.code))).all()
    return [Scope("machine", code, code) for code in codes]


def current_slot(settings: Settings, now: datetime) -> ShiftSlot:
    return settings.calendar.shift_at(now)


async def check_thresholds(session: AsyncSession, settings: Settings, templates: Templates,
                           now: datetime) -> list[KpiBreach]:
    """Evaluates every target over the current shift so far; opens (and alerts) or closes breaches."""
    config = kpi_settings(settings)
    slot = current_slot(settings, now)
    if now <= slot.start:
        return []
    frames: dict[str, Any] = {}
    opened = []
    for target in config.targets:
        if target.scope not in frames:
            frames[target.scope] = await kpis_from_db(session, settings, start=slot.start, end=now,
                                                      by=target.scope, now=now)
        for scope in await _scopes_of(session, target):
            rows = to_json_records(pick(frames[target.scope], scope))
            if not rows:
                continue
            record = rows[0]
            value = record.get(target.kpi)
            if value is None or math.isnan(value):
                continue
            if target.kpi in TIME_BASED and record["planned_s"] < config.threshold_min_planned_min * 60:
                continue
            breach = await _open_breach(session, target, scope)
            if breach is not None:
                breach.last_value, breach.last_checked_at = value, now
                if not target.breached(value):
                    breach.closed_at = now
                continue
            if target.breached(value):
                opened.append(await _open(session, templates, target, scope, value, record, slot, now))
    return opened


async def _open_breach(session: AsyncSession, target: KpiTarget, scope: Scope) -> KpiBreach | None:
    return await session.scalar(select(KpiBreach).where(
        KpiBreach.kpi == target.kpi, KpiBreach.scope == scope.kind, KpiBreach.code == scope.code,
        KpiBreach.closed_at.is_(None)).order_by(KpiBreach.id.desc()).limit(1))


async def _open(session: AsyncSession, templates: Templates, target: KpiTarget, scope: Scope, value: float,
                record: dict[str, Any], slot: ShiftSlot, now: datetime) -> KpiBreach:
    breach = KpiBreach(kpi=target.kpi, scope=scope.kind, code=scope.code, target=target.value, opened_at=now,
                       opened_value=value, last_value=value, last_checked_at=now)
    session.add(breach)
    await session.flush()
    to = await recipients(session, scope)
    if to:
        text = templates.render("kpi/breach.txt.j2", target=target, scope=scope, value=value, k=record,
                                slot=slot)
        outbox.enqueue(session, "text", {"content": text}, to=to, idempotency_key=f"kpi-breach:{breach.id}",
                       now=now, priority=outbox.Priority.ROUTINE)
    return breach

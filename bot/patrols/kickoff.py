"""Dispatch and first cards in one transaction: a round exists exactly when its card is queued (or held back
while its machine is in a planned stop, for the escalation pass to send when the stop ends)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, Machine
from bot.models.patrols import PatrolRound
from bot.patrols.cards import send_round
from bot.patrols.definitions import Checklist
from bot.patrols.dispatch import dispatch, in_planned_stop
from bot.patrols.versions import checklist_at, current_checklists
from bot.patrols.views import CheckpointView, ItemState, RoundView
from bot.settings import Settings
from bot.templates import Templates


async def dispatch_due_rounds(session: AsyncSession, settings: Settings, templates: Templates,
                              now: datetime) -> list[int]:
    feature = settings.feature("patrols")
    created = await dispatch(session, current_checklists(feature.path()), feature, settings.calendar, now)
    if not created:
        return created
    rows = list(await session.scalars(select(PatrolRound).where(PatrolRound.id.in_(created))))
    stopped = await in_planned_stop(session, [r.machine_id for r in rows if r.machine_id], now)
    names = await _scope_names(session, settings)
    base = settings.server.base_url
    versions: dict[tuple[str, int], Checklist] = {}
    for row in rows:
        if row.machine_id in stopped:
            continue
        key = (row.checklist_code, row.version)
        if key not in versions:
            versions[key] = await checklist_at(session, row.checklist_code, row.version)
        checklist = versions[key]
        checkpoints = [CheckpointView(row, checklist, cp, None, [ItemState(it) for it in cp.items])
                       for cp in checklist.checkpoints]
        send_round(session, templates, RoundView(row, checklist, names.get(row.scope_key, row.scope_key),
                                                 checkpoints), base, now)
    return created


async def _scope_names(session: AsyncSession, settings: Settings) -> dict[str, str]:
    """Every scope's display name in two queries (a slot may start thousands of rounds)."""
    names = {"plant": settings.plant.name}
    names |= {f"line:{c}": f"{c} {n}" for c, n in await session.execute(select(Line.code, Line.name))}
    names |= {f"machine:{c}": f"{c} {n}" for c, n in await session.execute(select(Machine.code, Machine.name))}
    return names

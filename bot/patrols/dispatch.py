"""Creating each round when its slot starts, once: the round's unique key (checklist, version, scope, slot)
decides, so two dispatchers on one database - or one that runs a slot twice - never make a second round."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, Machine, User
from bot.models.equipment import MachineState, MachineStateKind
from bot.models.patrols import PatrolRound
from bot.patrols.definitions import Checklist
from bot.patrols.schedule import Slot, slots_between
from bot.patrols.settings import PatrolsSettings
from bot.patrols.versions import insert_ignoring_conflict, version_of
from bot.people import users_with_roles
from bot.plant_calendar import PlantCalendar

log = logging.getLogger(__name__)
ROUND_KEY = ["checklist_code", "version", "scope_key", "slot"]
INSERT_CHUNK = 500  # rows a statement (SQLite allows 32,766 bound values; a round has 14)


@dataclass(frozen=True)
class Target:
    """Where a round is walked: the plant, one line or one machine."""

    key: str
    line_id: int | None = None
    machine_id: int | None = None


async def targets_of(session: AsyncSession, checklist: Checklist, settings: PatrolsSettings) -> list[Target]:
    if checklist.scope == "plant":
        return [Target("plant")]
    if checklist.scope == "line":
        line = await session.scalar(select(Line).where(Line.code == checklist.target))
        return [Target(f"line:{line.code}", line.id)] if line else []
    codes = [checklist.target] if checklist.scope == "machine" else settings.machine_types.get(checklist.target, [])
    machines = (await session.scalars(select(Machine).where(Machine.code.in_(codes)).order_by(Machine.code))).all()
    return [Target(f"machine:{m.code}", m.line_id, m.id) for m in machines]


async def in_planned_stop(session: AsyncSession, machine_ids: list[int], at: datetime) -> set[int]:
    """Machines whose state at `at` is a planned stop, as the OPC UA collector recorded it."""
    if not machine_ids:
        return set()
    rows = await session.scalars(select(MachineState.machine_id).where(
        MachineState.machine_id.in_(machine_ids), MachineState.state == MachineStateKind.PLANNED_STOP,
        MachineState.start_at <= at, (MachineState.end_at.is_(None)) | (MachineState.end_at > at)))
    return set(rows)


class Assigner:
    """Who walks a round: a role on the scope's line (everyone holding it, plant-wide holders too), named users,
    or a rotation. A role's holders are read once per dispatch: a slot may start rounds on hundreds of lines."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._holders: dict[str, list[User]] = {}

    async def assignees(self, checklist: Checklist, target: Target) -> list[str]:
        if checklist.users:
            return list(checklist.users)
        if checklist.rotation:
            done = await self.session.scalar(select(func.count()).select_from(PatrolRound).where(
                PatrolRound.checklist_code == checklist.code, PatrolRound.scope_key == target.key))
            return [checklist.rotation[int(done or 0) % len(checklist.rotation)]]
        if checklist.role not in self._holders:
            self._holders[checklist.role] = await users_with_roles(self.session, [checklist.role])
        holders = self._holders[checklist.role]
        if target.line_id is not None:
            holders = [u for u in holders if u.line_id in (None, target.line_id)]
        return [u.wecom_userid for u in holders]


def round_values(checklist: Checklist, version: int, target: Target, slot: Slot, assignees: list[str],
                 now: datetime) -> dict[str, object]:
    return {"checklist_code": checklist.code, "version": version, "scope_key": target.key, "slot": slot.key,
            "line_id": target.line_id, "machine_id": target.machine_id, "assignees": assignees,
            "window_start": slot.opens, "due_at": slot.due, "window_end": slot.end, "status": "open",
            "too_fast": False, "card_sent": False, "created_at": now}


async def create_rounds(session: AsyncSession, values: list[dict[str, object]]) -> list[int]:
    """The ids of the rounds inserted now; a (checklist, version, scope, slot) that exists is skipped by the
    database itself, also one a concurrent dispatcher is inserting. Many rows a statement: a slot may start
    thousands of rounds."""
    created: list[int] = []
    for start in range(0, len(values), INSERT_CHUNK):
        statement = insert_ignoring_conflict(session, PatrolRound, ROUND_KEY).values(
            values[start:start + INSERT_CHUNK]).returning(PatrolRound.id)
        created += list((await session.execute(statement)).scalars())
    return created


async def dispatch(session: AsyncSession, checklists: list[Checklist], settings: PatrolsSettings,
                   calendar: PlantCalendar, now: datetime) -> list[int]:
    """Rounds for every slot begun since `catch_up_min` ago (and not closed yet); returns the ids created now.

    Each call is safe to repeat: an existing round is skipped by its unique key, in the database itself."""
    created: list[int] = []
    assigner = Assigner(session)
    after = now - timedelta(minutes=settings.catch_up_min)
    for checklist in checklists:
        slots = [s for s in slots_between(checklist, calendar, after, now) if s.end > now]
        if not slots:
            continue
        version = await version_of(session, checklist, now)
        targets = await targets_of(session, checklist, settings)
        for slot in slots:
            existing = set(await session.scalars(select(PatrolRound.scope_key).where(
                PatrolRound.checklist_code == checklist.code, PatrolRound.slot == slot.key)))
            values = [round_values(checklist, version, target, slot, await assigner.assignees(checklist, target), now)
                      for target in targets if target.key not in existing]  # kept: made before an edit
            created += await create_rounds(session, values)
    if created:
        log.info("patrols: %d round(s) dispatched", len(created))
    return created

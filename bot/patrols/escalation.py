"""A round nobody walks: a reminder before due, a second at due, then the team lead, then the manager, each once
(the outbox key is the step), sent by the job whether or not anybody opens the app; at the end of its window the
round is recorded 漏检 with what was done, or skipped when its machine was in a planned stop all along."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.models.equipment import MachineState, MachineStateKind
from bot.models.patrols import PatrolRound
from bot.patrols.cards import follow_round, send_round
from bot.patrols.dispatch import in_planned_stop
from bot.patrols.service import PatrolService
from bot.patrols.settings import PatrolsSettings
from bot.people import userids_with_roles
from bot.settings import Settings
from bot.templates import Templates

PLANNED_STOP_REASON = "计划停机"


@dataclass(frozen=True)
class Step:
    name: str  # remind, due, lead, manager
    at: datetime
    to_assignees: bool
    role: str = ""
    priority: outbox.Priority = outbox.Priority.ROUTINE


def ladder(row: PatrolRound, feature: PatrolsSettings) -> list[Step]:
    due = row.due_at
    return [Step("remind", max(row.window_start, due - timedelta(minutes=feature.remind_before_min)), True),
            Step("due", due, True),
            Step("lead", due + timedelta(minutes=feature.lead_after_min), False, feature.lead_role,
                 outbox.Priority.HIGH),
            Step("manager", due + timedelta(minutes=feature.manager_after_min), False, feature.manager_role,
                 outbox.Priority.HIGH)]


async def stopped_all_window(session: AsyncSession, row: PatrolRound) -> bool:
    """The machine was in one planned stop from the window's start to its end (as OPC UA recorded it)."""
    if row.machine_id is None:
        return False
    found = await session.scalar(select(MachineState.id).where(
        MachineState.machine_id == row.machine_id, MachineState.state == MachineStateKind.PLANNED_STOP,
        MachineState.start_at <= row.window_start,
        MachineState.end_at.is_(None) | (MachineState.end_at >= row.window_end)).limit(1))
    return found is not None


class Escalator:
    def __init__(self, session: AsyncSession, settings: Settings, templates: Templates, now: datetime) -> None:
        self.session, self.settings, self.templates, self.now = session, settings, templates, now
        self.feature: PatrolsSettings = settings.feature("patrols")
        self.patrols = PatrolService(session, settings, templates, now)

    async def run(self) -> dict[str, int]:
        """One pass over the open rounds; safe to repeat (every step is once-only by its key)."""
        done = {"cards": 0, "sent": 0, "missed": 0, "skipped": 0}
        rows = list(await self.session.scalars(select(PatrolRound).where(
            PatrolRound.status.in_(("open", "started")), PatrolRound.window_start <= self.now)
            .order_by(PatrolRound.id)))
        stopped = await in_planned_stop(self.session, [r.machine_id for r in rows if r.machine_id], self.now)
        for row in rows:
            if self.now >= row.window_end:
                done["skipped" if await self._close(row) else "missed"] += 1
                continue
            if row.machine_id in stopped:
                continue  # no calls to walk a machine in a planned stop
            if not row.card_sent:
                send_round(self.session, self.templates, await self.patrols.round_view(row.id),
                           self.settings.server.base_url, self.now)
                done["cards"] += 1
            for step in ladder(row, self.feature):
                if step.at <= self.now and await self._send(row, step):
                    done["sent"] += 1
        return done

    async def _send(self, row: PatrolRound, step: Step) -> bool:
        key = f"patrol:{row.id}:{step.name}"
        if await outbox.is_queued(self.session, key):
            return False
        if step.to_assignees:
            to = list(row.assignees)
        else:
            to = await userids_with_roles(self.session, [step.role], line_id=row.line_id,
                                          include_unassigned=row.line_id is not None)
        if not to:
            return False
        view = await self.patrols.round_view(row.id)
        text = self.templates.render("patrols/escalation.txt.j2", v=view, step=step.name, now=self.now,
                                     url=f"{self.settings.server.base_url}/h5/patrols/round/{row.id}")
        return await outbox.enqueue_once(self.session, key, "text", {"content": text}, to=to,
                                         priority=step.priority, now=self.now) is not None

    async def _close(self, row: PatrolRound) -> bool:
        """漏检 with what was done, or skipped for a planned stop; True when skipped."""
        skipped = await stopped_all_window(self.session, row)
        row.status = "skipped" if skipped else "missed"
        row.reason = PLANNED_STOP_REASON if skipped else None
        row.finished_at = self.now
        await self.session.flush()
        if row.card_sent:
            view = await self.patrols.round_view(row.id)
            await follow_round(self.session, self.templates, view, self.settings.server.base_url, self.now)
        return skipped

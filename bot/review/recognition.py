"""月度之星: the month's candidates by the published formula (docs/review.md, "Recognition"), not by volume alone.

- 最佳数据录入奖 (entry): score = 100 × (0.4·T + 0.4·C + 0.2·K) over the member's reports of the month, where
  T = share on time (created within `timely_minutes` after the end of the report's shift), C = 1 − (corrections
  asked for + rejected reports + rejected change requests) / reports, K = share complete (no scrap, or scrap
  with a reason). At least `min_reports`; ties go to more reports.
- 点检之星 (patrol): share of the member's rounds (assigned, or finished by them; skipped rounds left out) that
  they finished by the due time (a round without a recorded finisher counts for its assignees). At least
  `min_rounds`.
- 解决问题之星 (issues): the median hours from creation to resolution of the issues they owned and closed in the
  month (已关闭; 已驳回 is not a fix), lowest first. At least `min_issues`.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import User
from bot.models.issues import Issue, IssueStatus
from bot.models.patrols import PatrolRound
from bot.models.reports import ChangeKind, ChangeStatus, ReportChange, ReportStatus, WorkReport
from bot.review.settings import RecognitionSettings
from bot.settings import Settings

CATEGORIES = ("entry", "patrol", "issues")


@dataclass
class Candidate:
    user_id: int
    name: str
    score: float  # entry and patrol: points of 100, higher is better; issues: median hours, lower is better
    count: int  # reports, rounds or issues the score stands on
    parts: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _shift_ends(settings: Settings) -> Any:
    """(shift day, shift code) → that shift's end, cached: a month has some sixty of them."""
    calendar, cache = settings.calendar, {}
    shifts = {s.code: s for s in calendar.shifts}

    def end_of(day: Any, code: str) -> datetime:
        if (day, code) not in cache:
            shift = shifts.get(code)
            cache[(day, code)] = (calendar.slot(shift, day).end if shift is not None
                                  else calendar.day_bounds(day)[1])
        return cache[(day, code)]

    return end_of


async def entry_candidates(session: AsyncSession, settings: Settings, config: RecognitionSettings, start: datetime,
                           end: datetime) -> list[Candidate]:
    end_of, late = _shift_ends(settings), timedelta(minutes=config.timely_minutes)
    tally: dict[int, list[int]] = {}  # user → [reports, on time, complete, rejected]
    rows = await session.execute(
        select(WorkReport.user_id, WorkReport.shift_day, WorkReport.shift_code, WorkReport.created_at,
               WorkReport.scrap, WorkReport.reason_code, WorkReport.status)
        .where(WorkReport.created_at >= start, WorkReport.created_at < end,
               WorkReport.status.in_([ReportStatus.CONFIRMED.value, ReportStatus.REJECTED.value])))
    for user_id, day, code, created, scrap, reason, status in rows:
        t = tally.setdefault(user_id, [0, 0, 0, 0])
        t[0] += 1
        t[1] += _aware(created) <= end_of(day, code) + late
        t[2] += not scrap or bool(reason)
        t[3] += status == ReportStatus.REJECTED.value
    flag = (ReportChange.kind == ChangeKind.CORRECTION.value) | (ReportChange.status == ChangeStatus.REJECTED.value)
    flagged = await session.execute(
        select(WorkReport.user_id, func.count()).join(ReportChange, ReportChange.report_id == WorkReport.id)
        .where(WorkReport.created_at >= start, WorkReport.created_at < end, flag).group_by(WorkReport.user_id))
    changes = dict(flagged.tuples().all())
    out = []
    for user_id, (n, timely, complete, rejected) in tally.items():
        if n < config.min_reports:
            continue
        parts = {"timely": timely / n, "correct": max(0.0, 1 - (changes.get(user_id, 0) + rejected) / n),
                 "complete": complete / n}
        score = 100 * (config.weight_timely * parts["timely"] + config.weight_correct * parts["correct"]
                       + config.weight_complete * parts["complete"])
        out.append(Candidate(user_id, "", round(score, 2), n, parts))
    return sorted(out, key=lambda c: (-c.score, -c.count, c.user_id))


async def patrol_candidates(session: AsyncSession, config: RecognitionSettings, start: datetime,
                            end: datetime) -> list[Candidate]:
    ids = dict((await session.execute(select(User.wecom_userid, User.id))).tuples().all())
    tally: dict[int, list[int]] = {}  # user → [rounds, on time]
    rows = await session.execute(
        select(PatrolRound.assignees, PatrolRound.status, PatrolRound.finished_at, PatrolRound.finished_by,
               PatrolRound.due_at)
        .where(PatrolRound.window_start >= start, PatrolRound.window_start < end, PatrolRound.status != "skipped"))
    for assignees, status, finished, by, due in rows:
        people = {ids[u] for u in assignees or [] if u in ids} | ({by} if by else set())
        on_time = status == "done" and finished is not None and _aware(finished) <= _aware(due)
        for user_id in people:
            t = tally.setdefault(user_id, [0, 0])
            t[0] += 1
            t[1] += on_time and by in (user_id, None)  # no finisher recorded: the round's assignees share it
    out = [Candidate(u, "", round(100 * t[1] / t[0], 2), t[0], {"on_time": t[1] / t[0]})
           for u, t in tally.items() if t[0] >= config.min_rounds]
    return sorted(out, key=lambda c: (-c.score, -c.count, c.user_id))


async def issue_candidates(session: AsyncSession, config: RecognitionSettings, start: datetime,
                           end: datetime) -> list[Candidate]:
    hours: dict[int, list[float]] = {}
    rows = await session.execute(
        select(Issue.owner_id, Issue.created_at, Issue.resolved_at, Issue.closed_at)
        .where(Issue.status == IssueStatus.CLOSED.value, Issue.closed_at >= start, Issue.closed_at < end,
               Issue.owner_id.is_not(None)))
    for owner, created, resolved, closed in rows:
        done = _aware(resolved or closed)
        hours.setdefault(owner, []).append(max(0.0, (done - _aware(created)).total_seconds() / 3600))
    out = [Candidate(u, "", round(statistics.median(h), 2), len(h), {"median_h": statistics.median(h)})
           for u, h in hours.items() if len(h) >= config.min_issues]
    return sorted(out, key=lambda c: (c.score, -c.count, c.user_id))


async def candidates(session: AsyncSession, settings: Settings, start: datetime,
                     end: datetime) -> dict[str, list[Candidate]]:
    """The top candidates per award for the plant and [start, end), with names; inactive members left out."""
    config: RecognitionSettings = settings.feature("review").recognition
    found = {"entry": await entry_candidates(session, settings, config, start, end),
             "patrol": await patrol_candidates(session, config, start, end),
             "issues": await issue_candidates(session, config, start, end)}
    wanted = {c.user_id for ranked in found.values() for c in ranked}
    users = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(wanted)))} if wanted else {}
    out = {}
    for category, ranked in found.items():
        kept = [c for c in ranked if c.user_id in users and users[c.user_id].active][:config.candidates]
        for c in kept:
            c.name = users[c.user_id].name
        out[category] = kept
    return out

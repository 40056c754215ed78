"""The demo plant's history: a pre-rollout baseline month and the months since rollout up to now (states, work
orders, reports), so KPIs mean something at once and the first monthly review shows real movement.

The baseline month (four months back) is the as-is: longer stops, slower runs, more scrap, more late orders,
every report typed in from paper (import). From the next month opsbot is in use: each month a little better,
and the reports come by scan (h5) and chat. The demo's `[review]` baseline is that first month
(`configure_review`), unless the config names one."""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, Machine, Operation, Plant, Role, User, WorkOrder, WorkOrderStatus
from bot.models.equipment import CounterDelta, MachineState, StateSource
from bot.models.reports import ChangeKind, ChangeStatus, ReportChange, ReportStatus, WorkReport
from bot.plant_calendar import PlantCalendar, ShiftSettings, ShiftSlot, default_shifts, next_month
from bot.settings import Settings

PREFIX = "HIST-"
MONTHS_BACK = 4  # the baseline month is this many months before the current one
BREAKS = ((time(12, 0), 30), (time(0, 0), 30))  # plant-local meal breaks: planned stops, minutes
STOP_SHARES = (0.45, 0.35, 0.20)  # down, idle, setup


@dataclass(frozen=True)
class Phase:
    """How the plant ran in one month of the history (0: the baseline, before rollout)."""

    run_min: float  # mean run between stops
    down: tuple[float, float]  # minutes, uniform
    speed: tuple[float, float]  # share of the ideal rate while running
    scrap: float
    late: float  # orders finished after their due time
    sources: tuple[float, float, float]  # import, chat, h5 shares of the month's reports


PHASES = (Phase(50, (10, 70), (0.68, 0.86), 0.045, 0.35, (1.0, 0.0, 0.0)),
          Phase(60, (7, 55), (0.74, 0.91), 0.034, 0.22, (0.35, 0.35, 0.30)),
          Phase(66, (5, 48), (0.77, 0.94), 0.027, 0.15, (0.10, 0.35, 0.55)),
          Phase(72, (4, 42), (0.79, 0.96), 0.021, 0.10, (0.0, 0.25, 0.75)))
SOURCES = ("import", "chat", "h5")
REASONS = (("MECH", 0.30), ("TOOL", 0.22), ("MAT", 0.18), ("ELEC", 0.12), ("PROG", 0.08), ("OTHER", 0.05), ("", 0.05))


def _reason(rng: np.random.Generator) -> str | None:
    """The [equipment] default reasons, mostly mechanical; a few stops never got one (未填写原因)."""
    pick, running = rng.random(), 0.0
    for code, weight in REASONS:
        running += weight
        if pick < running:
            return code or None
    return None


def history_start(now: datetime, tz: ZoneInfo) -> date:
    """The baseline month's first day (plant-local)."""
    first = now.astimezone(tz).date().replace(day=1)
    for _ in range(MONTHS_BACK):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


class Slots:
    """Every shift of the history computed once, found by bisection (the calendar per call was most of the cost)."""

    def __init__(self, calendar: PlantCalendar, days: list[date]) -> None:
        self.slots = calendar.slots_on([days[0] - timedelta(days=1), *days, days[-1] + timedelta(days=1)])
        self.ends = [s.end for s in self.slots]
        self.tz = calendar.tz

    def at(self, instant: datetime) -> ShiftSlot:
        """The shift holding `instant` (the one ending first after it; shifts cover the day without gaps)."""
        return self.slots[bisect.bisect_right(self.ends, instant)]

    def edges(self, a: datetime, b: datetime) -> list[datetime]:
        """Shift ends strictly inside (a, b)."""
        return self.ends[bisect.bisect_right(self.ends, a):bisect.bisect_left(self.ends, b)]


def _phase(day: date, first: date) -> Phase:
    months = (day.year - first.year) * 12 + day.month - first.month
    return PHASES[min(months, len(PHASES) - 1)]


def _timeline(rng: np.random.Generator, start: datetime, end: datetime, fixed: list[tuple[str, datetime, datetime]],
              phase_of: object) -> list[tuple[str, datetime, datetime]]:
    """Running with random stops between the fixed planned stops and data gaps (each phase its own rates)."""
    out: list[tuple[str, datetime, datetime]] = []
    cursor = start
    for kind, fixed_start, fixed_end in [*sorted(fixed, key=lambda f: f[1]), ("end", end, end)]:
        while cursor < fixed_start:
            phase: Phase = phase_of(cursor)  # type: ignore[operator]
            run = min(cursor + timedelta(minutes=float(rng.exponential(phase.run_min)) + 5), fixed_start)
            out.append(("running", cursor, run))
            cursor = run
            if cursor >= fixed_start:
                break
            pick = rng.random()
            stop = "down" if pick < STOP_SHARES[0] else "idle" if pick < STOP_SHARES[0] + STOP_SHARES[1] else "setup"
            low, high = phase.down if stop == "down" else ((3, 25) if stop == "idle" else (10, 30))
            stop_end = min(cursor + timedelta(minutes=float(rng.uniform(low, high))), fixed_start)
            out.append((stop, cursor, stop_end))
            cursor = stop_end
        if kind != "end":
            out.append((kind, max(fixed_start, cursor), fixed_end))
            cursor = max(cursor, fixed_end)
    return [(kind, a, b) for kind, a, b in out if b > a]


async def seed_history(session: AsyncSession, now: datetime,
                       shifts: list[ShiftSettings] | None = None) -> dict[str, int]:
    """Writes the history up to `now` once (skipped when it exists; a machine's own states are not overlapped)."""
    if await session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.code.like(PREFIX + "%"))):
        return {}
    tz = ZoneInfo(await session.scalar(select(Plant.timezone).limit(1)) or "Asia/Shanghai")
    machines = (await session.execute(select(Machine.id, Machine.line_id, Machine.ideal_cycle_time_s, Machine.name)
                                      .order_by(Machine.id))).all()
    lines = (await session.scalars(select(Line.id).order_by(Line.id))).all()
    users = (await session.scalars(select(User).where(User.active.is_(True)))).all()
    first_state = dict((await session.execute(select(MachineState.machine_id, func.min(MachineState.start_at))
                                              .group_by(MachineState.machine_id))).all())
    if not machines:
        return {}
    rng = np.random.default_rng(20260101)
    calendar = PlantCalendar(tz, shifts or default_shifts())
    end = now.astimezone(UTC).replace(second=0, microsecond=0)
    first_day = history_start(now, tz)
    days = [first_day + timedelta(days=i) for i in range((end.astimezone(tz).date() - first_day).days + 1)]
    start = datetime.combine(first_day, time(0), tz).astimezone(UTC)  # all in UTC: aware comparisons across zones
    breaks = [(datetime.combine(d, t, tz).astimezone(UTC), datetime.combine(d, t, tz).astimezone(UTC)
               + timedelta(minutes=m)) for d in days for t, m in BREAKS]

    def phase_of(instant: datetime) -> Phase:
        return _phase(instant.astimezone(tz).date(), first_day)

    states, reports, slots = [], [], Slots(calendar, days)
    orders = await _orders(session, lines, machines, days, tz, end, rng, first_day)
    for machine_id, line_id, ideal, _name in machines:
        until = min(end, first_state.get(machine_id, end))
        gap_day = days[int(rng.integers(1, len(days) - 1))]
        outage_start = datetime.combine(gap_day, time(int(rng.integers(1, 22)), 0), tz).astimezone(UTC)
        fixed = [("planned_stop", a, b) for a, b in breaks if b <= until]
        if outage_start + timedelta(minutes=90) <= until:
            fixed.append(("unknown", outage_start, outage_start + timedelta(minutes=int(rng.integers(20, 90)))))
        for kind, a, b in _timeline(rng, start, until, fixed, phase_of):
            states.append({"machine_id": machine_id, "state": kind, "start_at": a, "end_at": b,
                           "reason_code": _reason(rng) if kind == "down" else None,
                           "source": StateSource.IMPORT.value})
            if kind == "running":
                made = int((b - a).total_seconds() / ideal * rng.uniform(*phase_of(a).speed))
                edges = slots.edges(a, b)
                for piece_start, piece_end in zip([a, *edges], [*edges, b], strict=True):  # reported per shift
                    share = int(made * (piece_end - piece_start) / (b - a))
                    at = piece_end - timedelta(seconds=1) if piece_end in edges else piece_end  # before the edge
                    if share > 0:
                        reports.append((machine_id, line_id, at, share, piece_start))
    operators = [u for u in users if Role.OPERATOR.value in u.roles] or list(users)
    rows, counted = _report_rows(reports, operators, orders, slots, rng, phase_of)
    connection = await session.connection()  # Core inserts: the ORM's bulk path is several times slower here
    for table, batch in ((MachineState, states), (WorkReport, rows), (CounterDelta, counted)):
        for i in range(0, len(batch), 5000):
            await connection.execute(insert(table.__table__), batch[i:i + 5000])
    corrections = await _corrections(session, start + timedelta(days=31), rng)
    return {"machine_states": len(states), "work_reports": len(rows), "work_orders": len(orders),
            "counter_deltas": len(counted), "report_corrections": corrections}


async def _orders(session: AsyncSession, lines: list[int], machines: list, days: list[date], tz: ZoneInfo,
                  end: datetime, rng: np.random.Generator,
                  first_day: date) -> dict[tuple[int, date], dict[int, tuple[int, int]]]:
    """One order a day per line, with an operation per machine of the line; fewer are late month by month."""
    orders: dict[tuple[int, date], WorkOrder] = {}
    for line_id in lines:
        # the day's plan: 70 % of what the line's machines make in 21 hours at their ideal rate (good summed
        # over the machines, as the KPI engine sums a line's output)
        plan = max(100, int(0.7 * sum(21 * 3600 / m[2] for m in machines if m[1] == line_id) / 100) * 100)
        for day in days:  # today too: the machines have run since midnight, and their output counts
            due = datetime.combine(day, time(20, 0), tz)
            late = rng.random() < _phase(day, first_day).late
            done = due + timedelta(hours=float(rng.uniform(1, 20))) if late else due - timedelta(
                hours=float(rng.uniform(0.5, 6)))
            orders[(line_id, day)] = WorkOrder(
                code=f"{PREFIX}{day:%Y%m%d}-{line_id}", line_id=line_id, quantity=plan,
                status=WorkOrderStatus.CLOSED if done <= end else WorkOrderStatus.RELEASED, due_at=due,
                released_at=due - timedelta(hours=14), completed_at=done if done <= end else None)
    session.add_all(orders.values())
    await session.flush()
    operations: dict[tuple[int, date, int], Operation] = {}
    for (line_id, day), order in orders.items():
        for seq, (machine_id, _line, _ideal, name) in enumerate([m for m in machines if m[1] == line_id], 1):
            operations[(line_id, day, machine_id)] = Operation(
                work_order_id=order.id, seq=seq * 10, name=name, machine_id=machine_id,
                planned_quantity=order.quantity)
    session.add_all(operations.values())
    await session.flush()
    out: dict[tuple[int, date], dict[int, tuple[int, int]]] = {key: {} for key in orders}
    for (line_id, day, machine_id), op in operations.items():
        out[(line_id, day)][machine_id] = (orders[(line_id, day)].id, op.id)
    return out


def _report_rows(reports: list, operators: list[User], orders: dict, slots: Slots,
                 rng: np.random.Generator, phase_of: object) -> tuple[list[dict], list[dict]]:
    """A report per machine, run and shift; some operators report late (hours after their shift) now and then.
    The random draws are made for all reports at once (numpy per call was most of the cost)."""
    rows: list[dict] = []
    counted: list[dict] = []
    if not reports or not operators:
        return rows, counted
    phases: list[Phase] = [phase_of(r[2]) for r in reports]  # type: ignore[operator]
    scraps = rng.binomial(np.array([r[3] for r in reports]), np.array([p.scrap for p in phases]))
    draws = rng.random((len(reports), 4))  # source, tardiness, delay, scrap reason
    tardy = {u.id: float(rng.uniform(0.0, 0.25)) for u in operators}  # each operator's habit
    crews = {line: [u for u in operators if u.line_id == line] or operators for line in {r[1] for r in reports}}
    for index, (machine_id, line_id, at, made, began) in enumerate(reports):
        ids = orders.get((line_id, at.astimezone(slots.tz).date()), {}).get(machine_id)
        if ids is None:
            continue
        slot, phase, scrap, (d_source, d_tardy, d_delay, d_reason) = slots.at(at), phases[index], int(
            scraps[index]), draws[index]
        counted.append({"machine_id": machine_id, "start_at": began, "end_at": at, "good": made - scrap,
                        "scrap": scrap, "source": StateSource.IMPORT.value})  # what the PLC counted
        crew = crews[line_id]
        user = crew[index % len(crew)]
        imported, chat = phase.sources[0], phase.sources[0] + phase.sources[1]
        source = "import" if d_source < imported else "chat" if d_source < chat else "h5"
        created = at
        if source == "import":  # typed in from the paper sheets the next morning
            created = slot.end + timedelta(hours=8 + 6 * d_delay)
        elif d_tardy < tardy[user.id]:
            created = slot.end + timedelta(minutes=40 + 260 * d_delay)
        rows.append({"operation_id": ids[1], "work_order_id": ids[0], "machine_id": machine_id, "line_id": line_id,
                     "user_id": user.id, "good": made - scrap, "scrap": scrap,
                     "reason_code": ("DIM" if d_reason < 0.5 else "LOOK" if d_reason < 0.75 else "MAT")
                     if scrap and d_reason < 0.85 else None,
                     "shift_day": slot.day, "shift_code": slot.code, "source": source,
                     "status": ReportStatus.CONFIRMED.value, "idempotency_key": f"demo-history:{machine_id}:{index}",
                     "created_at": created, "updated_at": created})
    return rows, counted


async def _corrections(session: AsyncSession, since: datetime, rng: np.random.Generator) -> int:
    """About 2 % of the reports since rollout were corrected afterwards (what the correctness score counts)."""
    found = (await session.execute(select(WorkReport.id, WorkReport.user_id, WorkReport.created_at).where(
        WorkReport.idempotency_key.like("demo-history:%"), WorkReport.created_at >= since))).all()
    picked = [row for row in found if rng.random() < 0.02]
    if picked:
        await session.execute(insert(ReportChange), [
            {"report_id": rid, "kind": ChangeKind.CORRECTION.value, "status": ChangeStatus.APPLIED.value,
             "requested_by": uid, "requested_at": at + timedelta(minutes=5)} for rid, uid, at in picked])
    return len(picked)


async def configure_review(session: AsyncSession, settings: Settings) -> tuple[date, date] | None:
    """The demo's `[review]` baseline: the history's first month, unless the config names one (kept as is)."""
    config = settings.feature("review")
    if config.baseline is not None:
        return config.baseline
    first_due = await session.scalar(select(func.min(WorkOrder.due_at)).where(WorkOrder.code.like(PREFIX + "%")))
    if first_due is None:
        return None
    first = settings.calendar.day_of(first_due).replace(day=1)
    last = next_month(first) - timedelta(days=1)
    config.baseline_start, config.baseline_end = first.isoformat(), last.isoformat()
    return first, last

"""A month of plausible history for the demo plant (states, work orders, reports), so KPIs mean something at once."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Line, Machine, Operation, Plant, Role, User, WorkOrder, WorkOrderStatus
from bot.models.equipment import CounterDelta, MachineState, StateSource
from bot.models.reports import ReportSource, ReportStatus, WorkReport
from bot.plant_calendar import PlantCalendar, ShiftSettings, default_shifts

PREFIX = "HIST-"
DAYS = 30
BREAKS = ((time(12, 0), 30), (time(0, 0), 30))  # plant-local meal breaks: planned stops, minutes
STOPS = (("down", 0.45, 4, 45), ("idle", 0.35, 3, 25), ("setup", 0.20, 10, 30))  # kind, share, min..max minutes


def _timeline(rng: np.random.Generator, start: datetime, end: datetime, breaks: list[tuple[datetime, datetime]],
              outage: tuple[datetime, datetime] | None) -> list[tuple[str, datetime, datetime]]:
    """Running with random stops, the plant's breaks as planned stops and one data gap as unknown."""
    fixed = sorted([("planned_stop", a, b) for a, b in breaks] + ([("unknown", *outage)] if outage else []),
                   key=lambda item: item[1])
    out: list[tuple[str, datetime, datetime]] = []
    cursor = start
    for kind, fixed_start, fixed_end in [*fixed, ("end", end, end)]:
        while cursor < fixed_start:
            run = min(cursor + timedelta(minutes=float(rng.exponential(70)) + 5), fixed_start)
            out.append(("running", cursor, run))
            cursor = run
            if cursor >= fixed_start:
                break
            stop_kind, _share, low, high = STOPS[rng.choice(3, p=[s[1] for s in STOPS])]
            stop_end = min(cursor + timedelta(minutes=float(rng.uniform(low, high))), fixed_start)
            out.append((stop_kind, cursor, stop_end))
            cursor = stop_end
        if kind != "end":
            out.append((kind, max(fixed_start, cursor), fixed_end))
            cursor = max(cursor, fixed_end)
    return [(kind, a, b) for kind, a, b in out if b > a]


async def seed_history(session: AsyncSession, now: datetime,
                       shifts: list[ShiftSettings] | None = None) -> dict[str, int]:
    """Writes DAYS days before `now` once (skipped when history exists or a machine already has states)."""
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
    end = now.replace(second=0, microsecond=0)
    first_day = end.astimezone(tz).date() - timedelta(days=DAYS)
    start = datetime.combine(first_day, time(0), tz)
    days = [first_day + timedelta(days=i) for i in range(DAYS + 1)]
    breaks = [(datetime.combine(d, t, tz), datetime.combine(d, t, tz) + timedelta(minutes=m))
              for d in days for t, m in BREAKS]
    states, reports = [], []
    orders = await _orders(session, lines, machines, days, tz, end, rng)
    for machine_id, line_id, ideal, _name in machines:
        until = min(end, first_state.get(machine_id, end))
        gap_day = days[int(rng.integers(1, DAYS))]
        outage_start = datetime.combine(gap_day, time(int(rng.integers(1, 22)), 0), tz)
        outage = (outage_start, outage_start + timedelta(minutes=int(rng.integers(20, 90))))
        window = [b for b in breaks if b[1] <= until]
        for kind, a, b in _timeline(rng, start, until, window, outage if outage[1] <= until else None):
            states.append({"machine_id": machine_id, "state": kind, "start_at": a, "end_at": b,
                           "reason_code": "DEMO" if kind == "down" else None, "source": StateSource.IMPORT.value})
            if kind == "running":
                made = int((b - a).total_seconds() / ideal * rng.uniform(0.78, 0.97))
                edges = [slot.end for slot in calendar.slots_between(a, b) if a < slot.end < b]
                for piece_start, piece_end in zip([a, *edges], [*edges, b], strict=True):  # reported per shift
                    share = int(made * (piece_end - piece_start) / (b - a))
                    at = piece_end - timedelta(seconds=1) if piece_end in edges else piece_end  # before the edge
                    if share > 0:
                        reports.append((machine_id, line_id, at, share, piece_start))
    operators = [u for u in users if Role.OPERATOR.value in u.roles] or list(users)
    for i in range(0, len(states), 2000):
        await session.execute(insert(MachineState), states[i:i + 2000])
    rows, counted = _report_rows(reports, operators, orders, calendar, rng)
    for i in range(0, len(rows), 2000):
        await session.execute(insert(WorkReport), rows[i:i + 2000])
    for i in range(0, len(counted), 2000):
        await session.execute(insert(CounterDelta), counted[i:i + 2000])
    return {"machine_states": len(states), "work_reports": len(rows), "work_orders": len(orders),
            "counter_deltas": len(counted)}


async def _orders(session: AsyncSession, lines: list[int], machines: list, days: list[date], tz: ZoneInfo,
                  end: datetime, rng: np.random.Generator) -> dict[tuple[int, date], dict[int, tuple[int, int]]]:
    """One order a day per line, with an operation per machine of the line; most finish before they are due."""
    out: dict[tuple[int, date], dict[int, tuple[int, int]]] = {}
    for line_id in lines:
        line_machines = [m for m in machines if m[1] == line_id]
        for day in days[:-1]:
            due = datetime.combine(day, time(20, 0), tz)
            late = rng.random() < 0.12
            done = due + timedelta(hours=float(rng.uniform(1, 20))) if late else due - timedelta(
                hours=float(rng.uniform(0.5, 6)))
            order = WorkOrder(code=f"{PREFIX}{day:%Y%m%d}-{line_id}", line_id=line_id, quantity=2000,
                              status=WorkOrderStatus.CLOSED if done <= end else WorkOrderStatus.RELEASED,
                              due_at=due, released_at=due - timedelta(hours=14),
                              completed_at=done if done <= end else None)
            session.add(order)
            await session.flush()
            ops = {}
            for seq, (machine_id, _line, _ideal, name) in enumerate(line_machines, start=1):
                op = Operation(work_order_id=order.id, seq=seq * 10, name=name, machine_id=machine_id,
                               planned_quantity=2000)
                session.add(op)
                await session.flush()
                ops[machine_id] = (order.id, op.id)
            out[(line_id, day)] = ops
    return out


def _report_rows(reports: list, operators: list[User], orders: dict, calendar: PlantCalendar,
                 rng: np.random.Generator) -> tuple[list[dict], list[dict]]:
    rows, counted = [], []
    for index, (machine_id, line_id, at, made, began) in enumerate(reports):
        day = calendar.day_of(at)
        ids = orders.get((line_id, day), {}).get(machine_id)
        if ids is None or not operators:
            continue
        scrap = int(rng.binomial(made, 0.02))
        counted.append({"machine_id": machine_id, "start_at": began, "end_at": at, "good": made - scrap,
                        "scrap": scrap, "source": StateSource.IMPORT.value})  # what the PLC counted
        crew = [u for u in operators if u.line_id == line_id] or operators
        slot = calendar.shift_at(at)
        rows.append({"operation_id": ids[1], "work_order_id": ids[0], "machine_id": machine_id, "line_id": line_id,
                     "user_id": crew[index % len(crew)].id, "good": made - scrap, "scrap": scrap,
                     "shift_day": slot.day, "shift_code": slot.code, "source": ReportSource.IMPORT.value,
                     "status": ReportStatus.CONFIRMED.value, "idempotency_key": f"demo-history:{machine_id}:{index}",
                     "created_at": at, "updated_at": at})
    return rows, counted

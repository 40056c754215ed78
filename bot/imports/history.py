"""Import kinds for history: work reports and machine state intervals."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import insert, or_, select

from bot.imports.context import ImportContext, code_map, lookup, plain_records
from bot.imports.parsing import Problems, duplicates_in_file, missing, parse_counts, parse_times
from bot.kpi import STATES
from bot.models import Machine, Operation, User, WorkOrder
from bot.models.equipment import MachineState, StateSource
from bot.models.reports import ReportSource, ReportStatus, WorkReport
from bot.plant_calendar import PlantCalendar
from bot.reports.service import order_refusal

FAR_FUTURE = pd.Timestamp("2200-01-01", tz="UTC")
BATCH = 5000


def shift_of(moments: pd.Series, ctx: ImportContext) -> tuple[pd.Series, pd.Series]:
    """(shift_day, shift_code) of each moment, as PlantCalendar.shift_at decides, vectorised."""
    if moments.isna().all():
        return pd.Series(None, index=moments.index, dtype=object), pd.Series("", index=moments.index)
    tz = ZoneInfo(ctx.tz)
    local = moments.dropna().dt.tz_convert(ctx.tz)
    first, last = local.min().date() - timedelta(days=2), local.max().date() + timedelta(days=1)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    slots = PlantCalendar(tz, ctx.shifts).slots_on(days)
    starts = pd.DatetimeIndex([s.start for s in slots]).as_unit("ns").asi8
    stamps = moments.fillna(moments.dropna().iloc[0]).dt.as_unit("ns").astype("int64").to_numpy()
    index = np.clip(np.searchsorted(starts, stamps, side="right") - 1, 0, len(slots) - 1)
    day = pd.Series([slots[i].day for i in index], index=moments.index)
    code = pd.Series([slots[i].code for i in index], index=moments.index)
    return day, code


def _key(parts: pd.DataFrame) -> pd.Series:
    columns = [parts[name].astype(object).where(parts[name].notna(), "").astype(str) for name in parts.columns]
    joined = columns[0].str.cat(columns[1:], sep="|")
    return "import:" + joined.map(lambda text: hashlib.sha256(text.encode()).hexdigest()[:40])


async def _operations(ctx: ImportContext, order_ids: list[int]) -> pd.DataFrame:
    rows = (await ctx.session.execute(
        select(Operation.id, Operation.work_order_id, Operation.seq, Operation.name, Operation.machine_id)
        .where(Operation.work_order_id.in_(order_ids)))).all() if order_ids else []
    return pd.DataFrame(rows, columns=["operation_id", "wo_id", "seq", "op_name", "op_machine"])


def _resolve_operations(out: pd.DataFrame, given: pd.Series, ops: pd.DataFrame,
                        problems: Problems | None = None) -> pd.Series:
    """Operation id per row: the named one (seq or name), else the order's one on that machine, else its first."""
    ops = ops.sort_values(["wo_id", "seq"])
    by_seq = ops.assign(text=ops["seq"].astype(str))[["wo_id", "text", "operation_id"]]
    by_name = ops.rename(columns={"op_name": "text"})[["wo_id", "text", "operation_id"]]
    named = pd.concat([by_seq, by_name]).drop_duplicates(["wo_id", "text"])
    left = pd.DataFrame({"wo_id": out["work_order_id"].astype("Int64"), "text": given.to_numpy(),
                         "machine_id": out["machine_id"].astype("Int64")})
    result = left.merge(named.astype({"wo_id": "Int64"}), on=["wo_id", "text"], how="left")["operation_id"]
    on_machine = ops.dropna(subset=["op_machine"]).drop_duplicates(["wo_id", "op_machine"])
    on_machine = on_machine.rename(columns={"op_machine": "machine_id"})[["wo_id", "machine_id", "operation_id"]]
    on_machine = on_machine.astype({"wo_id": "Int64", "machine_id": "Int64"})
    machine_match = left.merge(on_machine, on=["wo_id", "machine_id"], how="left")["operation_id"]
    first = left.merge(ops.drop_duplicates("wo_id")[["wo_id", "operation_id"]].astype({"wo_id": "Int64"}),
                       on="wo_id", how="left")["operation_id"]
    result.index = machine_match.index = first.index = out.index
    unnamed = (given == "").to_numpy()
    if problems is not None:  # an order without operations gets the named one at load time
        has_ops = out["work_order_id"].isin(set(ops["wo_id"])).to_numpy()
        problems.add(~unnamed & result.isna().to_numpy() & has_ops, "operation: unknown for this work order")
    return result.where(~unnamed, machine_match.fillna(first)).astype("Int64")


async def check_reports(frame: pd.DataFrame, ctx: ImportContext, problems: Problems) -> pd.DataFrame:
    missing(frame, ("reported_at", "user", "work_order", "machine"), problems)
    problems.add((frame["good"] == "") & (frame["scrap"] == ""), "good/scrap: missing")
    out = pd.DataFrame(index=frame.index)
    out["created_at"] = parse_times(frame["reported_at"], ctx.tz, "reported_at", problems)
    out["good"] = parse_counts(frame["good"], "good", problems)
    out["scrap"] = parse_counts(frame["scrap"], "scrap", problems)
    out["user_id"] = lookup(frame["user"], await code_map(ctx.session, User.wecom_userid, User.id))
    out["machine_id"] = lookup(frame["machine"], await code_map(ctx.session, Machine.code, Machine.id))
    out["work_order_id"] = lookup(frame["work_order"], await code_map(ctx.session, WorkOrder.code, WorkOrder.id))
    for column, name in (("user_id", "user"), ("machine_id", "machine"), ("work_order_id", "work_order")):
        problems.add(out[column].isna() & (frame[name] != ""),
                     f"{name}: unknown {name.replace('_', ' ')} " + frame[name])
    lines = dict((await ctx.session.execute(select(Machine.id, Machine.line_id))).all())
    out["line_id"] = out["machine_id"].map(lines).astype("Int64")
    given = frame["operation"] if "operation" in frame.columns else pd.Series("", index=frame.index)
    order_ids = sorted({int(v) for v in out["work_order_id"].dropna()})
    out["operation_id"] = _resolve_operations(out, given, await _operations(ctx, order_ids), problems)
    out["operation_text"] = given
    out["idempotency_key"] = _key(pd.DataFrame({
        "user": frame["user"], "wo": frame["work_order"], "op": given, "machine": frame["machine"],
        "at": out["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "good": out["good"], "scrap": out["scrap"]}))
    await _released_at_the_time(out, frame["work_order"], ctx, problems)
    out["shift_day"], out["shift_code"] = shift_of(out["created_at"], ctx)
    return out


async def reports_across(out: pd.DataFrame, ctx: ImportContext, problems: Problems) -> None:
    """Whole-file checks once every chunk is read: a report twice in the file, or imported before."""
    usable = ~problems.bad
    duplicates_in_file(out["idempotency_key"], "report", problems, only=usable)
    known: set[str] = set()
    keys = out["idempotency_key"][usable].tolist()
    for i in range(0, len(keys), 2000):
        chunk = keys[i:i + 2000]
        known.update((await ctx.session.scalars(
            select(WorkReport.idempotency_key).where(WorkReport.idempotency_key.in_(chunk)))).all())
    problems.add_loaded(out["idempotency_key"].isin(known) & usable, "report already imported")


async def _released_at_the_time(out: pd.DataFrame, codes: pd.Series, ctx: ImportContext,
                                problems: Problems) -> None:
    """The rule chat and H5 apply (bot.reports.service.order_refusal), at the report's own time: no report on
    a draft order, before an order's release, or on a closed order whose completion time is unknown. A closed
    order with a completion time keeps reports booked after it: history has late bookings, KPIs count them."""
    ids = sorted({int(v) for v in out["work_order_id"].dropna()})
    rows = (await ctx.session.execute(select(WorkOrder.id, WorkOrder.status, WorkOrder.released_at,
                                             WorkOrder.completed_at).where(WorkOrder.id.in_(ids)))).all() if ids else []
    if not rows:
        return
    orders = pd.DataFrame(rows, columns=["id", "status", "released_at", "completed_at"]).set_index("id")
    orders["released_at"] = pd.to_datetime(orders["released_at"], utc=True).dt.as_unit("ns")
    order = out["work_order_id"]
    refusal = order.map(orders["status"].map(lambda status: order_refusal(str(status)) or "")).astype(object)
    refusal = refusal.where(refusal.notna(), "")
    problems.add(refusal == "not_released", "work_order: " + codes + " is not released (draft)")
    unknown_end = order.map(orders["completed_at"].isna()).astype(object).eq(True)
    problems.add((refusal == "closed") & unknown_end, "work_order: " + codes + " is closed")
    released = order.map(orders["released_at"])
    early = (refusal != "not_released") & released.notna() & (out["created_at"].dt.as_unit("ns") < released)
    if early.any():
        shown = released.dt.tz_convert(ctx.tz).dt.strftime("%Y-%m-%d %H:%M")
        problems.add(early, "work_order: " + codes + " was not released yet (released " + shown + ")")


async def load_reports(rows: pd.DataFrame, ctx: ImportContext) -> int:
    """`rows` is the import's own frame of accepted rows: filled in place, not copied (a big file's worth)."""
    if rows["operation_id"].isna().any():
        await _fill_operations(rows, ctx)
    rows["source"] = ReportSource.IMPORT.value
    rows["status"] = ReportStatus.CONFIRMED.value
    rows["updated_at"] = rows["created_at"]
    rows = rows.drop(columns=["operation_text"])
    for i in range(0, len(rows), BATCH):  # dicts for a batch at a time: a dict per row of 400,000 is 400 MB
        await ctx.session.execute(insert(WorkReport), plain_records(rows.iloc[i:i + BATCH]))
    return len(rows)


async def _fill_operations(rows: pd.DataFrame, ctx: ImportContext) -> None:
    """Orders imported without operations get them: the named ones first, then one per machine if still none."""
    missing = rows["operation_id"].isna()
    order_ids = sorted({int(v) for v in rows.loc[missing, "work_order_id"]})
    named = rows[missing & (rows["operation_text"] != "")].drop_duplicates(["work_order_id", "operation_text"])
    specs = [(int(r.work_order_id), r.operation_text, int(r.machine_id)) for r in named.itertuples()]
    await _create_operations(specs, ctx)
    for attempt in range(2):
        missing = rows["operation_id"].isna()
        ops = await _operations(ctx, order_ids)
        rows.loc[missing, "operation_id"] = _resolve_operations(rows[missing], rows.loc[missing, "operation_text"],
                                                                ops)
        still = rows[rows["operation_id"].isna()].drop_duplicates(["work_order_id", "machine_id"])
        if still.empty or attempt:
            break
        await _create_operations([(int(r.work_order_id), "", int(r.machine_id)) for r in still.itertuples()], ctx)


async def _create_operations(specs: list[tuple[int, str, int]], ctx: ImportContext) -> None:
    """(order, name or seq text, machine) -> a new operation; a numeric text is its seq, others follow on."""
    if not specs:
        return
    ids = sorted({order for order, _, _ in specs})
    quantities = dict((await ctx.session.execute(select(WorkOrder.id, WorkOrder.quantity)
                                                 .where(WorkOrder.id.in_(ids)))).all())
    names = dict((await ctx.session.execute(select(Machine.id, Machine.name))).all())
    taken: dict[int, set[int]] = {order: set() for order in ids}
    for order, seq in (await ctx.session.execute(select(Operation.work_order_id, Operation.seq)
                                                 .where(Operation.work_order_id.in_(ids)))).all():
        taken[order].add(seq)
    records = []
    for order, text, machine in sorted(specs, key=lambda spec: not spec[1].isdigit()):
        seq = int(text) if text.isdigit() and int(text) not in taken[order] else max(taken[order], default=0) + 1
        taken[order].add(seq)
        name = text if text and not text.isdigit() else names.get(machine, "")
        records.append({"work_order_id": order, "seq": seq, "machine_id": machine, "name": name,
                        "planned_quantity": quantities[order]})
    await ctx.session.execute(insert(Operation), records)


async def check_states(frame: pd.DataFrame, ctx: ImportContext, problems: Problems) -> pd.DataFrame:
    missing(frame, ("machine", "state", "start", "end"), problems)
    state = frame["state"].str.lower().str.replace(r"[\s-]+", "_", regex=True)
    problems.add((state != "") & ~state.isin(STATES), "state: must be one of " + ", ".join(STATES))
    out = pd.DataFrame({"state": state}, index=frame.index)
    out["machine_id"] = lookup(frame["machine"], await code_map(ctx.session, Machine.code, Machine.id))
    problems.add(out["machine_id"].isna() & (frame["machine"] != ""), "machine: unknown machine " + frame["machine"])
    out["start_at"] = parse_times(frame["start"], ctx.tz, "start", problems)
    out["end_at"] = parse_times(frame["end"], ctx.tz, "end", problems)
    problems.add(out["end_at"] <= out["start_at"], "end: not after start")
    reason = frame["reason"] if "reason" in frame.columns else pd.Series("", index=frame.index)
    out["reason_code"] = reason.where(reason != "", None)
    return out


async def states_across(out: pd.DataFrame, ctx: ImportContext, problems: Problems) -> None:
    """Whole-file checks once every chunk is read: repeats and overlaps in the file, then with the database."""
    duplicates_in_file(out[["machine_id", "start_at"]], "interval (same machine and start)", problems,
                       only=~problems.bad)
    _overlaps_in_file(out, ~problems.bad, problems)
    await _against_database(out, ~problems.bad, ctx, problems)


def _overlaps_in_file(out: pd.DataFrame, usable: np.ndarray, problems: Problems) -> None:
    rows = out[usable].assign(row=problems.row_of(np.flatnonzero(usable))).sort_values(["machine_id", "start_at"])
    if rows.empty:
        return
    end_ns = rows["end_at"].dt.as_unit("ns").astype("int64")
    latest_end = end_ns.groupby(rows["machine_id"]).cummax()
    previous_end = latest_end.groupby(rows["machine_id"]).shift()
    owner = rows["row"].where(end_ns == latest_end).groupby(rows["machine_id"]).ffill()
    previous_owner = owner.groupby(rows["machine_id"]).shift()
    clash = previous_end.notna() & (rows["start_at"].dt.as_unit("ns").astype("int64") < previous_end)
    mask = pd.Series(False, index=out.index)
    mask[clash[clash].index] = True
    reason = ("overlaps the interval in row " + previous_owner.astype("Int64").astype(str)).reindex(out.index)
    problems.add(mask.to_numpy(), reason.fillna(""))


async def _against_database(out: pd.DataFrame, usable: np.ndarray, ctx: ImportContext,
                            problems: Problems) -> None:
    rows = out[usable]
    if rows.empty:
        return
    ids = sorted({int(v) for v in rows["machine_id"]})
    found = (await ctx.session.execute(
        select(MachineState.machine_id, MachineState.state, MachineState.start_at, MachineState.end_at)
        .where(MachineState.machine_id.in_(ids), MachineState.start_at < rows["end_at"].max().to_pydatetime(),
               or_(MachineState.end_at.is_(None), MachineState.end_at > rows["start_at"].min().to_pydatetime()))
    )).all()
    if not found:
        return
    db = pd.DataFrame(found, columns=["machine_id", "db_state", "db_start", "db_end"])
    db["machine_id"] = db["machine_id"].astype("Int64")
    db["db_start"] = pd.to_datetime(db["db_start"], utc=True).dt.as_unit("ns")
    db["db_end"] = pd.to_datetime(db["db_end"], utc=True).dt.as_unit("ns").fillna(FAR_FUTURE)
    left = rows.assign(pos=rows.index, end_key=rows["end_at"].dt.as_unit("ns")).sort_values("end_key")
    match = pd.merge_asof(left, db.sort_values("db_start"), left_on="end_key", right_on="db_start",
                          by="machine_id", allow_exact_matches=False).set_index("pos")
    same = ((match["db_start"] == match["start_at"]) & (match["db_end"] == match["end_at"])
            & (match["db_state"] == match["state"]))
    overlap = match["db_end"] > match["start_at"]
    flags = pd.Series(False, index=out.index)
    problems.add_loaded(flags.index.isin(same[same].index), "interval already in the database")
    clash = overlap & ~same
    text = ("overlaps an interval already in the database (" + match["db_start"].astype(str) + " to "
            + match["db_end"].astype(str) + ")")
    problems.add(flags.index.isin(clash[clash].index), text.reindex(out.index).fillna(""))


async def load_states(rows: pd.DataFrame, ctx: ImportContext) -> int:
    rows = rows.assign(source=StateSource.IMPORT.value)[
        ["machine_id", "state", "start_at", "end_at", "reason_code", "source"]]
    for i in range(0, len(rows), BATCH):
        await ctx.session.execute(insert(MachineState), plain_records(rows.iloc[i:i + BATCH]))
    return len(rows)

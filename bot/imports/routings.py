"""Routings: a work order's operations (seq, name, machine, planned quantity), from `opsbot import operations`
or as extra columns of a work-orders file (one row per operation, the order's columns repeated on each)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import exists, insert, select, update

from bot.imports.context import UPDATE_COLUMN, ImportContext, code_map, lookup, plain_records
from bot.imports.masters import load_work_orders, typed_work_orders
from bot.imports.parsing import ImportFileError, Problems, duplicates_in_file, missing, parse_counts
from bot.models import Line, Machine, Operation, WorkOrder
from bot.models.reports import WorkReport

OPERATION_COLUMNS = ("seq", "operation", "machine", "planned_quantity")
NAME_LENGTH = 128  # Operation.name
LARGEST = 2**31 - 1  # an INTEGER column
BATCH = 5000
ORDER_FIELDS = {"material": "material", "quantity": "quantity", "due_at": "due", "released_at": "released",
                "completed_at": "completed", "line_id": "line"}


def _same(left: pd.Series, right: pd.Series) -> pd.Series:
    """Equal, with missing equal to missing (== alone says NaT != NaT and <NA> for nullable ints)."""
    left, right = left.reset_index(drop=True), right.reset_index(drop=True)
    equal = (left == right).astype(object).fillna(False).astype(bool) | (left.isna() & right.isna())
    return equal.set_axis(range(len(equal)))


async def _typed_operations(frame: pd.DataFrame, ctx: ImportContext, problems: Problems,
                            given: pd.Series) -> pd.DataFrame:
    """`given`: the rows that describe an operation (a work-orders row may be an order without one)."""
    for name in ("seq", "operation"):
        problems.add(given & (frame[name] == ""), f"{name}: missing")
    out = pd.DataFrame({"has_op": given.to_numpy()}, index=frame.index)
    out["seq"] = parse_counts(frame["seq"], "seq", problems, positive=True)
    out["planned"] = parse_counts(frame["planned_quantity"], "planned_quantity", problems, positive=True)
    for column, name in (("seq", "seq"), ("planned", "planned_quantity")):
        problems.add(out[column] > LARGEST, f"{name}: must be at most {LARGEST}")
    out["op_name"] = frame["operation"]
    problems.add(frame["operation"].str.len() > NAME_LENGTH, f"operation: longer than {NAME_LENGTH} characters")
    machines = (await ctx.session.execute(select(Machine.code, Machine.id, Machine.line_id))).all()
    out["machine_id"] = lookup(frame["machine"], {str(code): int(i) for code, i, _ in machines})
    problems.add((frame["machine"] != "") & out["machine_id"].isna(), "machine: unknown machine " + frame["machine"])
    out["machine_line"] = out["machine_id"].map({i: line for _, i, line in machines}).astype("Int64")
    out["machine_code"] = frame["machine"]
    out[UPDATE_COLUMN] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    return out


async def _orders_in_database(ctx: ImportContext) -> pd.DataFrame:
    rows = (await ctx.session.execute(select(WorkOrder.code, WorkOrder.id, WorkOrder.line_id,
                                             WorkOrder.quantity))).all()
    """Indexed by id: line and quantity of every order (the whole table, as code_map reads it)."""
    frame = pd.DataFrame(rows, columns=["code", "id", "line_id", "quantity"])
    return frame.astype({"code": str, "id": np.int64}).set_index("id")


async def _planned_and_line(out: pd.DataFrame, ctx: ImportContext, problems: Problems) -> None:
    """An empty planned quantity is the order's quantity. A machine must be on the order's line: that line
    decides who may report on the operation and who approves (bot.reports.lookup), so an operation on another
    line's machine could never be reported by the people at that machine. An order that crosses lines has
    no line: each operation then belongs to its machine's line."""
    out["planned"] = out["planned"].where(out["planned"] > 0, out["order_quantity"]).astype(np.int64)
    other = (out["has_op"] & out["machine_line"].notna() & out["order_line"].notna()
             & (out["machine_line"] != out["order_line"]).fillna(False).astype(bool))
    if other.any():
        codes = {v: k for k, v in (await code_map(ctx.session, Line.code, Line.id)).items()}
        reason = ("machine: " + out["machine_code"] + " is on line " + out["machine_line"].map(codes).astype(str)
                  + ", not on the work order's line " + out["order_line"].map(codes).astype(str))
        problems.add(other, reason.where(other, ""))


async def check_operations(frame: pd.DataFrame, ctx: ImportContext, problems: Problems) -> pd.DataFrame:
    """`opsbot import operations`: the orders are in the database already."""
    missing(frame, ("work_order",), problems)
    out = await _typed_operations(frame, ctx, problems, pd.Series(True, index=frame.index))
    out["code"] = frame["work_order"]
    orders = await _orders_in_database(ctx)
    out["work_order_id"] = lookup(frame["work_order"], dict(zip(orders["code"], orders.index, strict=True)))
    problems.add(out["work_order_id"].isna() & (frame["work_order"] != ""),
                 "work_order: unknown work order " + frame["work_order"])
    out["order_line"] = out["work_order_id"].map(orders["line_id"]).astype("Int64")
    out["order_quantity"] = out["work_order_id"].map(orders["quantity"]).fillna(0).astype(np.int64)
    await _planned_and_line(out, ctx, problems)
    return out


async def check_orders_with_operations(frame: pd.DataFrame, ctx: ImportContext, problems: Problems) -> pd.DataFrame:
    """A work-orders file with operation columns. An order already in the database is not changed (as in the
    plain layout), but its operations in the file are loaded; a row without operation cells is an order only."""
    given = (frame[list(OPERATION_COLUMNS)] != "").any(axis=1)
    out = (await typed_work_orders(frame, ctx, problems)).join(await _typed_operations(frame, ctx, problems, given))
    orders = await _orders_in_database(ctx)
    out["work_order_id"] = lookup(frame["work_order"], dict(zip(orders["code"], orders.index, strict=True)))
    known = out["work_order_id"].notna()
    problems.add_loaded(known & ~given, "work order already in the database")
    db_line = out["work_order_id"].map(orders["line_id"]).astype("Int64")
    out["order_line"] = db_line.where(known, out["line_id"]).astype("Int64")
    db_quantity = out["work_order_id"].map(orders["quantity"])
    out["order_quantity"] = db_quantity.where(known, out["quantity"]).fillna(0).astype(np.int64)
    await _planned_and_line(out, ctx, problems)
    return out


async def operations_across(out: pd.DataFrame, ctx: ImportContext, problems: Problems) -> None:
    """An operation is its work order + seq: twice in the file is rejected, in the database it is skipped
    (same name, machine and planned quantity), updated (changed, nothing reported on it yet) or refused."""
    has_op = out["has_op"].to_numpy(dtype=bool)
    duplicates_in_file(out[["code", "seq"]], "seq of the work order", problems, only=~problems.bad & has_op)
    duplicates_in_file(out["code"], "work_order", problems, only=~problems.bad & ~has_op)
    await _against_database(out, ~problems.bad & has_op, ctx, problems)


async def orders_with_operations_across(out: pd.DataFrame, ctx: ImportContext, problems: Problems) -> None:
    _orders_agree(out, ~problems.bad, problems)
    await operations_across(out, ctx, problems)


def _orders_agree(out: pd.DataFrame, usable: np.ndarray, problems: Problems) -> None:
    """The order's columns are repeated on each of its operation rows: they must say the same as its first."""
    rows = out[usable]
    if rows.empty:
        return
    first = rows.index.to_series().groupby(rows["code"], sort=False).transform("first")
    reference = out.loc[first.to_numpy(), list(ORDER_FIELDS)]
    differs = pd.DataFrame({name: ~_same(rows[column], reference[column]).to_numpy()
                            for column, name in ORDER_FIELDS.items()}, index=rows.index)
    which = differs.dot(pd.Index([f"{name}, " for name in differs.columns])).str.rstrip(", ")
    first_row = pd.Series(problems.row_of(first.to_numpy()), index=rows.index).astype(str)
    reason = "work_order: " + rows["code"] + " differs from row " + first_row + " in " + which
    mask = np.zeros(len(out), dtype=bool)
    mask[np.flatnonzero(usable)[differs.any(axis=1).to_numpy()]] = True
    problems.add(mask, reason.reindex(out.index).fillna(""))


async def _against_database(out: pd.DataFrame, usable: np.ndarray, ctx: ImportContext, problems: Problems) -> None:
    rows = out[usable & out["work_order_id"].notna().to_numpy()]
    if rows.empty:
        return
    ids = sorted({int(v) for v in rows["work_order_id"]})
    reported = exists().where(WorkReport.operation_id == Operation.id)
    found = []
    for i in range(0, len(ids), 2000):
        found += (await ctx.session.execute(
            select(Operation.id, Operation.work_order_id, Operation.seq, Operation.name, Operation.machine_id,
                   Operation.planned_quantity, reported).where(Operation.work_order_id.in_(ids[i:i + 2000])))).all()
    if not found:
        return
    db = pd.DataFrame(found, columns=["db_id", "work_order_id", "seq", "db_name", "db_machine", "db_planned",
                                      "db_reported"]).astype({"work_order_id": "Int64", "seq": np.int64,
                                                              "db_machine": "Int64", "db_planned": np.int64})
    match = (rows[["work_order_id", "seq", "code", "op_name", "machine_id", "machine_code", "planned"]]
             .assign(pos=rows.index).merge(db, on=["work_order_id", "seq"]).set_index("pos"))
    changes = pd.DataFrame({"name": (match["op_name"] != match["db_name"]).to_numpy(),
                            "machine": ~_same(match["machine_id"], match["db_machine"]).to_numpy(),
                            "planned": (match["planned"] != match["db_planned"]).to_numpy()}, index=match.index)
    changed = changes.any(axis=1)
    problems.add_loaded(out.index.isin(match.index[~changed.to_numpy()]), "operation already in the database")
    locked = changed & match["db_reported"].astype(bool)
    if locked.any():
        machines = {v: k for k, v in (await code_map(ctx.session, Machine.code, Machine.id)).items()}
        reason = pd.Series({pos: _refusal(match.loc[pos], changes.loc[pos], machines)
                            for pos in match.index[locked.to_numpy()]}, dtype=object)
        problems.add(out.index.isin(reason.index), reason.reindex(out.index).fillna(""))
    updated = match.index[(changed & ~locked).to_numpy()]
    out.loc[updated, UPDATE_COLUMN] = match.loc[updated, "db_id"].to_numpy()


def _refusal(row: pd.Series, changes: pd.Series, machines: dict[int, str]) -> str:
    """Reports count against an operation's planned quantity and machine: changing it would rewrite history."""
    parts = []
    if changes["name"]:
        parts.append(f"operation {row['db_name']} -> {row['op_name']}")
    if changes["machine"]:
        before = machines.get(int(row["db_machine"]), "") if pd.notna(row["db_machine"]) else ""
        parts.append(f"machine {before or '(none)'} -> {row['machine_code'] or '(none)'}")
    if changes["planned"]:
        parts.append(f"planned_quantity {row['db_planned']} -> {row['planned']}")
    return (f"operation: seq {row['seq']} of {row['code']} already has reports and cannot change "
            f"({', '.join(parts)})")


async def load_operations(rows: pd.DataFrame, ctx: ImportContext) -> int:
    await _write_operations(rows[rows["has_op"]], ctx)
    return len(rows)


async def load_orders_with_operations(rows: pd.DataFrame, ctx: ImportContext) -> int:
    new = rows[rows["work_order_id"].isna()].drop_duplicates("code")
    if len(new):
        await load_work_orders(new, ctx)
    rows = rows.assign(work_order_id=lookup(rows["code"], await code_map(ctx.session, WorkOrder.code, WorkOrder.id)))
    await _write_operations(rows[rows["has_op"]], ctx)
    return len(rows)


def _records(rows: pd.DataFrame) -> list[dict[str, object]]:
    return plain_records(pd.DataFrame({"work_order_id": rows["work_order_id"], "seq": rows["seq"],
                                       "name": rows["op_name"], "machine_id": rows["machine_id"],
                                       "planned_quantity": rows["planned"]}))


async def _write_operations(rows: pd.DataFrame, ctx: ImportContext) -> None:
    new = rows[rows[UPDATE_COLUMN].isna()]
    for i in range(0, len(new), BATCH):
        await ctx.session.execute(insert(Operation), _records(new.iloc[i:i + BATCH]))
    changed = rows[rows[UPDATE_COLUMN].notna()]
    if changed.empty:
        return
    ids = [int(v) for v in changed[UPDATE_COLUMN]]
    # the row lock report() takes too: a report racing this import waits, then sees the new operation
    await ctx.session.execute(select(Operation.id).where(Operation.id.in_(ids)).with_for_update())
    late = await ctx.session.scalar(select(WorkReport.operation_id).where(WorkReport.operation_id.in_(ids)).limit(1))
    if late is not None:
        raise ImportFileError("an operation to be changed got a report while the file was checked; "
                              "nothing was loaded, run the import again")
    records = [{"id": op_id, **record} for op_id, record in zip(ids, _records(changed), strict=True)]
    await ctx.session.execute(update(Operation), [{k: v for k, v in r.items() if k != "work_order_id"}
                                                  for r in records])

"""Import kinds for master data: machines, users and work orders."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

import pandas as pd
from sqlalchemy import insert, select

from bot.imports.context import ImportContext, code_map, lookup, plain_records
from bot.imports.parsing import (
    Problems,
    duplicates_in_file,
    missing,
    parse_counts,
    parse_positive,
    parse_times,
)
from bot.models import Line, Machine, Material, Plant, Role, User, WorkOrder, WorkOrderStatus

ROLES = {role.value for role in Role}
Across = Callable[[pd.DataFrame, ImportContext, Problems], Awaitable[None]]


async def check_machines(frame: pd.DataFrame, ctx: ImportContext, problems: Problems) -> pd.DataFrame:
    missing(frame, ("machine", "name", "line", "ideal_cycle_time_s"), problems)
    out = pd.DataFrame({"code": frame["machine"], "name": frame["name"], "line": frame["line"]})
    out["ideal"] = parse_positive(frame["ideal_cycle_time_s"], "ideal_cycle_time_s", problems)
    known = await code_map(ctx.session, Machine.code, Machine.id)
    problems.add_loaded(frame["machine"].isin(list(known)), "machine already in the database")
    return out


def _unique_codes(column: str, what: str) -> Across:
    """The whole-file check of a master kind: a code twice in the file (maybe in different chunks)."""
    async def across(checked: pd.DataFrame, ctx: ImportContext, problems: Problems) -> None:
        duplicates_in_file(checked[column], what, problems, only=(checked[column] != "").to_numpy())
    return across


machines_across = _unique_codes("code", "machine")
users_across = _unique_codes("wecom_userid", "userid")
work_orders_across = _unique_codes("code", "work_order")


async def _plant_id(ctx: ImportContext) -> int:
    plant_id = await ctx.session.scalar(select(Plant.id).order_by(Plant.id).limit(1))
    if plant_id is None:
        plant = Plant(code="PLANT", name=ctx.plant_name, timezone=ctx.tz)
        ctx.session.add(plant)
        await ctx.session.flush()
        plant_id = plant.id
    return int(plant_id)


async def load_machines(rows: pd.DataFrame, ctx: ImportContext) -> int:
    lines = await code_map(ctx.session, Line.code, Line.id)
    new_lines = sorted(set(rows["line"]) - set(lines))
    if new_lines:
        plant_id = await _plant_id(ctx)
        await ctx.session.execute(insert(Line), [{"plant_id": plant_id, "code": c, "name": c} for c in new_lines])
        lines = await code_map(ctx.session, Line.code, Line.id)
    records = pd.DataFrame({"code": rows["code"], "name": rows["name"], "line_id": rows["line"].map(lines),
                            "ideal_cycle_time_s": rows["ideal"]})
    if len(records):
        await ctx.session.execute(insert(Machine), records.to_dict("records"))
    return len(records)


async def check_users(frame: pd.DataFrame, ctx: ImportContext, problems: Problems) -> pd.DataFrame:
    missing(frame, ("userid", "name", "roles"), problems)
    roles = frame["roles"].str.replace("；", ";").str.split(";").map(
        lambda items: [item.strip().lower() for item in items if item.strip()])
    unknown = roles.map(lambda items: sorted(set(items) - ROLES))
    problems.add(unknown.map(bool), "roles: unknown role(s) " + unknown.map(", ".join)
                 + f" (use {', '.join(sorted(ROLES))})")
    line_text = frame["line"] if "line" in frame.columns else pd.Series("", index=frame.index)
    lines = await code_map(ctx.session, Line.code, Line.id)
    line_id = lookup(line_text, lines)
    problems.add((line_text != "") & line_id.isna(), "line: unknown line " + line_text)
    known = await code_map(ctx.session, User.wecom_userid, User.id)
    problems.add_loaded(frame["userid"].isin(list(known)), "user already in the database")
    return pd.DataFrame({"wecom_userid": frame["userid"], "name": frame["name"], "roles": roles,
                         "line_id": line_id})


async def load_users(rows: pd.DataFrame, ctx: ImportContext) -> int:
    records = plain_records(rows.assign(created_at=pd.Timestamp(ctx.now)))
    if records:
        await ctx.session.execute(insert(User), records)
    return len(records)


async def check_work_orders(frame: pd.DataFrame, ctx: ImportContext, problems: Problems) -> pd.DataFrame:
    out = await typed_work_orders(frame, ctx, problems)
    known = await code_map(ctx.session, WorkOrder.code, WorkOrder.id)
    problems.add_loaded(frame["work_order"].isin(list(known)), "work order already in the database")
    return out


async def typed_work_orders(frame: pd.DataFrame, ctx: ImportContext, problems: Problems) -> pd.DataFrame:
    """The order columns typed; whether the order is already loaded is the caller's rule (routings differ)."""
    missing(frame, ("work_order", "material", "quantity", "due"), problems)
    out = pd.DataFrame({"code": frame["work_order"], "material": frame["material"]})
    out["quantity"] = parse_counts(frame["quantity"], "quantity", problems, positive=True)
    out["due_at"] = parse_times(frame["due"], ctx.tz, "due", problems, date_only_end_of_day=True)
    for column, name in (("released", "released_at"), ("completed", "completed_at")):
        text = frame[column] if column in frame.columns else pd.Series("", index=frame.index)
        out[name] = parse_times(text, ctx.tz, column, problems)
    problems.add(out["completed_at"] < out["released_at"], "completed: before released")
    line_text = frame["line"] if "line" in frame.columns else pd.Series("", index=frame.index)
    out["line_id"] = lookup(line_text, await code_map(ctx.session, Line.code, Line.id))
    problems.add((line_text != "") & out["line_id"].isna(), "line: unknown line " + line_text)
    return out


async def load_work_orders(rows: pd.DataFrame, ctx: ImportContext) -> int:
    materials = await code_map(ctx.session, Material.code, Material.id)
    new = sorted(set(rows["material"]) - set(materials))
    if new:
        await ctx.session.execute(insert(Material), [{"code": c, "name": c} for c in new])
        materials = await code_map(ctx.session, Material.code, Material.id)
    frame = pd.DataFrame({
        "code": rows["code"], "material_id": rows["material"].map(materials), "quantity": rows["quantity"],
        "line_id": rows["line_id"], "due_at": rows["due_at"], "released_at": rows["released_at"],
        "completed_at": rows["completed_at"],
    })
    frame["status"] = WorkOrderStatus.RELEASED.value
    frame.loc[frame["completed_at"].notna(), "status"] = WorkOrderStatus.CLOSED.value
    records = plain_records(frame)
    if records:
        await ctx.session.execute(insert(WorkOrder), records)
    return len(records)

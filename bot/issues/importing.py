"""`opsbot import issues FILE`: an existing 问题清单 (Chinese headers as the export writes them, or English
ones) through bot/imports, so it gets the same row-numbered pre-check and all-or-nothing load as every import.

Owners and reporters are matched by name or WeCom id (a name two people share is refused: say the id);
statuses and priorities by their Chinese names, the aliases in issues/export.toml, or the codes. A row with a
number keeps it (a second import of the same file skips those rows); a row without one is numbered in the
year it was raised, after every number already given, so the chat's next issue cannot collide.
"""
from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.imports.context import ImportContext, code_map, lookup
from bot.imports.parsing import Problems, duplicates_in_file, missing, parse_times
from bot.issues.assignment import pick_owner, pick_verifier
from bot.issues.excel import export_names
from bot.issues.numbering import NUMBER, format_number, next_number
from bot.issues.settings import IssuesSettings
from bot.models import Line, Machine, User
from bot.models.issues import Issue, IssueCounter, IssueEvent, IssueSource, IssueStatus

REQUIRED = ("title",)
OPTIONAL = ("number", "description", "category", "priority", "status", "owner", "reporter", "line", "machine",
            "due", "created", "closed")
# The export's headers and what plants commonly call the same columns.
ALIASES = {
    "编号": "number", "问题编号": "number", "标题": "title", "问题": "title", "问题描述": "title",
    "描述": "description", "详细描述": "description", "类别": "category", "分类": "category",
    "问题类别": "category", "优先级": "priority", "状态": "status", "负责人": "owner", "责任人": "owner",
    "负责人账号": "owner_userid", "报告人": "reporter", "提出人": "reporter", "产线": "line", "线别": "line",
    "设备": "machine", "截止日期": "due", "计划完成日期": "due", "创建时间": "created", "提出日期": "created",
    "关闭时间": "closed", "完成日期": "closed",
}
_DAY_PARTS = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[T ]00:00(?::00)?)?$")
_CLOSED = (IssueStatus.CLOSED.value, IssueStatus.REJECTED.value)


def _settings(ctx: ImportContext) -> IssuesSettings:
    return ctx.settings.feature("issues") if ctx.settings is not None else IssuesSettings()


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series("", index=frame.index)


def parse_days(text: pd.Series, name: str, problems: Problems) -> pd.Series:
    """Plant-local days: 2026-05-12, 2026/5/12, 2026年5月12日, or an Excel date cell; None when empty."""
    parts = text.str.extract(_DAY_PARTS)
    days = pd.to_datetime(parts[0] + "-" + parts[1] + "-" + parts[2], format="%Y-%m-%d", errors="coerce")
    bad = (text != "") & days.isna()
    problems.add(bad, f"{name}: not a date (use 2026-05-12)")
    return pd.Series([d.date() if not pd.isna(d) else None for d in days], index=text.index, dtype=object)


def _coded(text: pd.Series, names: dict[str, str], aliases: dict[str, str], default: str, column: str,
           problems: Problems) -> pd.Series:
    """A status or priority code from its Chinese name, an alias or the code itself; unknown names are reported."""
    known = {**{v: k for k, v in names.items()}, **aliases, **{k: k for k in names}}
    codes = text.map(lambda v: (known.get(v) or known.get(v.lower())) if v else default)
    problems.add(codes.isna(), column + ": unknown value " + text + f" (use {' / '.join(names.values())})")
    return codes.fillna(default)


async def _people(session: AsyncSession) -> tuple[dict[str, int], dict[str, int], set[str]]:
    """(WeCom id → id, name → id for names one person holds, names several people hold)."""
    rows = (await session.execute(select(User.id, User.wecom_userid, User.name).where(User.active.is_(True)))).all()
    by_userid = {userid: user_id for user_id, userid, _ in rows}
    counts: dict[str, list[int]] = {}
    for user_id, _, name in rows:
        if name:
            counts.setdefault(name, []).append(user_id)
    return by_userid, {n: ids[0] for n, ids in counts.items() if len(ids) == 1}, {
        n for n, ids in counts.items() if len(ids) > 1}


def _match_people(text: pd.Series, people: tuple[dict[str, int], dict[str, int], set[str]], column: str,
                  problems: Problems) -> pd.Series:
    by_userid, by_name, shared = people
    ids = text.map(by_userid).fillna(text.map(by_name)).astype("Int64")
    problems.add(text.isin(list(shared)) & ~text.isin(list(by_userid)),
                 column + ": " + text + " is the name of several people; give the WeCom id")
    problems.add((text != "") & ids.isna() & ~text.isin(list(shared)), column + ": unknown person " + text)
    return ids


async def check_issues(frame: pd.DataFrame, ctx: ImportContext, problems: Problems) -> pd.DataFrame:
    settings = _settings(ctx)
    names = export_names()
    missing(frame, REQUIRED, problems)
    number_text = _column(frame, "number").str.upper()
    number_match = number_text.str.extract(NUMBER.pattern.replace("[Qq]", "Q"))
    given = number_text != ""
    problems.add(given & number_match[0].isna(), "number: not an issue number (Q-2026-0012), leave it empty")
    category = _column(frame, "category")
    problems.add((category != "") & ~category.isin(settings.categories),
                 "category: unknown category " + category + f" (use {' / '.join(settings.categories)})")
    owner_text = _column(frame, "owner").where(_column(frame, "owner_userid") == "", _column(frame, "owner_userid"))
    people = await _people(ctx.session)
    line_text, machine_text = _column(frame, "line"), _column(frame, "machine")
    line_id = lookup(line_text, await code_map(ctx.session, Line.code, Line.id))
    problems.add((line_text != "") & line_id.isna(), "line: unknown line " + line_text)
    machine_id = lookup(machine_text, await code_map(ctx.session, Machine.code, Machine.id))
    problems.add((machine_text != "") & machine_id.isna(), "machine: unknown machine " + machine_text)
    title = frame["title"]
    description = _column(frame, "description")
    out = pd.DataFrame({
        "number": number_text.where(number_match[0].notna(), ""),
        "year": pd.to_numeric(number_match[0], errors="coerce").astype("Int64"),
        "seq": pd.to_numeric(number_match[1], errors="coerce").astype("Int64"),
        "title": title.str.slice(0, 200),
        "description": description.where((description != "") | (title.str.len() <= 200), title),
        "category": category.where(category != "", settings.categories[-1]),
        "priority": _coded(_column(frame, "priority"), names["priority"], names.get("priority_aliases", {}),
                           "medium", "priority", problems),
        "status": _coded(_column(frame, "status"), names["status"], names.get("status_aliases", {}), "new",
                         "status", problems),
        "owner_id": _match_people(owner_text, people, "owner", problems),
        "reporter_id": _match_people(_column(frame, "reporter"), people, "reporter", problems),
        "line_id": line_id, "machine_id": machine_id,
        "due_on": parse_days(_column(frame, "due"), "due", problems),
        "created_at": parse_times(_column(frame, "created"), ctx.tz, "created", problems),
        "closed_at": parse_times(_column(frame, "closed"), ctx.tz, "closed", problems),
    })
    # A numberless row's own key, so importing the same list twice adds nothing (source_ref of the issue).
    fingerprint = title + "\x1f" + _column(frame, "created") + "\x1f" + out["category"]
    out["ref"] = number_text.where(number_text != "", "row:" + fingerprint.map(
        lambda text: hashlib.sha256(text.encode()).hexdigest()[:24]))
    problems.add(out["closed_at"] < out["created_at"], "closed: before created")
    problems.add(out["created_at"] > pd.Timestamp(ctx.now), "created: in the future")
    return out


async def issues_across(checked: pd.DataFrame, ctx: ImportContext, problems: Problems) -> None:
    numbered = (checked["number"] != "").to_numpy()
    duplicates_in_file(checked["number"], "number", problems, only=numbered)
    duplicates_in_file(checked["ref"], "row (same title, category and time)", problems, only=~numbered)
    numbers, refs = sorted(set(checked.loc[numbered, "number"])), sorted(set(checked.loc[~numbered, "ref"]))
    known: set[str] = set()
    for start in range(0, max(len(numbers), len(refs)), 500):
        known.update(await ctx.session.scalars(select(Issue.number).where(
            Issue.number.in_(numbers[start:start + 500]))))
        known.update(await ctx.session.scalars(select(Issue.source_ref).where(
            Issue.source == IssueSource.IMPORT.value, Issue.source_ref.in_(refs[start:start + 500]))))
    problems.add_loaded((checked["number"].isin(list(known)) | checked["ref"].isin(list(known))).to_numpy(),
                        "issue already in the database")


async def _numbers(session: AsyncSession, rows: pd.DataFrame, years: pd.Series) -> list[tuple[int, int, str]]:
    """(year, seq, number) per row: given numbers kept, the rest after the highest of the year (the counter too)."""
    found: list[tuple[int, int, str] | None] = [None] * len(rows)
    for year in sorted(set(years)):
        positions = np.flatnonzero((years == year).to_numpy())
        given = [int(rows["seq"].iat[p]) for p in positions if rows["number"].iat[p]]
        fresh = [p for p in positions if not rows["number"].iat[p]]
        first, _ = await next_number(session, int(year))  # creates and locks the counter; first = last + 1
        base = max([first - 1, *given])
        for offset, position in enumerate(fresh, start=1):
            found[position] = (int(year), base + offset, format_number(int(year), base + offset))
        for position in positions:
            if rows["number"].iat[position]:
                found[position] = (int(year), int(rows["seq"].iat[position]), rows["number"].iat[position])
        await session.execute(update(IssueCounter).where(IssueCounter.year == int(year))
                              .values(last=base + len(fresh)))
    return [f for f in found if f is not None]


async def load_issues(rows: pd.DataFrame, ctx: ImportContext) -> int:
    from bot.plant_calendar import PlantCalendar

    settings = _settings(ctx)
    calendar = (ctx.settings.calendar if ctx.settings is not None else PlantCalendar(_zone(ctx.tz), ctx.shifts))
    rows = rows.reset_index(drop=True)
    now = pd.Timestamp(ctx.now)
    created = rows["created_at"].fillna(now)
    years = pd.Series([calendar.day_of(c.to_pydatetime()).year for c in created], index=rows.index)
    years = rows["year"].where(rows["number"] != "", years).astype(int)
    numbers = await _numbers(ctx.session, rows, years)
    users = {u.id: u for u in await ctx.session.scalars(select(User))}
    records, events = [], []
    for i in range(len(rows)):
        row = rows.iloc[i]
        year, seq, number = numbers[i]
        at = created.iat[i].to_pydatetime()
        status = str(row["status"])
        closed = row["closed_at"].to_pydatetime() if not pd.isna(row["closed_at"]) else ctx.now
        line_id = _int(row["line_id"])
        machine_id = _int(row["machine_id"])
        if line_id is None and machine_id is not None:
            line_id = await ctx.session.scalar(select(Machine.line_id).where(Machine.id == machine_id))
        owner = users.get(_int(row["owner_id"]) or 0) or await pick_owner(
            ctx.session, settings, category=row["category"], line_id=line_id)
        reporter = users.get(_int(row["reporter_id"]) or 0)
        verifier = await pick_verifier(ctx.session, settings, reporter=reporter, owner=owner, line_id=line_id)
        due: date = row["due_on"] or calendar.day_of(at) + timedelta(days=settings.due_days(row["priority"]))
        records.append({
            "number": number, "year": year, "seq": seq, "title": row["title"] or number,
            "description": row["description"], "category": row["category"], "priority": row["priority"],
            "source": IssueSource.IMPORT.value, "source_ref": row["ref"], "status": status,
            "reporter_id": reporter.id if reporter else None, "owner_id": owner.id if owner else None,
            "verifier_id": verifier.id if verifier else None, "line_id": line_id, "machine_id": machine_id,
            "due_on": due, "escalation_level": 0, "created_at": at,
            "updated_at": closed if status != IssueStatus.NEW else at,
            "resolved_at": closed if status in (IssueStatus.TO_VERIFY, IssueStatus.CLOSED) else None,
            "closed_at": closed if status in _CLOSED else None,
        })
        events.append((number, at, status, closed))
    for start in range(0, len(records), 1000):
        await ctx.session.execute(insert(Issue), records[start:start + 1000])
    await _history(ctx.session, events)
    return len(records)


async def _history(session: AsyncSession, events: list[tuple[str, Any, str, Any]]) -> None:
    """A `created` row for each (and the status it came in with), so the history says it was imported."""
    ids: dict[str, int] = {}
    numbers = [number for number, *_ in events]
    for start in range(0, len(numbers), 500):
        ids.update({n: i for i, n in (await session.execute(select(Issue.id, Issue.number).where(
            Issue.number.in_(numbers[start:start + 500])))).all()})
    values: list[dict[str, Any]] = []
    for number, at, status, changed in events:
        values.append({"issue_id": ids[number], "at": at, "kind": "created", "old": None, "new": "new",
                       "note": "导入"})
        if status != IssueStatus.NEW:
            values.append({"issue_id": ids[number], "at": changed, "kind": "status", "old": "new", "new": status,
                           "note": "导入"})
    for start in range(0, len(values), 1000):
        await session.execute(insert(IssueEvent), values[start:start + 1000])


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)

"""The weekly digest over a seeded month: its counts equal the ones computed here in plain Python from the rows,
the PMs get the card, the chart and the Excel file through the sandbox once per ISO week, and a week in which
nothing changed sends nothing."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from bot.issues.digest import reported_week
from bot.models import OutboxMessage
from bot.models.issues import Issue, IssueEvent
from jobs import issues_digest
from tests.conftest import Stack
from tests.handlers.issues_support import seed_people

MONDAY_9 = datetime(2026, 5, 18, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
OPEN = ("new", "in_progress", "to_verify")


async def seed_month(stack: Stack, seeded: object) -> None:
    """Sixty issues raised over five weeks, a third closed, some rejected, some reopened, due dates around now."""
    rng = random.Random(7)
    owners = [seeded.users[u] for u in ("maint1", "lead1", "qc1", "pm1")]  # type: ignore[attr-defined]
    start = MONDAY_9 - timedelta(days=35)
    async with stack.services.sessions.begin() as session:
        for seq in range(1, 61):
            created = start + timedelta(minutes=rng.randrange(35 * 24 * 60))
            status = rng.choice(["new", "in_progress", "to_verify", "closed", "closed", "rejected"])
            closed = (created + timedelta(hours=rng.randrange(1, 240))) if status in ("closed", "rejected") else None
            if closed is not None and closed >= MONDAY_9:
                closed = MONDAY_9 - timedelta(minutes=5)
            issue = Issue(number=f"Q-2026-{seq:04d}", year=2026, seq=seq, title=f"问题{seq}",
                          category=rng.choice(["设备", "质量", "系统问题"]), status=status,
                          owner_id=rng.choice(owners), created_at=created, updated_at=closed or created,
                          closed_at=closed, due_on=(created + timedelta(days=rng.randrange(1, 10))).date())
            session.add(issue)
            await session.flush()
            session.add(IssueEvent(issue_id=issue.id, at=created, kind="created", new="new"))
            if closed is not None:
                session.add(IssueEvent(issue_id=issue.id, at=closed, kind="status", old="in_progress", new=status))


def expected(issues: list[Issue], start: datetime, end: datetime, after: date) -> dict[str, int]:
    """The definitions of docs/issues.md, written out independently of bot/issues/digest.py."""
    def open_at(i: Issue) -> bool:
        return i.created_at < end and (i.status in OPEN or (i.closed_at is not None and i.closed_at >= end))
    return {
        "new": sum(start <= i.created_at < end for i in issues),
        "closed": sum(i.status == "closed" and i.closed_at is not None and start <= i.closed_at < end for i in issues),
        "open": sum(open_at(i) for i in issues),
        "overdue": sum(open_at(i) and i.due_on is not None and i.due_on < after for i in issues),
    }


async def digest_rows(stack: Stack) -> list[OutboxMessage]:
    async with stack.services.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.startswith("iss:digest:")).order_by(OutboxMessage.id)))


async def test_digest_counts_match_the_database_and_arrive_once_with_chart_and_file(stack: Stack,
                                                                                   tmp_path: Path) -> None:
    seeded = await seed_people(stack)
    await seed_month(stack, seeded)
    digest = await issues_digest.run(stack.services, MONDAY_9)
    assert digest is not None and digest.week.monday == date(2026, 5, 11)
    async with stack.services.sessions() as session:
        issues = list(await session.scalars(select(Issue)))
    week = digest.week
    this = expected(issues, week.start, week.end, week.after)
    last = expected(issues, week.start - timedelta(days=7), week.start, week.monday)
    assert vars(digest.this) == this and vars(digest.last) == last
    assert this["new"] > 0 and this["closed"] > 0 and this["overdue"] > 0, "the seed exercises every figure"
    assert sum(o["open"] for o in digest.owners) == this["open"]
    assert sum(c["new"] for c in digest.categories) == this["new"]
    assert digest.trend[-1][3] == this["open"] and len(digest.trend) == 8
    assert [r.issue.created_at for r in digest.oldest] == sorted(
        i.created_at for i in issues if i.status in OPEN)[:10]

    assert await issues_digest.run(stack.services, MONDAY_9 + timedelta(hours=1)) is None, "once per ISO week"
    rows = await digest_rows(stack)
    assert [r.idempotency_key for r in rows] == [f"iss:digest:{week.iso}:{part}" for part in ("card", "chart", "file")]
    card = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "template_card" and "pm1" in m.touser)
    values = {e["keyname"]: e["value"] for e in card.payload["horizontal_content_list"]}
    assert values["新增"] == f"{this['new']}（上周 {last['new']}）"
    assert values["逾期"] == f"{this['overdue']}（上周 {last['overdue']}）"
    assert card.payload["card_action"]["url"].endswith("/h5/issues/digest?week=2026-05-11")
    image = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "image" and "pm1" in m.touser)
    sent = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "file" and "pm1" in m.touser)
    assert image.payload["media_id"] and sent.payload["media_id"]
    media = stack.sandbox.state.media[sent.payload["media_id"]]
    assert (media.type, media.filename) == ("file", f"问题清单-{week.iso}.xlsx")
    assert stack.sandbox.state.media[image.payload["media_id"]].data.startswith(b"\x89PNG")
    path = tmp_path / "digest.xlsx"
    path.write_bytes(media.data)
    sheet = load_workbook(path).active
    assert sheet.max_row == 61 and sheet["A1"].value == "编号"


async def test_a_week_without_any_change_sends_nothing(stack: Stack) -> None:
    seeded = await seed_people(stack)
    await seed_month(stack, seeded)
    later = MONDAY_9 + timedelta(weeks=3)  # the month's issues all changed before the reported week
    week = reported_week(stack.services.settings.calendar, later)
    assert week.start > MONDAY_9
    assert await issues_digest.run(stack.services, later) is None
    assert await digest_rows(stack) == []

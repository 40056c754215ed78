"""Helpers for the issue-list tests: a small plant (lines L1/L2, machines L1-M1…) and its people, known to the
sandbox too, plus readers for issues, their history and the cards people hold."""
from __future__ import annotations

import struct
import zlib
from typing import Any

from sqlalchemy import select

from bot.issues.photos import fetch_pending
from bot.models.issues import Issue, IssueEvent, IssuePhoto, PhotoStatus
from integrations.wecom.sandbox.state import SentMessage
from tests.bot.reports.seed import Seeded, seed
from tests.conftest import Stack, eventually

PEOPLE = [  # userid, name, roles, line
    ("op1", "张三", ["operator"], 1), ("maint1", "孙师傅", ["maintenance"], 1), ("lead1", "赵班长", ["team_lead"], 1),
    ("pm1", "周经理", ["pm"], None), ("mgr1", "郭厂长", ["manager"], None), ("qc1", "吴质检", ["qc"], 1),
    ("maint2", "马师傅", ["maintenance"], 2),
]


async def seed_people(stack: Stack) -> Seeded:
    seeded = await seed(stack.services.sessions, with_users=False)
    lines = {1: seeded.line1, 2: seeded.line2}
    for userid, name, roles, line in PEOPLE:
        user = await stack.add_user(userid, name, roles, line_id=lines.get(line or 0))
        seeded.users[userid] = user.id
    return seeded


def png(size: int = 64) -> bytes:
    """A real PNG (with `size` bytes of payload in a private chunk, so tests can make it large)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"prVt", bytes(range(256)) * (size // 256 + 1))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


async def issues(stack: Stack) -> list[Issue]:
    async with stack.services.sessions() as session:
        return list(await session.scalars(select(Issue).order_by(Issue.id)))


async def history(stack: Stack, issue_id: int) -> list[tuple[str, str | None, str | None, int | None]]:
    async with stack.services.sessions() as session:
        events = await session.scalars(select(IssueEvent).where(IssueEvent.issue_id == issue_id)
                                       .order_by(IssueEvent.id))
        return [(e.kind, e.old, e.new, e.actor_id) for e in events]


async def photos_settled(stack: Stack) -> list[IssuePhoto]:
    """Drives the photo fetcher until no photo waits (the scheduler's own firing may take some first)."""
    async def settled() -> list[IssuePhoto] | None:
        await fetch_pending(stack.services, stack.services.clock())
        async with stack.services.sessions() as session:
            rows = list(await session.scalars(select(IssuePhoto).order_by(IssuePhoto.id)))
            for row in rows:
                await session.refresh(row, ["data"])
        waiting = [r for r in rows if r.status in (PhotoStatus.PENDING, PhotoStatus.FETCHING)]
        return rows if rows and not waiting else None
    return await eventually(settled)


def is_card_to(userid: str, number: str | None = None) -> Any:
    def check(m: SentMessage) -> bool:
        if m.api != "message/send" or m.msgtype != "template_card" or userid not in m.touser:
            return False
        return number is None or number in m.payload["main_title"]["title"]
    return check


def cards_of(stack: Stack, userid: str, number: str) -> list[dict[str, Any]]:
    """Every card of the issue this person holds, as their phone shows it now."""
    found = []
    for m in stack.sandbox.messages_for(userid):
        if m.api == "message/send" and m.msgtype == "template_card" and number in m.payload["main_title"]["title"]:
            found.append(stack.sandbox.card_shown(userid, m.payload["task_id"]))
    return found

"""Sending the monthly review: each recipient gets a news message that opens the page for their scope and the
XLSX as a file (a media step the sender produces and uploads), each at most once per recipient and month."""
from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import outbox
from bot.kpi.scopes import Scope, scope_of_user
from bot.outbox import MediaFile, MediaStep, Priority, Producer
from bot.people import users_with_roles
from bot.review.access import review_url
from bot.review.service import build_review
from bot.review.workbook import XLSX_TYPE, workbook_bytes
from bot.settings import Settings
from bot.templates import Templates

XLSX = "review_xlsx"


def once_key(month: date, userid: str, part: str) -> str:
    return f"review:{month:%Y-%m}:{userid}:{part}"


async def send_month(session: AsyncSession, settings: Settings, templates: Templates, month: date,
                     now: datetime) -> int:
    """Queues the month's review for every recipient (managers by default); returns how many were new."""
    config = settings.feature("review")
    sent, built = 0, {}
    for user in await users_with_roles(session, config.recipient_roles):
        scope = await scope_of_user(session, user)
        if scope is None:
            continue
        if scope.key not in built:
            built[scope.key] = await build_review(session, settings, scope, month, now)
        url = review_url(settings.server.base_url, month, scope)
        news = json.loads(templates.render("review/news.json.j2", r=built[scope.key], url=url))
        to = [user.wecom_userid]
        if await outbox.enqueue_once(session, once_key(month, user.wecom_userid, "news"), "news", news, to=to,
                                     priority=Priority.ROUTINE, now=now) is None:
            continue
        args = {"month": f"{month:%Y-%m}", "scope": scope.kind, "code": scope.code, "name": scope.name}
        await outbox.enqueue_once(session, once_key(month, user.wecom_userid, "file"), "file", {}, to=to,
                                  priority=Priority.ROUTINE, now=now, media=MediaStep(XLSX, args, kind="file"))
        sent += 1
    return sent


def producers(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Producer]:
    """The sender's producer for the review's XLSX (opsbot/app.py registers it)."""

    async def workbook(args: dict[str, Any], now: datetime) -> MediaFile:
        month = date.fromisoformat(args["month"] + "-01")
        scope = Scope(args["scope"], args.get("code", ""), args.get("name", ""))
        async with sessions() as session:
            review = await build_review(session, settings, scope, month, now)
        label = "全厂" if scope.kind == "plant" else scope.code
        return MediaFile(f"月度复盘-{label}-{args['month']}.xlsx", XLSX_TYPE,
                         await asyncio.to_thread(workbook_bytes, review))

    return {XLSX: workbook}

"""Sending the monthly review: each recipient gets a news message that opens the page for their scope, the XLSX
and the PDF as files (media steps the sender produces and uploads), each at most once per recipient and month."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import outbox
from bot.kpi.scopes import Scope, scope_of_user
from bot.outbox import MediaFile, MediaStep, Priority, Producer
from bot.people import users_with_roles
from bot.review.access import review_url
from bot.review.cards import send_cards
from bot.review.pdf import PDF_TYPE, render_pdf
from bot.review.service import Review, build_review
from bot.review.workbook import XLSX_TYPE, workbook_bytes
from bot.settings import Settings
from bot.templates import Templates

XLSX = "review_xlsx"
PDF = "review_pdf"


def once_key(month: date, userid: str, part: str) -> str:
    return f"review:{month:%Y-%m}:{userid}:{part}"


async def send_month(session: AsyncSession, settings: Settings, templates: Templates, month: date,
                     now: datetime) -> int:
    """Queues the month's review for every recipient (managers by default) and the award cards to those who see
    the plant; returns how many reviews were new."""
    config = settings.feature("review")
    sent, built, plant_people = 0, {}, []
    for user in await users_with_roles(session, config.recipient_roles):
        scope = await scope_of_user(session, user)
        if scope is None:
            continue
        if scope.kind == "plant":
            plant_people.append(user.wecom_userid)
        if scope.key not in built:
            built[scope.key] = await build_review(session, settings, scope, month, now)
        url = review_url(settings.server.base_url, month, scope)
        news = json.loads(templates.render("review/news.json.j2", r=built[scope.key], url=url))
        to = [user.wecom_userid]
        if await outbox.enqueue_once(session, once_key(month, user.wecom_userid, "news"), "news", news, to=to,
                                     priority=Priority.ROUTINE, now=now) is None:
            continue
        await queue_files(session, month, scope, user.wecom_userid, now, key=lambda part: once_key(
            month, user.wecom_userid, part))
        sent += 1
    if config.recognition.enabled and plant_people:  # the plant's managers confirm the month's awards
        await send_cards(session, settings, templates, month, plant_people, now)
    return sent


async def queue_files(session: AsyncSession, month: date, scope: Scope, userid: str, now: datetime, *,
                      key: Callable[[str], str]) -> bool:
    """The XLSX and the PDF of one scope and month to one member, each once per `key(part)`; False when the
    XLSX under that key was already queued (so the PDF was too)."""
    args = {"month": f"{month:%Y-%m}", "scope": scope.kind, "code": scope.code, "name": scope.name}
    first = await outbox.enqueue_once(session, key("file"), "file", {}, to=[userid], priority=Priority.ROUTINE,
                                      now=now, media=MediaStep(XLSX, args, kind="file"))
    if first is None:
        return False
    await outbox.enqueue_once(session, key("pdf"), "file", {}, to=[userid], priority=Priority.ROUTINE, now=now,
                              media=MediaStep(PDF, args, kind="file"))
    return True


def producers(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, Producer]:
    """The sender's producers for the review's XLSX and PDF (opsbot/app.py registers this dict)."""
    templates = Templates(settings.tz)

    async def built(args: dict[str, Any], now: datetime) -> tuple[Review, str]:
        month = date.fromisoformat(args["month"] + "-01")
        scope = Scope(args["scope"], args.get("code", ""), args.get("name", ""))
        async with sessions() as session:
            review = await build_review(session, settings, scope, month, now)
        label = "全厂" if scope.kind == "plant" else scope.code
        return review, f"月度复盘-{label}-{args['month']}"

    async def workbook(args: dict[str, Any], now: datetime) -> MediaFile:
        review, name = await built(args, now)
        return MediaFile(f"{name}.xlsx", XLSX_TYPE, await asyncio.to_thread(workbook_bytes, review))

    async def document(args: dict[str, Any], now: datetime) -> MediaFile:
        review, name = await built(args, now)
        return MediaFile(f"{name}.pdf", PDF_TYPE, await render_pdf(review, templates, settings.plant.name, now))

    return {XLSX: workbook, PDF: document}

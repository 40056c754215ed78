"""A week of patrol history for the demo plant, walked through the real dispatch and service (versions, visits,
answers, NG issues on the issue list) without cards: some NG, one round finished too fast, one 漏检."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import User
from bot.models.patrols import PatrolRound
from bot.patrols.definitions import Item
from bot.patrols.dispatch import dispatch
from bot.patrols.service import PatrolService
from bot.patrols.versions import current_checklists
from bot.settings import Settings
from bot.templates import Templates

DAYS = 7


def demo_photo() -> bytes:
    """A small grey JPEG standing in for a phone photo."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (128, 128, 120)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _value(item: Item, bad: bool) -> str:
    if item.kind == "ok_ng":
        return "ng" if bad else "ok"
    if item.kind == "choice":
        return (item.ng_options or item.options)[-1] if bad else item.options[0]
    if item.kind == "number":
        return _number(item.low, item.high, bad)
    return "正常" if item.kind == "text" else "照片"


def _number(low: float | None, high: float | None, bad: bool) -> str:
    """A reading inside the limits, or just above them for an NG."""
    if high is not None:
        return f"{high * 1.1:.2f}" if bad else f"{(high + (low if low is not None else high * 0.8)) / 2:.2f}"
    return f"{(low or 0) * (0.9 if bad else 1.1):.2f}"


async def seed_patrols(session: AsyncSession, settings: Settings, now: datetime) -> dict[str, int]:
    if await session.scalar(select(func.count()).select_from(PatrolRound)):
        return {}
    feature, calendar, templates = settings.feature("patrols"), settings.calendar, Templates(settings.tz)
    checklists = current_checklists(feature.path())
    start = calendar.day_bounds(calendar.day_of(now) - timedelta(days=DAYS))[0]
    created: list[int] = []
    cursor = start
    while cursor < now - timedelta(hours=13):  # rounds still open today are left to the live dispatcher
        cursor += timedelta(minutes=30)
        created += await dispatch(session, checklists, feature, calendar, cursor)
    users = {u.wecom_userid: u for u in await session.scalars(select(User))}
    photo, answered, missed, ng = demo_photo(), 0, 0, 0
    for number, round_id in enumerate(created):
        row = await session.get(PatrolRound, round_id)
        assert row is not None
        walker = users.get(row.assignees[0]) if row.assignees else None
        if walker is None:
            continue
        if number == 5:  # the one missed round: two checkpoints' worth of nothing, closed at its end
            row.status, row.finished_at = "missed", row.window_end
            missed += 1
            continue
        at = row.window_start + timedelta(minutes=5)
        patrols = PatrolService(session, settings, templates, at, quiet=True)
        view = await patrols.round_view(round_id)
        for c_index, checkpoint in enumerate(view.checkpoints):
            for i_index, state in enumerate(checkpoint.items):
                patrols.now = at = at + timedelta(minutes=2 if number != 9 else 0.1)
                bad = (number + c_index + i_index) % 17 == 0
                item = state.item
                value = _value(item, bad)
                photo_id = None
                if item.kind == "photo" or item.photo == "always" or (bad and item.photo == "on_ng"):
                    photo_id = await patrols.store_photo(walker, round_id, checkpoint.checkpoint.code, item.code,
                                                         "image/jpeg", photo)
                _, answer = await patrols.answer(walker, round_id, checkpoint.checkpoint.code, item.code, value,
                                                 photo_id)
                ng += answer.ng
        answered += 1
    return {"patrol rounds": len(created), "patrol rounds done": answered, "patrol rounds missed": missed,
            "patrol NG answers": ng}

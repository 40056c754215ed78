"""Monday 08:00: last week's leaderboard (minutes actually played, items completed) to each line's group robot
([[training.robots]]), once per line and week."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot import outbox
from bot.context import Services
from bot.models import Line
from bot.scheduler import Job
from bot.training.figures import leaderboard


async def run(services: Services, now: datetime) -> int:
    settings = services.settings.feature("training")
    calendar = services.settings.calendar
    start, end = calendar.week_bounds(calendar.day_of(now) - timedelta(days=7))
    sent = 0
    async with services.sessions.begin() as session:
        lines = {code: (line_id, name) for line_id, code, name in await session.execute(
            select(Line.id, Line.code, Line.name))}
        for robot in settings.robots:
            if robot.line not in lines or not robot.webhook_key:
                continue
            line_id, name = lines[robot.line]
            leaders = await leaderboard(session, line_id, start, end)
            text = services.templates.render("training/leaderboard.md.j2", line=name, leaders=leaders,
                                             start=start, end=end - timedelta(seconds=1))
            key = f"trn:board:{robot.line}:{calendar.day_of(start).isoformat()}"
            if await outbox.enqueue_once(session, key, "markdown", {"content": text}, channel="webhook",
                                         webhook_key=robot.webhook_key, now=now):
                sent += 1
    outbox.notify_if_enqueued(session, services.outbox_wakeup)
    return sent


job = Job("training_leaderboard", run, cron="0 8 * * 1", catch_up_s=8 * 3600)  # that Monday

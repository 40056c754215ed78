"""Every minute: reminders, escalations and 漏检 of rounds not done in time (each step once)."""
from __future__ import annotations

import logging
from datetime import datetime

from bot.context import Services
from bot.patrols.escalation import Escalator
from bot.scheduler import Job
from integrations.wecom.errors import WeComError

log = logging.getLogger(__name__)


async def run(services: Services, now: datetime) -> None:
    async with services.sessions.begin() as session:
        await Escalator(session, services.settings, services.templates, now).run()
    services.outbox_wakeup.set()
    await warm_jsapi_ticket(services)


async def warm_jsapi_ticket(services: Services) -> None:
    """Keeps the JS-SDK ticket fresh in memory, outside any transaction, so the H5 form signs wx.config at once."""
    if services.client is None:
        return
    try:
        await services.client.jsapi_ticket()
    except WeComError as exc:
        log.info("patrols: no jsapi_ticket (%s); the H5 form uses its file input", exc)


job = Job("patrols_escalation", run, interval_s=60)

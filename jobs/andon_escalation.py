"""Raises due downtime alerts, escalates untaken ones (team lead, then manager), cancels self-recovered ones."""
from __future__ import annotations

from datetime import datetime

from bot import outbox
from bot.context import Services
from bot.equipment import andon
from bot.equipment.cards import Notifier
from bot.equipment.settings import EquipmentSettings
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> andon.SweepResult:
    settings: EquipmentSettings = services.settings.feature("equipment")
    async with services.sessions.begin() as session:
        result = await andon.sweep(session, settings, Notifier(services.templates, settings), now)
    outbox.notify_if_enqueued(session, services.outbox_wakeup)
    return result


job = Job("andon_escalation", run, interval_s=30)

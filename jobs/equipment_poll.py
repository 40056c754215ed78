"""Keeps the equipment collectors running: one long-lived task per OPC UA endpoint, started on first firing.

The firing itself is cheap (it only checks the tasks), so a crashed runtime is restarted within one interval.
"""
from __future__ import annotations

from datetime import datetime

from bot.context import Services
from bot.equipment.cards import Notifier
from bot.equipment.runtime import EquipmentRuntime
from bot.equipment.settings import EquipmentSettings
from bot.scheduler import Job


async def run(services: Services, now: datetime) -> None:
    settings: EquipmentSettings = services.settings.feature("equipment")
    if not settings.machines:
        return
    runtime = services.equipment
    if runtime is None:
        runtime = EquipmentRuntime(services.sessions, settings, Notifier(services.templates, settings),
                                   services.clock, services.outbox_wakeup, leases=services.settings.feature("leases"))
        services.equipment = runtime
    await runtime.start()


# Not a singleton: every replica keeps its runtime going; the collector leases decide who reads which endpoint.
job = Job("equipment_poll", run, interval_s=5, singleton=False)

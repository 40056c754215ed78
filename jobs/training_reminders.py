"""Every 10 minutes: trial cards to seed users of new versions, required training assigned to every holder of
a role (a role given by an import or an admin is picked up here), reminders before the due time and escalations
to the team lead after it. Each step is sent once (outbox keys), so the interval only bounds the delay."""
from __future__ import annotations

from datetime import datetime

from bot import outbox
from bot.context import Services
from bot.scheduler import Job
from bot.training.assignment import Assignments, Steps
from bot.training.catalog import load_catalog
from bot.training.trial import Trials


async def run(services: Services, now: datetime) -> Steps:
    settings = services.settings.feature("training")
    catalog = load_catalog(settings.catalog_path, settings.media_path)
    base = services.settings.server.base_url
    async with services.sessions.begin() as session:
        await Trials(session, settings, catalog, services.templates, base, now).announce()
        steps = await Assignments(session, settings, catalog, services.templates, base, now).run()
    outbox.notify_if_enqueued(session, services.outbox_wakeup)
    return steps


job = Job("training_reminders", run, interval_s=600)

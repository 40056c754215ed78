"""What the patrol chat and H5 handlers share: the service, the cards that follow an answer, refusals."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Services
from bot.models import User
from bot.patrols.cards import follow_round, show_checkpoint
from bot.patrols.service import PatrolService
from bot.patrols.views import CLOSED, CheckpointView


def service_for(services: Services, session: AsyncSession, now: datetime) -> PatrolService:
    return PatrolService(session, services.settings, services.templates, now)


async def follow(services: Services, session: AsyncSession, view: CheckpointView, user: User, now: datetime,
                 *, checkpoint_card: bool = True) -> None:
    """After a scan or an answer: the checkpoint card shows the next item; the round card changes only when the
    round is over, because each change spends one of the few response codes its recipients' taps bring."""
    base = services.settings.server.base_url
    if checkpoint_card:
        await show_checkpoint(session, services.templates, view, user.wecom_userid, base, now)
    if view.round.status in CLOSED:
        round_view = await service_for(services, session, now).round_view(view.round.id)
        await follow_round(session, services.templates, round_view, base, now)

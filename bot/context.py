"""What a handler receives: the user, the message, an open transaction and the app's services."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import conversation, outbox
from bot.models import ConversationState, User
from bot.settings import Settings
from bot.templates import Templates

if TYPE_CHECKING:
    from bot.equipment.runtime import EquipmentRuntime
    from bot.qr import QrPayload, QrSigner
    from bot.router import Dispatcher
    from integrations.wecom.client import WeComClient
    from integrations.wecom.messages import Inbound


@dataclass
class Services:
    """Collaborators built once by the app and handed to every handler and job (never imported as globals)."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    templates: Templates
    clock: Callable[[], datetime]
    qr: QrSigner | None = None
    dispatcher: Dispatcher | None = None
    client: WeComClient | None = None
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    engine: AsyncEngine | None = None  # disposed by the assembly on shutdown
    equipment: EquipmentRuntime | None = None  # the collectors, started by the equipment_poll job
    sandbox_url: str | None = None  # demo only: shown on the landing page
    simulator_url: str | None = None  # demo only: the OPC UA simulator's endpoint


@dataclass(frozen=True)
class Reply:
    """A passive reply: text for the chat, or the new label of a tapped card button."""

    text: str | None = None
    replace_button: str | None = None


@dataclass
class Context:
    services: Services
    session: AsyncSession
    user: User
    inbound: Inbound
    now: datetime
    state: ConversationState | None = None
    qr: QrPayload | None = None
    regex: Any = None
    args: str = ""

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def render(self, template: str, **data: Any) -> str:
        return self.services.templates.render(template, user=self.user, now=self.now, **data)

    def reply(self, template: str, **data: Any) -> Reply:
        return Reply(text=self.render(template, **data))

    async def set_state(self, name: str, data: dict[str, Any], ttl_s: float = 600) -> None:
        self.state = await conversation.save_state(self.session, self.user.id, name, data, self.now, ttl_s,
                                                   current=self.state)  # the inbound query read it

    async def clear_state(self) -> None:
        await conversation.clear_state(self.session, self.user.id)
        self.state = None

    def send(self, msgtype: str, payload: dict[str, Any], *, to: list[str] | None = None,
             idempotency_key: str | None = None) -> None:
        """Queues an app message in this transaction: it leaves only if the change that caused it commits."""
        outbox.enqueue(self.session, msgtype, payload, to=to or [self.user.wecom_userid],
                       idempotency_key=idempotency_key, now=self.now, priority=outbox.Priority.HIGH)

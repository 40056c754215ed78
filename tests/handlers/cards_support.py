"""Helpers for card tests: wait until the outbox delivered everything, read what a recipient's card shows."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.models import OutboxMessage
from tests.conftest import Stack, eventually


async def delivered(stack: Stack) -> None:
    """Every queued message and card update reached the sandbox (none failed, e.g. on a used response code)."""
    async def done() -> bool:
        async with stack.services.sessions() as session:
            rows = list(await session.scalars(select(OutboxMessage)))
        failed = [(r.idempotency_key, r.last_error) for r in rows if r.status == "failed"]
        assert not failed, failed
        return all(r.status == "sent" for r in rows)
    await eventually(done)


def shown(stack: Stack, userid: str, task_id: str) -> dict[str, Any]:
    return stack.sandbox.card_shown(userid, task_id)


def buttons(card: dict[str, Any]) -> list[tuple[str, str]]:
    return [(b["text"], b["key"]) for b in card.get("button_list", [])]


def rows(card: dict[str, Any]) -> dict[str, str]:
    return {r["keyname"]: r["value"] for r in card.get("horizontal_content_list", [])}


async def raw_tap(stack: Stack, userid: str, task_id: str, key: str, *, seconds_later: int = 2,
                  selected: dict[str, list[str]] | None = None) -> Any:
    """A tap WeCom delivered for a button the card no longer shows (tapped just before it was replaced)."""
    from integrations.wecom import messages

    config = stack.sandbox.config
    xml = messages.inbound_template_card_event_xml(
        config.corp_id, userid, config.agent_id, int(datetime.now(UTC).timestamp()) + seconds_later,
        event_key=key, task_id=task_id, card_type="button_interaction",
        response_code=stack.sandbox.state.code_for_tap(task_id, userid), selected=selected)
    return await stack.sandbox.post_raw(xml)

"""bot.cards against a real database: one response code per distinct card, the tapper's code first, nothing spent
on a recipient who already sees the card, no code older than WeCom's 72 hours, unsent cards leave up to date."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import bot.models  # noqa: F401
from bot import cards
from bot.models import OutboxMessage
from integrations.wecom.cards import CardInvalid, update_body

pytestmark = pytest.mark.db
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def card(title: str, task_id: str = "task-1") -> dict:
    return {"card_type": "button_interaction", "main_title": {"title": title}, "task_id": task_id,
            "button_list": [{"text": "刷新", "style": 4, "key": "x:view:1"}]}


async def sent(sessions: async_sessionmaker[AsyncSession], to: list[str], *, code: str | None = "S",
               at: datetime = T0) -> None:
    """Sends the card and marks its outbox row delivered, as the sender does with WeCom's answer."""
    async with sessions.begin() as session:
        cards.send(session, "k", card("v1"), to=to, now=at)
    if code is not None:
        async with sessions.begin() as session:
            row = await session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == "k"))
            assert row is not None
            row.status, row.sent_at, row.response_code = "sent", at, code


async def updates(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[list[str], str, str]]:
    async with sessions() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "card_update")
                                     .order_by(OutboxMessage.id))
        return [(r.target["touser"], r.target["response_code"], r.payload["template_card"]["main_title"]["title"])
                for r in rows]


async def refresh(sessions: async_sessionmaker[AsyncSession], want: dict[str, str],
                  now: datetime = T0) -> cards.Refreshed:
    async with sessions.begin() as session:
        return await cards.refresh(session, "k", lambda u: card(want[u], "ignored"), now=now)


async def tap(sessions: async_sessionmaker[AsyncSession], userid: str, code: str, now: datetime = T0) -> None:
    async with sessions.begin() as session:
        await cards.note_tap(session, "task-1", userid, code, now)


async def test_each_distinct_card_spends_one_code_and_the_tapper_gets_their_own(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    await sent(session_factory, ["a", "b", "c"])
    await tap(session_factory, "a", "A1")
    done = await refresh(session_factory, {"a": "mine", "b": "taken", "c": "taken"})
    assert done == cards.Refreshed(queued=2, current=0, stale=0)
    assert await updates(session_factory) == [(["a"], "A1", "mine"), (["b", "c"], "S", "taken")]
    assert (await refresh(session_factory, {"a": "mine", "b": "taken", "c": "taken"})).current == 3  # no-op
    late = await refresh(session_factory, {"a": "done", "b": "done", "c": "done"})
    assert late == cards.Refreshed(queued=0, current=0, stale=3)  # both codes are spent: nobody can follow
    await tap(session_factory, "a", "A2")
    assert (await refresh(session_factory, {"a": "done", "b": "done", "c": "done"})).queued == 1
    assert (await updates(session_factory))[-1] == (["a", "b", "c"], "A2", "done")  # a tap's code serves all


async def test_codes_older_than_wecom_allows_are_not_used(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await sent(session_factory, ["a"])
    done = await refresh(session_factory, {"a": "v2"}, now=T0 + timedelta(hours=72))
    assert done.stale == 1 and await updates(session_factory) == []
    await tap(session_factory, "a", "A1", now=T0 + timedelta(hours=80))
    assert (await refresh(session_factory, {"a": "v2"}, now=T0 + timedelta(hours=81))).queued == 1


async def test_a_card_not_delivered_yet_leaves_with_the_new_state(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    await sent(session_factory, ["a", "b"], code=None)
    assert (await refresh(session_factory, {"a": "v2", "b": "v2"})).queued == 1
    assert await updates(session_factory) == []
    async with session_factory() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == "k"))
        assert row is not None and row.payload["main_title"]["title"] == "v2" and row.payload["task_id"] == "task-1"


async def test_taps_on_cards_we_do_not_track_or_by_strangers_are_ignored(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    await sent(session_factory, ["a"])
    await tap(session_factory, "intruder", "X1")
    async with session_factory.begin() as session:
        assert await cards.note_tap(session, "unknown-task", "a", "Z", T0) is None
    await refresh(session_factory, {"a": "v2"})
    assert await updates(session_factory) == [(["a"], "S", "v2")]


def test_cards_wecom_could_not_update_later_are_refused_before_queueing() -> None:
    with pytest.raises(CardInvalid):
        cards.check_replaceable({**card("v1"), "card_type": "text_notice"})
    with pytest.raises(CardInvalid):
        cards.check_replaceable({**card("v1"), "button_list": []})
    with pytest.raises(CardInvalid):
        cards.check_replaceable({**card("v1"), "horizontal_content_list": [{}] * 7})
    body = update_body(["a"], 1000002, "S", card("v2"))
    assert body == {"userids": ["a"], "agentid": 1000002, "response_code": "S", "template_card": card("v2")}

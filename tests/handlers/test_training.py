"""培训 in chat: seed users get a new item first and rate it on its card (需改进 + a comment), a promoter
releases it from the card, then everyone of the role sees it; `培训` and `培训情况` show the status."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.models.training import TrainingRating
from jobs import training_reminders
from tests.bot.training.support import Clock, media_copy, training_overrides
from tests.conftest import Stack

from .training_support import phone, seed_plant

pytestmark = pytest.mark.db


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stack_overrides(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return training_overrides(media_copy(tmp_path / "media"))


def trial_card(stack: Stack, userid: str, code: str) -> dict[str, Any]:
    for message in stack.sandbox.messages_for(userid):
        if message.msgtype == "template_card" and any(
                f":{code}:" in b["key"] for b in message.payload.get("button_list", [])):
            return message.payload
    raise AssertionError(f"no trial card for {code} to {userid}")


async def status_of_page(stack: Stack, userid: str, code: str) -> int:
    async with phone(stack, userid) as http, http.get(f"{stack.bot_url}/h5/training/{code}") as response:
        return response.status


async def test_seed_user_first_rates_then_a_promoter_releases(stack: Stack, clock: Clock) -> None:
    await seed_plant(stack)
    await training_reminders.run(stack.services, clock())
    card = await stack.sandbox.wait_for_message(lambda m: "seed1" in m.touser and m.msgtype == "template_card")
    await stack.sandbox.wait_for_message(lambda m: "pm1" in m.touser and m.msgtype == "template_card")
    assert not [m for m in stack.sandbox.messages_for("op1") if m.msgtype == "template_card"]
    assert card.payload["main_title"]["title"].startswith("新培训：")

    assert await status_of_page(stack, "op1", "SCAN-01") == 403  # in trial: seed users only
    assert await status_of_page(stack, "seed1", "SCAN-01") == 200
    assert "【试用】" in (await stack.sandbox.send_text("seed1", "培训")).reply["Content"]

    seed_card = trial_card(stack, "seed1", "SCAN-01")
    assert [b["text"] for b in seed_card["button_list"]] == ["有用", "需改进"]
    await stack.sandbox.tap_card_button("seed1", seed_card["task_id"], "trn:rate:improve:SCAN-01:1")
    await stack.sandbox.wait_for_message(lambda m: "seed1" in m.touser and "改进意见" in str(m.payload))
    saved = await stack.sandbox.send_text("seed1", "字幕太小，看不清")
    assert "已记录" in saved.reply["Content"]
    async with stack.services.sessions() as session:
        [rating] = (await session.scalars(select(TrainingRating))).all()
    assert (rating.code, rating.verdict, rating.comment) == ("SCAN-01", "improve", "字幕太小，看不清")
    await stack.sandbox.wait_for_message(
        lambda m: m.msgtype == "update_template_card" or "您的评价：需改进" in str(m.payload))

    pm_card = trial_card(stack, "pm1", "SCAN-01")
    assert [b["text"] for b in pm_card["button_list"]] == ["发布"]
    await stack.sandbox.tap_card_button("pm1", pm_card["task_id"], "trn:release:SCAN-01:1")
    await stack.sandbox.wait_for_message(lambda m: "已发布给全员" in str(m.payload))
    assert await status_of_page(stack, "op1", "SCAN-01") == 200
    listing = (await stack.sandbox.send_text("op1", "培训")).reply["Content"]
    assert "扫码报工三步走" in listing and "未看" in listing and "班组长" not in listing


async def test_trial_ends_by_itself_after_trial_days(stack: Stack, clock: Clock) -> None:
    await seed_plant(stack)
    await training_reminders.run(stack.services, clock())
    assert await status_of_page(stack, "op1", "QC-02") == 403
    clock.advance(7 * 86400 + 1)
    assert await status_of_page(stack, "op1", "QC-02") == 200


async def test_line_status_for_team_leads(stack: Stack, clock: Clock) -> None:
    await seed_plant(stack)
    reply = (await stack.sandbox.send_text("lead1", "培训情况")).reply["Content"]
    assert "产线 L1" in reply and "机加工位安全须知：0/" in reply
    assert "没有产线" in (await stack.sandbox.send_text("lead1", "培训情况 L9")).reply["Content"]
    refused = (await stack.sandbox.send_text("op1", "培训情况")).reply["Content"]
    assert "机加工位安全须知" not in refused

"""A patrol walked in the phone simulator as a new team lead would: the round card arrives at its slot, the first
checkpoint is scanned and answered on its card, the second in the H5 view (JS-SDK scanQRCode to arrive, an NG with
a picture from chooseImage/uploadImage), the third in chat again; the NG is an issue owned by maintenance and the
round shows complete."""
from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import utcnow
from bot.models import User
from bot.models.issues import Issue
from bot.models.patrols import PatrolPhoto, PatrolRound
from bot.templates import CONTENT_DIR
from jobs import patrols_dispatch, patrols_escalation
from tests.e2e.conftest import DemoStack, phone_tab

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]
TIMEOUT_MS = 10_000


@pytest.fixture
async def page(demo_stack: DemoStack, tmp_path: Path) -> AsyncIterator[Any]:
    # The demo's 5S checklist every hour, so a round is open whenever the test runs.
    text = (CONTENT_DIR / "patrols" / "5s_l1.toml").read_text(encoding="utf-8")
    folder = tmp_path / "patrols"
    folder.mkdir()
    hourly = text.replace('kind = "daily"\ntimes = ["08:30"]', 'kind = "hourly"\nevery_hours = 1')
    (folder / "5s.toml").write_text(hourly.replace("min_minutes = 3", "min_minutes = 0"), encoding="utf-8")
    demo_stack.services.settings.feature("patrols").folder = str(folder)
    # (now - 60 min, now] holds exactly the current hour's slot, whatever the minute the test runs at
    demo_stack.services.settings.feature("patrols").catch_up_min = 60
    demo_stack.services.sandbox_url = demo_stack.phone_url.removesuffix("/phone")
    async with phone_tab(TIMEOUT_MS, device_scale_factor=1) as tab:
        yield tab


def photo_file(tmp_path: Path) -> Path:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 40, 40)).save(buffer, format="JPEG")
    path = tmp_path / "floor.jpg"
    path.write_bytes(buffer.getvalue())
    return path


async def scan_label(page: Any, name: str) -> None:
    await page.get_by_test_id("scan").click()
    await page.get_by_test_id("label-item").filter(has_text=name).first.click()


async def tap(page: Any, card_text: str, button: str) -> None:
    card = page.get_by_test_id("template-card").filter(has_text=card_text).last
    await card.get_by_test_id("card-button").filter(has_text=button).first.click()


async def test_a_patrol_walked_in_the_phone(page: Any, demo_stack: DemoStack, tmp_path: Path) -> None:
    from playwright.async_api import expect

    services = demo_stack.services
    await patrols_dispatch.run(services, utcnow())  # the slot starts: the job creates the round and its card
    await patrols_escalation.run(services, utcnow())  # nothing due yet; it warms the JS-SDK ticket
    await page.goto(f"{demo_stack.phone_url}?user=zhaolei")
    await expect(page.locator("body[data-live='1']")).to_have_count(1)
    round_card = page.get_by_test_id("template-card").filter(has_text="机加线 5S 巡检").last
    await expect(round_card).to_contain_text("请开始巡检")
    await round_card.get_by_test_id("card-button").filter(has_text="开始巡检").click()
    started = page.get_by_test_id("bot-text").filter(has_text="1. 物料区").last
    await expect(started).to_contain_text("3. 成品区")

    await scan_label(page, "物料区")
    await expect(page.get_by_test_id("bot-text").last).to_contain_text("物料定置摆放")
    await tap(page, "物料定置摆放", "正常")
    await expect(page.get_by_test_id("template-card").filter(has_text="标识卡齐全").last).to_be_visible()
    await tap(page, "标识卡齐全", "正常")
    await expect(page.get_by_test_id("bot-text").filter(has_text="物料区 已完成").last).to_be_visible()

    await started.locator("a[data-link*='/h5/patrols/round/']").click()  # the round's page in the H5 view
    frame = page.frame_locator("#webview-frame")
    await expect(frame.locator("#progress")).to_contain_text("2/6")
    await frame.locator("#scan").click()  # JS-SDK scanQRCode: the phone offers its labels
    await page.get_by_test_id("wx-scan-item").filter(has_text="加工区").first.click()
    await expect(frame.locator("div.cell[data-item='floor']")).to_contain_text("地面无油污铁屑")
    await frame.locator("input[name='v_floor'][value='ng']").check()
    async with page.expect_file_chooser() as chooser:
        await frame.locator("button.choose[data-item='floor']").click()  # JS-SDK chooseImage
    await (await chooser.value).set_files(str(photo_file(tmp_path)))
    await expect(frame.locator("#m_floor")).not_to_have_value("")  # uploadImage gave a serverId
    await frame.locator("input[name='v_air']").fill("0.6")
    await frame.locator("#submit").click()
    await expect(frame.locator("#saved")).to_contain_text("加工区")
    await expect(frame.locator(".issue")).to_contain_text("问题单 Q-")
    await page.locator("#webview-close").click()

    await scan_label(page, "成品区")
    await tap(page, "成品堆放", "整齐")
    await expect(page.get_by_test_id("template-card").filter(has_text="安全通道畅通").last).to_be_visible()
    await tap(page, "安全通道畅通", "正常")
    await expect(page.get_by_test_id("bot-text").filter(has_text="本轮巡检已全部完成").last).to_be_visible()
    await expect(round_card).to_contain_text("巡检已完成")

    async with services.sessions() as session:
        row = await session.scalar(select(PatrolRound).order_by(PatrolRound.id.desc()))
        issue = await session.scalar(select(Issue).where(Issue.source == "patrol"))
        owner = await session.get(User, issue.owner_id)
        photo = await session.scalar(select(PatrolPhoto))
    assert row.status == "done"
    assert photo.media_id and photo.content_type == "image/jpeg"  # uploadImage's serverId, fetched via media/get
    assert "maintenance" in owner.roles and issue.source_ref == f"patrol:{row.id}:B:floor"

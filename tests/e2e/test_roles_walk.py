"""The demo walked as each role would, through the phone simulator in headless Chromium (issue 11's judge).

Operator scans, reports and undoes; a team lead approves an over-report and the operator's card changes;
maintenance takes and fixes a 报修 and picks the reason on the card; a manager asks `指标 L1`, opens the chart
full size and the shift details. With OPSBOT_SCREENSHOTS=1 the pictures of docs/quickstart.md are refreshed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DemoStack
from tests.e2e.test_phone_browser import shot, shots  # noqa: F401 - the screenshot fixture of the phone tests

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]


async def as_member(tab: Any, demo_stack: DemoStack, userid: str) -> None:
    from playwright.async_api import expect

    await tab.goto(f"{demo_stack.phone_url}?user={userid}")
    await expect(tab.locator("body[data-live='1']")).to_have_count(1)


async def say(tab: Any, text: str) -> None:
    await tab.get_by_test_id("text-input").fill(text)
    await tab.get_by_test_id("send").click()


async def scan_label(tab: Any, *parts: str) -> None:
    """The menu's 扫码报工, then the first printed label whose title and lines contain every part."""
    await tab.get_by_test_id("menu-button").filter(has_text="扫码报工").click()
    labels = tab.get_by_test_id("label-item")
    for part in parts:
        labels = labels.filter(has_text=part)
    await labels.first.click()


async def test_each_role_walks_the_demo(page: Any, demo_stack: DemoStack, shots: Path) -> None:  # noqa: F811
    from playwright.async_api import expect

    bot_text = page.get_by_test_id("bot-text")

    # -- operator: scan, report with a unit, undo (the answer names the new remaining)
    await as_member(page, demo_stack, "zhangwei")
    await scan_label(page, "WO-1001", "粗车")
    await expect(bot_text.last).to_contain_text("剩余")
    await say(page, "48件")
    card = page.get_by_test_id("template-card").last
    await expect(card).to_contain_text("48")
    await shot(page, shots, "phone-report")
    await card.get_by_test_id("card-button").filter(has_text="撤销").click()
    await expect(bot_text.last).to_contain_text("撤销")
    await expect(bot_text.last).to_contain_text("剩余")
    await expect(card.get_by_test_id("card-button").filter(has_text="撤销")).to_have_count(0)

    # -- operator again: more than planned goes to the team lead
    await scan_label(page, "WO-1001", "粗车")
    await expect(bot_text.last).to_contain_text("剩余")
    await say(page, "130")
    mine = page.get_by_test_id("template-card").last
    await expect(mine).to_contain_text("待审批")

    # -- team lead: approve on the card; the card shows the decision
    await as_member(page, demo_stack, "zhaolei")
    approval = page.get_by_test_id("template-card").filter(has_text="130").last
    await approval.get_by_test_id("card-button").filter(has_text="同意").click()
    await expect(approval).to_contain_text("同意")
    await expect(approval.get_by_test_id("card-button").filter(has_text="同意")).to_have_count(0)
    await shot(page, shots, "phone-approve")

    # -- the operator's card followed the decision
    await as_member(page, demo_stack, "zhangwei")
    mine = page.get_by_test_id("template-card").filter(has_text="130").last
    await expect(mine).not_to_contain_text("待审批")
    await expect(mine).to_contain_text("赵磊")

    # -- the operator calls maintenance from the machine label
    await scan_label(page, "L1-M2")
    await expect(bot_text.last).to_contain_text("报修")
    await say(page, "报修")
    await expect(bot_text.last).to_contain_text("维修")

    # -- maintenance: take, fix, pick the reason on the card
    await as_member(page, demo_stack, "sunhao")
    alert = page.get_by_test_id("template-card").filter(has_text="报修").last
    await alert.get_by_test_id("card-button").filter(has_text="接单").click()
    fixed = alert.get_by_test_id("card-button").filter(has_text="已修复")
    await expect(fixed).to_have_count(1)
    await fixed.click()
    await expect(alert.locator("select")).to_have_count(1)
    await alert.locator("select").select_option(index=1)
    await alert.get_by_test_id("card-button").filter(has_text="提交").click()
    await expect(alert).to_contain_text("孙浩")
    await expect(alert.get_by_test_id("card-button").filter(has_text="已修复")).to_have_count(0)
    await shot(page, shots, "phone-andon")

    # -- manager: 指标 L1, the chart full size, the shift page
    await as_member(page, demo_stack, "guoping")
    await say(page, "指标 L1")
    answer = bot_text.filter(has_text="L1").last
    await expect(answer).to_contain_text("OEE")
    image = page.get_by_test_id("bot-image").last
    await expect(image).to_be_visible(timeout=20_000)
    await image.locator("img").click()
    await expect(page.get_by_test_id("image-full")).to_be_visible()
    await shot(page, shots, "phone-kpi-chart")
    await page.get_by_test_id("image-viewer").click()
    await answer.locator("[data-link]").first.click()
    frame = page.frame_locator("[data-testid=webview] iframe")
    await expect(frame.locator("body")).to_contain_text("OEE")
    await shot(page, shots, "phone-kpi-shift")

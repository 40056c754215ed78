"""The phone simulator in headless Chromium, as a newcomer uses it; also takes the quick start's screenshots."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DemoStack

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
TIMEOUT_MS = 10_000


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Screenshots go to docs/img only when asked (OPSBOT_SCREENSHOTS=1), so a test run leaves the tree alone."""
    return DOCS_IMG if os.environ.get("OPSBOT_SCREENSHOTS") else tmp_path


async def shot(page: Any, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    await page.wait_for_timeout(350)  # let the smooth scroll settle so the picture shows the newest message
    await page.screenshot(path=str(folder / f"{name}.png"))
    assert (folder / f"{name}.png").stat().st_size > 10_000


async def test_newcomer_asks_for_help_and_taps_a_card(page: Any, demo_stack: DemoStack, shots: Path) -> None:
    from playwright.async_api import expect

    await page.goto(demo_stack.phone_url)
    operator = page.get_by_test_id("user-zhangwei")
    await expect(operator).to_contain_text("张伟")
    await expect(operator).to_contain_text("操作工")
    await shot(page, shots, "phone-picker")

    await operator.click()
    await expect(page.get_by_test_id("who")).to_contain_text("张伟")
    await expect(page.locator("body[data-live='1']")).to_have_count(1)
    await page.get_by_test_id("text-input").fill("帮助")
    await page.get_by_test_id("send").click()
    await expect(page.get_by_test_id("my-text").last).to_have_text("帮助")
    answer = page.get_by_test_id("bot-text").filter(has_text="您可以使用：")
    await expect(answer).to_contain_text("张伟（操作工）")
    await expect(answer).to_contain_text("演示")
    await shot(page, shots, "phone-help")

    await page.get_by_test_id("text-input").fill("演示")
    await page.get_by_test_id("text-input").press("Enter")
    card = page.get_by_test_id("template-card").last
    await expect(card).to_contain_text("首件检验确认")
    await expect(page.get_by_test_id("pane-app").get_by_test_id("bot-markdown").last).to_contain_text("早班生产概况")
    await card.locator("select").select_option("rework")
    await card.get_by_test_id("card-button").filter(has_text="确认").click()
    await expect(card.get_by_test_id("card-done")).to_have_text("已确认 · 返工")
    await expect(card.get_by_test_id("card-button")).to_have_count(0)
    await expect(card.locator("select")).to_have_value("rework")
    await shot(page, shots, "phone-cards")


async def test_card_replaced_by_update_template_card(page: Any, demo_stack: DemoStack, shots: Path) -> None:
    from playwright.async_api import expect

    await page.goto(f"{demo_stack.phone_url}?user=zhaolei")
    await expect(page.get_by_test_id("who")).to_contain_text("班组长")
    await expect(page.locator("body[data-live='1']")).to_have_count(1)
    await page.get_by_test_id("text-input").fill("演示")
    await page.get_by_test_id("send").click()
    card = page.get_by_test_id("template-card").last
    await expect(card).to_contain_text("首件检验确认")
    await card.get_by_test_id("card-button").filter(has_text="驳回").click()
    await expect(card).to_contain_text("首件检验已驳回")
    await expect(card).to_contain_text("处理人：赵磊")

    tab = page.get_by_test_id("tab-group")
    await expect(tab).to_contain_text("1")
    await tab.click()
    await expect(page.get_by_test_id("pane-group")).to_contain_text("班前会提醒")
    await shot(page, shots, "phone-group")


async def test_h5_link_opens_as_the_chosen_member(page: Any, demo_stack: DemoStack, shots: Path) -> None:
    from playwright.async_api import expect

    await page.goto(f"{demo_stack.phone_url}?user=zhaolei")
    await expect(page.locator("body[data-live='1']")).to_have_count(1)
    await page.get_by_test_id("text-input").fill("演示")
    await page.get_by_test_id("send").click()
    await page.get_by_test_id("textcard").last.click()
    frame = page.frame_locator("[data-testid=webview] iframe")
    await expect(frame.get_by_test_id("whoami-userid")).to_have_text("zhaolei")
    await shot(page, shots, "phone-h5")

    await page.goto(f"{demo_stack.phone_url}?user=wangfang")  # another member: the H5 identity follows
    await expect(page.locator("body[data-live='1']")).to_have_count(1)
    await page.get_by_test_id("text-input").fill("演示")
    await page.get_by_test_id("send").click()
    await page.get_by_test_id("textcard").last.click()
    await expect(frame.get_by_test_id("whoami-userid")).to_have_text("wangfang")


async def test_scan_a_plant_label(page: Any, demo_stack: DemoStack, shots: Path) -> None:
    from playwright.async_api import expect

    await page.goto(f"{demo_stack.phone_url}?user=zhangwei")
    await expect(page.locator("body[data-live='1']")).to_have_count(1)
    await expect(page.get_by_test_id("bot-text").first).to_contain_text("欢迎使用")  # enter_agent greeting
    await page.get_by_test_id("scan").click()
    labels = page.get_by_test_id("label-item")
    await expect(labels.first).to_contain_text("WO-1001")
    await shot(page, shots, "phone-scan")
    before = await page.locator(".row.bot").count()
    await labels.first.click()
    await expect(page.get_by_test_id("scan-sheet")).to_be_hidden()
    await expect(page.locator(".row.me").last).to_contain_text("扫码：工单 WO-1001")
    await expect(page.locator(".row.bot")).to_have_count(before + 1)
    scanned = await demo_stack.sandbox.wait_for_message(
        lambda m: m.api == "passive_reply" and "zhangwei" in m.touser, timeout=5)
    assert scanned.payload


async def test_renders_every_message_kind_live(page: Any, demo_stack: DemoStack) -> None:
    """What the bot's client sends to the sandbox appears at once, drawn the way WeCom draws it."""
    from playwright.async_api import expect

    from bot.qr import render_png

    client = demo_stack.services.client
    await page.goto(f"{demo_stack.phone_url}?user=zhoujie")
    await expect(page.locator("body[data-live='1']")).to_have_count(1)
    pane = page.get_by_test_id("pane-app")
    await client.send_message("markdown", {"content": '# 质检日报\n> 合格率 <font color="info">99.2%</font>'},
                              touser=["zhoujie"])
    await expect(pane.locator(".md-font-info")).to_have_text("99.2%")
    await expect(pane.locator(".md-h")).to_have_text("质检日报")
    media_id = await client.upload_media("image", "qr.png", render_png("https://example.invalid/x"), "image/png")
    await client.send_message("image", {"media_id": media_id}, touser=["zhoujie"])
    image = pane.locator("img.pic")
    await expect(image).to_have_attribute("src", f"/sandbox/media/{media_id}")
    assert await image.evaluate("img => img.complete && img.naturalWidth > 0")
    await client.send_message("news", {"articles": [
        {"title": "安全月活动", "description": "本周五消防演练", "url": f"{demo_stack.bot_url}/"},
        {"title": "新员工培训", "url": f"{demo_stack.bot_url}/"}]}, touser=["zhoujie"])
    await expect(pane.get_by_test_id("news")).to_contain_text("安全月活动")
    await expect(pane.get_by_test_id("news")).to_contain_text("新员工培训")
    await client.send_message("template_card", {
        "card_type": "vote_interaction", "task_id": "vote-1", "main_title": {"title": "本周班次偏好"},
        "checkbox": {"question_key": "shift", "mode": 1, "option_list": [
            {"id": "day", "text": "白班", "is_checked": True}, {"id": "night", "text": "夜班"}]},
        "submit_button": {"text": "提交", "key": "vote:submit"}}, touser=["zhoujie"])
    vote = pane.locator("[data-task-id='vote-1']")
    await expect(vote.locator("input[type=checkbox]")).to_have_count(2)
    await expect(vote.get_by_test_id("card-button")).to_have_text("提交")
    await client.send_message("template_card", {
        "card_type": "multiple_interaction", "task_id": "multi-1", "main_title": {"title": "报修分派"},
        "select_list": [{"question_key": "who", "title": "维修工", "option_list": [
            {"id": "sunhao", "text": "孙浩"}, {"id": "majun", "text": "马军"}]}],
        "submit_button": {"text": "派工", "key": "multi:submit"}}, touser=["zhoujie"])
    multi = pane.locator("[data-task-id='multi-1']")
    await expect(multi.locator("select")).to_have_value("sunhao")
    await expect(multi).to_contain_text("报修分派")


async def test_scan_an_uploaded_label_image(page: Any, demo_stack: DemoStack, tmp_path: Path) -> None:
    """Chromium on Linux has no BarcodeDetector: the page decodes the photo with its vendored jsQR."""
    from playwright.async_api import expect

    from bot.qr import QrPayload, render_png

    label = tmp_path / "label.png"
    label.write_bytes(render_png(demo_stack.services.qr.url(QrPayload("op", ("WO-1001", "10")))))
    await page.goto(f"{demo_stack.phone_url}?user=zhangwei")
    await expect(page.locator("body[data-live='1']")).to_have_count(1)
    await page.get_by_test_id("scan").click()
    await page.locator("#upload-input").set_input_files(str(label))
    await expect(page.get_by_test_id("scan-sheet")).to_be_hidden()
    reply = await demo_stack.sandbox.wait_for_message(
        lambda m: m.api == "passive_reply" and "zhangwei" in m.touser and "WO-1001" in str(m.payload), timeout=5)
    assert "WO-1001" in str(reply.payload)


async def test_the_app_menu_reaches_commands_and_the_scanner(page: Any, demo_stack: DemoStack, shots: Path) -> None:
    """The menu `opsbot demo` installs: 更多 → 帮助 answers like typing 帮助; 扫码报工 opens the scanner."""
    from playwright.async_api import expect

    await page.goto(f"{demo_stack.phone_url}?user=zhangwei")
    await expect(page.locator("body[data-live='1']")).to_have_count(1)
    menu = page.get_by_test_id("menu-button")
    await expect(menu).to_have_text(["扫码报工", "我的", "更多"])
    await menu.filter(has_text="更多").click()
    await shot(page, shots, "phone-menu")
    await page.get_by_test_id("menu-sub").filter(has_text="帮助").click()
    answer = page.get_by_test_id("bot-text").filter(has_text="您可以使用：")
    await expect(answer).to_contain_text("张伟（操作工）")
    await expect(page.get_by_test_id("menu-sub").first).to_be_hidden()

    await menu.filter(has_text="扫码报工").click()
    labels = page.get_by_test_id("label-item")
    await expect(labels.first).to_contain_text("WO-1001")
    before = await page.locator(".row.bot").count()
    await labels.first.click()
    await expect(page.locator(".row.bot")).to_have_count(before + 1)
    await expect(page.locator(".row.bot").last).to_contain_text("WO-1001")

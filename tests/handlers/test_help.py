"""Issue 11 item 7: 帮助 lists every command a role has (and none it has not); 菜单 says what the menu offers."""
from __future__ import annotations

import pytest

from bot.menu import load_menu
from tests.conftest import Stack
from tests.handlers.cards_support import delivered

pytestmark = pytest.mark.db

EVERYONE = ["帮助", "菜单", "扫设备二维码", "报修 [设备]", "报告问题 [设备]", "设备状态 [产线]"]
REPORTING = ["扫码报工", "报工 —", "我的报工", "撤销 编号", "更正 编号 良品 [报废]"]
ANDON = ["报警卡片「接单」「已修复」", "接单 [设备]", "已修复 [设备]"]
APPROVING = ["审批卡片「同意」「驳回」"]
KPI = ["指标"]
EVERY_LINE = EVERYONE + REPORTING + ANDON + APPROVING + KPI
HAS = {
    "operator": EVERYONE + REPORTING,
    "team_lead": EVERYONE + REPORTING + ANDON + APPROVING + KPI,
    "qc": EVERYONE,
    "maintenance": EVERYONE + ANDON,
    "pm": EVERYONE + KPI,
    "manager": EVERYONE + ANDON + KPI,
    "admin": EVERY_LINE,
}


@pytest.mark.parametrize("role", sorted(HAS))
async def test_help_lists_every_command_of_the_role_and_no_other(stack: Stack, role: str) -> None:
    await stack.add_user("u1", "小王", [role])
    reply = (await stack.sandbox.send_text("u1", "帮助")).reply
    assert reply is not None
    await delivered(stack)  # an admin's list goes on in messages after the reply
    parts = [reply["Content"]] + [m.payload["content"] for m in stack.sandbox.messages_for("u1")
                                  if m.api == "message/send" and m.msgtype == "text"]
    assert all(len(part.encode()) < 2048 for part in parts)  # WeCom cuts a longer text, losing its last lines
    text = "\n".join(parts)
    missing = [c for c in HAS[role] if c not in text]
    foreign = [c for c in EVERY_LINE if c not in HAS[role] and c in text]
    assert missing == [] and foreign == [], text


async def test_menu_answers_with_what_the_menu_file_offers(stack: Stack) -> None:
    await stack.add_user("u1", "小王", ["operator"])
    for asked in ("菜单", "帮助"):
        await stack.sandbox.send_text("u1", asked)
    text = (await stack.sandbox.send_text("u1", "菜单")).reply["Content"]  # type: ignore[index]
    menu = load_menu(stack.services.templates.content_dir / "wecom" / "menu.toml", stack.bot_url)["button"]
    for top in menu:  # the answer follows the file a plant edits, button by button
        subs = top.get("sub_button", [])
        assert f"· {top['name']}：" in text and all(sub["name"] in text for sub in subs), text
    assert "扫码报工：打开扫一扫" in text and "生产指标（指标）" in text  # what a button does, when not its name


async def test_a_menu_button_that_says_菜单_answers_like_typing_it(stack: Stack) -> None:
    await stack.add_user("u1", "小王", ["maintenance"])
    clicked = (await stack.sandbox.click_menu("u1", "say:帮助")).reply
    assert clicked is not None and "已修复 [设备]" in clicked["Content"]

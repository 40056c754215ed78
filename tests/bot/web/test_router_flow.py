"""Routing through the real callback: roles checked first, conversation state across messages, QR scans."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.context import Context, Reply
from bot.qr import QrPayload
from bot.router import Router
from tests.conftest import Stack

pytestmark = pytest.mark.db


def demo_router() -> Router:
    router = Router("t")

    @router.command("报数", roles={"operator"})
    async def start(ctx: Context) -> Reply:
        await ctx.set_state("t.qty", {"order": ctx.args or "WO-1"}, ttl_s=60)
        return Reply(text=f"请输入 {ctx.args or 'WO-1'} 的数量")

    @router.text(r"(\d+)", state="t.qty")
    async def qty(ctx: Context) -> Reply:
        assert ctx.state is not None
        order = ctx.state.data["order"]
        await ctx.clear_state()
        return Reply(text=f"{order} 已记录 {ctx.regex.group(1)}")

    @router.command("审批", roles={"team_lead"})
    async def approve(ctx: Context) -> Reply:
        return Reply(text="已审批")

    @router.scan("op", roles={"operator"})
    async def scanned(ctx: Context) -> Reply:
        assert ctx.qr is not None
        return Reply(text=f"工单 {ctx.qr.ids[0]} 工序 {ctx.qr.ids[1]}")

    @router.button("t:undo:")
    async def undo(ctx: Context) -> Reply:
        return Reply(replace_button="已撤销")

    @router.button("t:")
    async def generic(ctx: Context) -> Reply:
        return Reply(replace_button="泛用")

    @router.menu("MY_MENU")
    async def menu(ctx: Context) -> Reply:
        return Reply(text="菜单")

    return router


@pytest.fixture
def stack_routers() -> list[Router]:
    return [demo_router()]


@pytest.fixture
async def flow(stack: Stack) -> Stack:
    await stack.add_user("op1", "操作工甲", ["operator"])
    await stack.add_user("lead1", "班长乙", ["team_lead"])
    return stack


async def test_state_carries_a_conversation_across_messages(flow: Stack) -> None:
    assert "WO-9" in (await flow.sandbox.send_text("op1", "报数 WO-9")).reply["Content"]
    assert (await flow.sandbox.send_text("op1", "48")).reply["Content"] == "WO-9 已记录 48"
    # state cleared: a bare number is no longer understood
    assert "帮助" in (await flow.sandbox.send_text("op1", "48")).reply["Content"]


async def test_state_expires(flow: Stack) -> None:
    await flow.sandbox.send_text("op1", "报数")
    real_clock = flow.services.clock
    flow.services.clock = lambda: real_clock() + timedelta(minutes=5)
    assert "帮助" in (await flow.sandbox.send_text("op1", "48")).reply["Content"]


async def test_roles_are_checked_before_the_handler(flow: Stack) -> None:
    reply = (await flow.sandbox.send_text("op1", "审批")).reply["Content"]
    assert "没有权限" in reply or "不能使用" in reply
    assert (await flow.sandbox.send_text("lead1", "审批")).reply["Content"] == "已审批"


async def test_a_signed_qr_routes_by_kind_and_a_forged_one_is_refused(flow: Stack) -> None:
    signer = flow.services.qr
    assert signer is not None
    url = signer.url(QrPayload("op", ("WO-7", "20")))
    assert (await flow.sandbox.scan("op1", url)).reply["Content"] == "工单 WO-7 工序 20"
    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert "二维码" in (await flow.sandbox.scan("op1", forged)).reply["Content"]
    assert "二维码" in (await flow.sandbox.scan("op1", "https://evil.example.com/x")).reply["Content"]


async def test_card_buttons_take_the_longest_matching_prefix(flow: Stack) -> None:
    from bot import outbox

    async with flow.services.sessions.begin() as session:
        outbox.enqueue(session, "template_card", {
            "card_type": "button_interaction", "task_id": "task-undo-1",
            "main_title": {"title": "报工成功"},
            "button_list": [{"text": "撤销", "style": 2, "key": "t:undo:1"}, {"text": "其他", "key": "t:x"}],
        }, to=["op1"])
    flow.services.outbox_wakeup.set()
    await flow.sandbox.wait_for_message(lambda m: m.msgtype == "template_card" and "op1" in m.touser)
    tapped = await flow.sandbox.tap_card_button("op1", "task-undo-1", "t:undo:1")
    assert tapped.reply is not None and "已撤销" in str(tapped.reply)
    other = await flow.sandbox.tap_card_button("op1", "task-undo-1", "t:x")
    assert "泛用" in str(other.reply)


async def test_menu_click_routes_by_key(flow: Stack) -> None:
    assert (await flow.sandbox.click_menu("op1", "MY_MENU")).reply["Content"] == "菜单"


async def test_a_crashing_handler_stores_nothing_and_apologises(stack: Stack) -> None:
    from sqlalchemy import func, select

    from bot.errors import error_counts
    from bot.models import ConversationState, InboundEvent

    broken = Router("broken")

    @broken.command("坏")
    async def crash(ctx: Context) -> Reply:
        await ctx.set_state("half.done", {"x": 1})
        raise RuntimeError("handler bug")

    from bot.router import Dispatcher

    stack.services.dispatcher = Dispatcher([broken])
    await stack.add_user("op7", "操作工", ["operator"])
    before = error_counts["callback"]
    result = await stack.sandbox.send_text("op7", "坏")
    assert result.status == 200 and "出错" in result.reply["Content"]
    assert error_counts["callback"] == before + 1
    async with stack.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundEvent)) == 0
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0

"""The callback URL end to end: the sandbox sends real encrypted callbacks, the bot answers within the window."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.models import InboundEvent, OutboxMessage, User
from integrations.wecom.crypto import CallbackCrypto
from tests.conftest import DEMO_AES_KEY, Stack, eventually

pytestmark = pytest.mark.db
CORP = "wwsandbox0000000001"


def text_xml(user: str, content: str, msg_id: str, corp: str = CORP, create_time: int | None = None) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


async def count(stack: Stack, model: type) -> int:
    async with stack.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_url_verification_echoes_the_decrypted_echostr(stack: Stack) -> None:
    body = await stack.sandbox.verify_url()
    assert body and "<" not in body and not body.endswith("\n")


async def test_help_lists_what_the_users_roles_allow(stack: Stack) -> None:
    await stack.add_user("zhangsan", "张三", ["operator"])
    result = await stack.sandbox.send_text("zhangsan", "帮助")
    assert result.status == 200
    assert "张三" in result.reply["Content"] and "操作工" in result.reply["Content"]
    assert "帮助" in result.reply["Content"]


async def test_unknown_member_is_told_whom_to_ask_and_recorded_as_pending(stack: Stack) -> None:
    stack.sandbox.add_user("newbie", "新人")
    result = await stack.sandbox.send_text("newbie", "你好")
    assert "管理员 王工" in result.reply["Content"]
    async with stack.services.sessions() as session:
        user = await session.scalar(select(User).where(User.wecom_userid == "newbie"))
    assert user is not None and user.roles == []


async def test_a_retried_callback_gets_the_same_answer_and_is_handled_once(stack: Stack) -> None:
    await stack.add_user("lisi", "李四", ["team_lead"])
    xml = text_xml("lisi", "帮助", "7000000001")
    first = await stack.sandbox.post_raw(xml)
    second = await stack.sandbox.post_raw(xml)
    assert first.reply["Content"] == second.reply["Content"]
    assert await count(stack, InboundEvent) == 1


async def test_unmatched_text_gets_a_hint(stack: Stack) -> None:
    await stack.add_user("wangwu", "王五", ["operator"])
    result = await stack.sandbox.send_text("wangwu", "今天吃什么")
    assert "帮助" in result.reply["Content"]


def signed_post(crypto: CallbackCrypto, inner: str, timestamp: int | None = None) -> tuple[dict[str, str], str]:
    ts = timestamp or int(time.time())
    outer = crypto.encrypt_message(inner, "nonce123", ts)
    import xml.etree.ElementTree as ET

    root = ET.fromstring(outer)
    encrypt = root.findtext("Encrypt") or ""
    body = f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><AgentID>1000002</AgentID>" \
           f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    params = {"msg_signature": root.findtext("MsgSignature") or "", "timestamp": str(ts), "nonce": "nonce123"}
    return params, body


@pytest.mark.parametrize("case", ["bad_signature", "stale", "wrong_corp", "truncated", "entity_expansion",
                                  "oversized", "missing_params", "not_xml"])
async def test_bad_input_gets_a_clear_4xx_and_touches_nothing(stack: Stack, case: str) -> None:
    await stack.add_user("zhaoliu", "赵六", ["operator"])
    crypto = CallbackCrypto("sandboxtoken", DEMO_AES_KEY, CORP)
    params, body = signed_post(crypto, text_xml("zhaoliu", "帮助", "8000000001"))
    if case == "bad_signature":
        params["msg_signature"] = "0" * 40
    elif case == "stale":
        params, body = signed_post(crypto, text_xml("zhaoliu", "帮助", "8000000002"), int(time.time()) - 3600)
    elif case == "wrong_corp":
        other = CallbackCrypto("sandboxtoken", DEMO_AES_KEY, "wwotherCorp")
        params, body = signed_post(other, text_xml("zhaoliu", "帮助", "8000000003", corp="wwotherCorp"))
    elif case == "truncated":
        body = body[: len(body) // 2]
    elif case == "entity_expansion":
        body = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
                "<xml><Encrypt>&lol2;</Encrypt></xml>")
    elif case == "oversized":
        body = "<xml><Encrypt>" + "A" * 200_000 + "</Encrypt></xml>"
    elif case == "missing_params":
        params = {}
    elif case == "not_xml":
        body = "hello"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{stack.bot_url}/wecom/callback", params=params, data=body.encode()) as resp:
            status, text = resp.status, await resp.text()
    assert 400 <= status < 500, (case, status, text)
    assert text  # the reason, for whoever reads the logs on the other side
    assert await count(stack, InboundEvent) == 0


async def test_a_slow_handler_answers_empty_in_time_and_replies_through_the_outbox(
        stack: Stack) -> None:
    from bot.context import Context, Reply
    from bot.router import Dispatcher, Router

    slow = Router("slow")

    @slow.command("慢")
    async def slow_handler(ctx: Context) -> Reply:
        await asyncio.sleep(0.6)
        return Reply(text="终于好了")

    stack.services.dispatcher = Dispatcher([slow])
    stack.services.settings.wecom.reply_budget_s = 0.2
    await stack.add_user("sunqi", "孙七", ["operator"])
    result = await stack.sandbox.send_text("sunqi", "慢")
    assert result.status == 200 and result.reply is None and result.tries == 1
    sent = await stack.sandbox.wait_for_message(
        lambda m: "sunqi" in m.touser and m.payload.get("content") == "终于好了", timeout=5)
    assert sent.msgtype == "text"

    async def delivered() -> OutboxMessage | None:
        async with stack.services.sessions() as session:
            row = await session.scalar(select(OutboxMessage))
        return row if row is not None and row.status == "sent" else None

    row = await eventually(delivered)
    assert row.msgid == sent.msgid


async def test_help_shows_reporting_to_operators_but_not_to_qc(stack: Stack) -> None:
    await stack.add_user("op9", "操作工", ["operator"])
    await stack.add_user("qc9", "质检员", ["qc"])
    assert "我的报工" in (await stack.sandbox.send_text("op9", "帮助")).reply["Content"]
    assert "我的报工" not in (await stack.sandbox.send_text("qc9", "帮助")).reply["Content"]

"""Callbacks from the sandbox to a tiny bot built on CallbackCrypto: encryption, retries, passive replies."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from integrations.wecom.crypto import CallbackCrypto, CallbackError
from integrations.wecom.messages import Inbound, parse_inbound, text_reply, update_button_reply
from integrations.wecom.sandbox import CallbackFailed, Sandbox
from tests.integrations.wecom.sandbox.conftest import Api, button_card


class TinyBot:
    """The smallest honest WeCom callback endpoint, with knobs for slowness and failures."""

    def __init__(self, sandbox: Sandbox) -> None:
        config = sandbox.config
        self.crypto = CallbackCrypto(config.token, config.encoding_aes_key, config.corp_id)
        self.corp_id = config.corp_id
        self.seen: list[Inbound] = []
        self.delays: list[float] = []  # per request, first first
        self.statuses: list[int] = []
        self.reply: Callable[[Inbound], str | None] = lambda inbound: text_reply(
            inbound.user_id, self.corp_id, f"收到: {inbound.content or inbound.event}", int(time.time())
        )
        self.raw_reply: str | None = None
        self.app = web.Application()
        self.app.add_routes(
            [web.get("/wecom/callback", self.verify), web.post("/wecom/callback", self.receive)]
        )

    async def verify(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            plain = self.crypto.verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        except CallbackError as error:
            return web.Response(status=error.status, text=error.reason)
        return web.Response(text=plain)

    async def receive(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            inbound = parse_inbound(
                self.crypto.decrypt_message(
                    await request.read(), q["msg_signature"], q["timestamp"], q["nonce"]
                )
            )
        except CallbackError as error:
            return web.Response(status=error.status, text=error.reason)
        self.seen.append(inbound)
        if self.delays:
            await asyncio.sleep(self.delays.pop(0))  # the slow bot under test, not a wait for a condition
        if self.statuses:
            return web.Response(status=self.statuses.pop(0))
        if self.raw_reply is not None:
            return web.Response(text=self.raw_reply)
        inner = self.reply(inbound)
        if inner is None:
            return web.Response(text="")
        return web.Response(text=self.crypto.encrypt_message(inner, "replynonce", int(time.time())))


@pytest.fixture
async def bot(sandbox: Sandbox, aiohttp_server: Any) -> TinyBot:
    tiny = TinyBot(sandbox)
    server = await aiohttp_server(tiny.app)
    sandbox.config.callback_url = str(server.make_url("/wecom/callback"))
    return tiny


async def test_url_verification(bot: TinyBot, sandbox: Sandbox) -> None:
    body = await sandbox.verify_url()
    assert body and body.isalnum()
    bot.crypto = CallbackCrypto("othertoken", sandbox.config.encoding_aes_key, sandbox.config.corp_id)
    with pytest.raises(CallbackFailed):
        await sandbox.verify_url()


async def test_text_roundtrip_and_passive_reply(bot: TinyBot, sandbox: Sandbox) -> None:
    result = await sandbox.send_text("zhangsan", "报工 48 2 <&> ]]>")
    assert result.status == 200 and result.tries == 1
    assert bot.seen[0].content == "报工 48 2 <&> ]]>" and bot.seen[0].user_id == "zhangsan"
    assert bot.seen[0].agent_id == sandbox.config.agent_id and bot.seen[0].corp_id == sandbox.config.corp_id
    assert result.reply["MsgType"] == "text" and result.reply["Content"] == "收到: 报工 48 2 <&> ]]>"
    shown = sandbox.messages_for("zhangsan")[-1]
    assert shown.api == "passive_reply" and shown.payload == {"content": "收到: 报工 48 2 <&> ]]>"}


async def test_slow_bot_gets_the_same_callback_again(bot: TinyBot, sandbox: Sandbox) -> None:
    bot.delays = [0.6]  # callback_timeout_s is 0.3 in this test module
    result = await sandbox.send_text("lisi", "hello")
    assert result.status == 200 and result.tries == 2 and result.elapsed_s >= 0.3
    assert result.reply["Content"] == "收到: hello"
    assert len(bot.seen) == 2 and bot.seen[0].dedupe_key == bot.seen[1].dedupe_key


async def test_bot_that_never_answers_in_time(bot: TinyBot, sandbox: Sandbox) -> None:
    bot.delays = [0.5, 0.5, 0.5]
    result = await sandbox.send_text("lisi", "anyone?")
    assert (result.status, result.tries, result.reply) == (0, 3, None)
    assert len(bot.seen) == 3


async def test_non_200_is_retried_up_to_callback_tries(bot: TinyBot, sandbox: Sandbox) -> None:
    bot.statuses = [500, 503, 500]
    result = await sandbox.click_menu("zhangsan", "menu_kpi")
    assert (result.status, result.tries, result.reply) == (500, 3, None)
    bot.statuses = [502]
    result = await sandbox.click_menu("zhangsan", "menu_kpi")
    assert (result.status, result.tries) == (200, 2)
    assert bot.seen[-1].event == "click" and bot.seen[-1].event_key == "menu_kpi"


async def test_empty_body_means_no_reply(bot: TinyBot, sandbox: Sandbox) -> None:
    bot.reply = lambda inbound: None
    result = await sandbox.enter_agent("wangwu")
    assert (result.status, result.body, result.reply) == (200, "", None)
    assert bot.seen[0].event == "enter_agent" and sandbox.messages_for("wangwu") == []


async def test_unverifiable_reply_is_refused(bot: TinyBot, sandbox: Sandbox) -> None:
    bot.raw_reply = "<xml><Content>plain text is not accepted</Content></xml>"
    with pytest.raises(CallbackFailed):
        await sandbox.send_text("zhangsan", "x")


async def test_scan_events(bot: TinyBot, sandbox: Sandbox) -> None:
    await sandbox.scan("zhangsan", "http://127.0.0.1/q/abc?sig=1&x=2")
    await sandbox.scan("zhangsan", "6901234567892", event="scancode_push", key="scan2", scan_type="barcode")
    first, second = bot.seen
    assert (first.event, first.event_key, first.scan_type) == ("scancode_waitmsg", "scan", "qrcode")
    assert first.scan_result == "http://127.0.0.1/q/abc?sig=1&x=2"
    assert (second.event, second.scan_type, second.scan_result) == (
        "scancode_push",
        "barcode",
        "6901234567892",
    )


async def test_card_tap_carries_a_usable_response_code(bot: TinyBot, sandbox: Sandbox, api: Api) -> None:
    assert (await api.send("template_card", button_card("alarm42"), touser="zhangsan|lisi"))["errcode"] == 0
    bot.reply = lambda inbound: update_button_reply(inbound.user_id, bot.corp_id, "已确认", int(time.time()))
    result = await sandbox.tap_card_button("lisi", "alarm42", "ok")
    tap = bot.seen[-1]
    assert (tap.event, tap.event_key, tap.task_id, tap.card_type) == (
        "template_card_event",
        "ok",
        "alarm42",
        "button_interaction",
    )
    assert result.reply["MsgType"] == "update_button" and result.reply["Button"]["ReplaceName"] == "已确认"
    assert sandbox.messages_for("lisi")[-1].payload == {"replace_name": "已确认", "task_id": "alarm42"}
    body = {
        "userids": ["lisi"],
        "agentid": 1000002,
        "response_code": tap.response_code,
        "button": {"replace_name": "已处理"},
    }
    assert (await api.post("/cgi-bin/message/update_template_card", body, access_token=api.token))[
        "errcode"
    ] == 0
    await sandbox.tap_card_button("lisi", "alarm42", "no")
    assert bot.seen[-1].response_code != tap.response_code  # the used code is replaced by a fresh one
    with pytest.raises(ValueError):
        await sandbox.tap_card_button("wangwu", "alarm42", "ok")  # never received the card
    with pytest.raises(ValueError):
        await sandbox.tap_card_button("lisi", "alarm42", "missing")


async def test_vote_card_submit_carries_selections(bot: TinyBot, sandbox: Sandbox, api: Api) -> None:
    vote = {
        "card_type": "vote_interaction",
        "main_title": {"title": "班次"},
        "task_id": "vote7",
        "checkbox": {
            "question_key": "shift",
            "option_list": [{"id": "d", "text": "白"}, {"id": "n", "text": "夜"}],
        },
        "submit_button": {"text": "提交", "key": "submit"},
    }
    assert (await api.send("template_card", vote))["errcode"] == 0
    await sandbox.tap_card_button("zhangsan", "vote7", "submit", selected={"shift": ["d", "n"]})
    assert bot.seen[-1].selected == {"shift": ["d", "n"]} and bot.seen[-1].card_type == "vote_interaction"


async def test_post_raw_with_forged_signature_or_wrong_receiver(bot: TinyBot, sandbox: Sandbox) -> None:
    xml = "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>"
    forged = await sandbox.post_raw(xml, msg_signature="0" * 40)
    assert (forged.status, forged.tries) == (403, 3)
    elsewhere = await sandbox.post_raw(xml, receive_id="wwanothercorp000001")
    assert elsewhere.status == 403
    hostile = await sandbox.post_raw(
        xml, body='<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>'
    )
    assert hostile.status == 400
    assert bot.seen == []


async def test_control_api_and_event_stream(bot: TinyBot, sandbox: Sandbox, api: Api) -> None:
    async with aiohttp.ClientSession() as phone:
        async with phone.get(f"{sandbox.base_url}/sandbox/api/users") as response:
            assert {"userid": "lisi", "name": "李四"} in await response.json()
        async with phone.get(f"{sandbox.base_url}/sandbox/api/stream", params={"user": "lisi"}) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            async with phone.post(
                f"{sandbox.base_url}/sandbox/api/send_text", json={"user": "lisi", "content": "在吗"}
            ) as response:
                assert (await response.json())["reply"]["Content"] == "收到: 在吗"
            assert (await api.send("text", {"content": "推送"}, touser="lisi"))["errcode"] == 0
            events = []
            while len(events) < 2:
                line = (await asyncio.wait_for(stream.content.readline(), 2)).decode().strip()
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
        assert [(e["api"], e["payload"]["content"]) for e in events] == [
            ("passive_reply", "收到: 在吗"),
            ("message/send", "推送"),
        ]
        async with phone.get(f"{sandbox.base_url}/sandbox/api/messages", params={"user": "lisi"}) as response:
            assert len(await response.json()) == 2
        async with phone.post(
            f"{sandbox.base_url}/sandbox/api/tap", json={"user": "lisi", "task_id": "nope", "key": "ok"}
        ) as response:
            assert response.status == 400


async def test_wait_for_message(sandbox: Sandbox, api: Api) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await api.send("text", {"content": "迟到的消息"}, touser="wangwu")

    task = asyncio.create_task(later())
    message = await sandbox.wait_for_message(lambda m: "wangwu" in m.touser, timeout=2)
    assert message.payload["content"] == "迟到的消息"
    await task
    with pytest.raises(TimeoutError):
        await sandbox.wait_for_message(lambda m: "lisi" in m.touser, timeout=0.05)

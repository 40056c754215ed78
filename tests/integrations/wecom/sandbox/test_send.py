"""The sandbox's qyapi validates tokens and message bodies the way WeCom does."""

from __future__ import annotations

import asyncio

import pytest

from integrations.wecom.sandbox import Sandbox
from tests.integrations.wecom.sandbox.conftest import Api, button_card


async def test_gettoken_checks_corp_and_secret(api: Api, sandbox: Sandbox) -> None:
    config = sandbox.config
    assert (await api.get("/cgi-bin/gettoken", corpid="wwother", corpsecret=config.secret))[
        "errcode"
    ] == 40013
    assert (await api.get("/cgi-bin/gettoken", corpid=config.corp_id, corpsecret="nope"))["errcode"] == 40001
    answer = await api.get("/cgi-bin/gettoken", corpid=config.corp_id, corpsecret=config.secret)
    assert answer["access_token"] == api.token and 0 < answer["expires_in"] <= 7200


async def test_token_missing_invalid_expired(api: Api, sandbox: Sandbox) -> None:
    body = {"touser": "zhangsan", "msgtype": "text", "agentid": 1000002, "text": {"content": "hi"}}
    assert (await api.post("/cgi-bin/message/send", body))["errcode"] == 41001
    assert (await api.post("/cgi-bin/message/send", body, access_token="forged"))["errcode"] == 40014
    sandbox.expire_tokens()
    assert (await api.send("text", {"content": "hi"}))["errcode"] == 42001
    old = api.token
    assert await api.fresh_token() != old
    assert (await api.send("text", {"content": "hi"}))["errcode"] == 0


async def test_token_expires_after_ttl(api: Api, sandbox: Sandbox) -> None:
    sandbox.advance_clock(7201)
    assert (await api.send("text", {"content": "hi"}))["errcode"] == 42001


async def test_text_limits_and_recipients(api: Api, sandbox: Sandbox) -> None:
    ok = await api.send("text", {"content": "中" * 682 + "ab"}, touser="zhangsan|ghost1|lisi|ghost2")
    assert ok["errcode"] == 0 and ok["invaliduser"] == "ghost1|ghost2" and ok["msgid"]
    assert "response_code" not in ok
    sent = sandbox.messages[-1]
    assert sent.api == "message/send" and sent.touser == ["zhangsan", "lisi"] and sent.msgid == ok["msgid"]
    assert sandbox.messages_for("lisi") == [sent] and sandbox.messages_for("wangwu") == []
    assert (await api.send("text", {"content": "中" * 683}))["errcode"] == 45002  # 2049 bytes
    assert (await api.send("text", {"content": ""}))["errcode"] == 44004
    assert (await api.send("markdown", {"content": "x" * 2049}))["errcode"] == 45002
    nobody = await api.send("text", {"content": "hi"}, touser="ghost")
    assert nobody["errcode"] == 81013 and nobody["invaliduser"] == "ghost"
    everyone = await api.send("text", {"content": "hi"}, touser="@all")
    assert sorted(sandbox.messages[-1].touser) == ["lisi", "wangwu", "zhangsan"] and everyone["errcode"] == 0
    assert len(sandbox.messages) == 2  # rejected requests are not recorded


async def test_envelope_errors(api: Api, sandbox: Sandbox) -> None:
    assert (await api.send("text", {"content": "x"}, agentid=1))["errcode"] == 40056
    assert (await api.send("sticker", {"id": 1}))["errcode"] == 40008
    bare = {"touser": "zhangsan", "msgtype": "text", "agentid": 1000002}
    assert (await api.post("/cgi-bin/message/send", bare, access_token=api.token))["errcode"] == 40058
    async with api.http.post(
        f"{sandbox.base_url}/cgi-bin/message/send", params={"access_token": api.token}, data=b"{not json"
    ) as response:
        assert (await response.json())["errcode"] == 47001


async def test_textcard_and_news_rules(api: Api) -> None:
    card = {"title": "t" * 128, "description": "d" * 512, "url": "http://127.0.0.1/x"}
    assert (await api.send("textcard", card))["errcode"] == 0
    assert (await api.send("textcard", {**card, "title": "标" * 43}))["errcode"] == 45002  # 129 bytes
    assert (await api.send("textcard", {**card, "description": "d" * 513}))["errcode"] == 45002
    article = {"title": "a", "url": "http://127.0.0.1/a"}
    assert (await api.send("news", {"articles": [article] * 8}))["errcode"] == 0
    assert (await api.send("news", {"articles": [article] * 9}))["errcode"] != 0
    assert (await api.send("news", {"articles": []}))["errcode"] != 0


async def test_interactive_card_rules(api: Api, sandbox: Sandbox) -> None:
    no_task = button_card("x")
    del no_task["task_id"]
    assert (await api.send("template_card", no_task))["errcode"] == 40058
    assert (await api.send("template_card", button_card("bad id!")))["errcode"] == 40058
    assert (await api.send("template_card", button_card("t" * 129)))["errcode"] == 40058
    seven = button_card("seven", tuple(f"k{i}" for i in range(7)))
    assert (await api.send("template_card", seven))["errcode"] == 40058
    assert (await api.send("template_card", {**button_card("c1"), "card_type": "fancy"}))["errcode"] == 40058
    ok = await api.send("template_card", button_card("Task_1-a@b"), touser="zhangsan|lisi")
    assert ok["errcode"] == 0 and ok["response_code"]
    assert sandbox.messages[-1].response_code == ok["response_code"]
    assert sandbox.messages[-1].payload["task_id"] == "Task_1-a@b"
    assert (await api.send("template_card", button_card("Task_1-a@b")))["errcode"] == 40058  # task_id reused


async def test_notice_and_selection_cards(api: Api) -> None:
    notice = {"card_type": "text_notice", "main_title": {"title": "班次报表"}}
    assert (await api.send("template_card", notice))["errcode"] == 40058  # needs card_action
    notice["card_action"] = {"type": 1, "url": "http://127.0.0.1/r"}
    assert (await api.send("template_card", notice))["errcode"] == 0
    options = [{"id": f"o{i}", "text": f"选项{i}"} for i in range(21)]
    vote = {
        "card_type": "vote_interaction",
        "main_title": {"title": "投票"},
        "task_id": "vote1",
        "checkbox": {"question_key": "q", "option_list": options, "mode": 1},
        "submit_button": {"text": "提交", "key": "submit"},
    }
    assert (await api.send("template_card", vote))["errcode"] == 40058  # 21 options
    vote["checkbox"]["option_list"] = options[:20]
    assert (await api.send("template_card", vote))["errcode"] == 0
    multiple = {
        "card_type": "multiple_interaction",
        "main_title": {"title": "选择"},
        "task_id": "multi1",
        "select_list": [{"question_key": f"s{i}", "option_list": options[:2]} for i in range(4)],
        "submit_button": {"text": "提交", "key": "submit"},
    }
    assert (await api.send("template_card", multiple))["errcode"] == 40058  # 4 selectors
    multiple["select_list"] = multiple["select_list"][:3]
    assert (await api.send("template_card", multiple))["errcode"] == 0


async def test_update_template_card_code_once_and_for_72_hours(api: Api, sandbox: Sandbox) -> None:
    sent = await api.send("template_card", button_card("upd1"), touser="zhangsan|lisi")
    body = {
        "userids": ["zhangsan", "ghost"],
        "agentid": 1000002,
        "response_code": sent["response_code"],
        "button": {"replace_name": "已处理"},
    }
    path = "/cgi-bin/message/update_template_card"
    answer = await api.post(path, body, access_token=api.token)
    assert answer["errcode"] == 0 and answer["invaliduser"] == ["ghost"]
    update = sandbox.messages[-1]
    assert update.api == "update_template_card" and update.touser == ["zhangsan"]
    assert update.payload == {"replace_name": "已处理"}
    assert (await api.post(path, body, access_token=api.token))["errcode"] != 0  # used once
    later = await api.send("template_card", button_card("upd2"))
    sandbox.advance_clock(72 * 3600 + 1)
    await api.fresh_token()
    expired = {**body, "response_code": later["response_code"]}
    assert (await api.post(path, expired, access_token=api.token))["errcode"] != 0



async def test_every_tap_brings_a_new_response_code(api: Api, sandbox: Sandbox) -> None:
    """As WeCom does: a second tap before the first tap's code was used carries a code of its own, so a bot that
    queued an update with the first one never finds the second update refused as 'used'."""
    await api.send("template_card", button_card("tap1"), touser="zhangsan")
    first, second = sandbox.state.code_for_tap("tap1", "zhangsan"), sandbox.state.code_for_tap("tap1", "zhangsan")
    assert first != second
    path = "/cgi-bin/message/update_template_card"
    for code in (first, second):
        body = {"userids": ["zhangsan"], "agentid": 1000002, "response_code": code, "button": {"replace_name": "好"}}
        assert (await api.post(path, body, access_token=api.token))["errcode"] == 0


async def test_appchat_and_webhook(api: Api, sandbox: Sandbox) -> None:
    chat = {"chatid": "line1", "msgtype": "text", "text": {"content": "开班"}}
    assert (await api.post("/cgi-bin/appchat/send", chat, access_token=api.token))["errcode"] == 0
    assert sandbox.messages[-1].api == "appchat/send" and sandbox.messages[-1].chatid == "line1"
    hook = "/cgi-bin/webhook/send"
    assert (await api.post(hook, {"msgtype": "markdown", "markdown": {"content": "x" * 4096}}, key="k1"))[
        "errcode"
    ] == 0
    assert (await api.post(hook, {"msgtype": "markdown", "markdown": {"content": "x" * 4097}}, key="k1"))[
        "errcode"
    ] == 45002
    assert (await api.post(hook, {"msgtype": "text", "text": {"content": "x"}}))["errcode"] == 93000


async def test_webhook_allows_20_a_minute_per_key(api: Api, sandbox: Sandbox) -> None:
    message = {"msgtype": "text", "text": {"content": "告警"}}
    codes = [(await api.post("/cgi-bin/webhook/send", message, key="robot"))["errcode"] for _ in range(21)]
    assert codes == [0] * 20 + [45009]
    assert (await api.post("/cgi-bin/webhook/send", message, key="other"))["errcode"] == 0
    sandbox.advance_clock(61)
    assert (await api.post("/cgi-bin/webhook/send", message, key="robot"))["errcode"] == 0


@pytest.mark.parametrize(("api_name", "path"), [("message/send", "/cgi-bin/message/send")])
async def test_faults_apply_before_validation_and_count_down(
    api: Api, sandbox: Sandbox, api_name: str, path: str
) -> None:
    sandbox.inject_fault(api_name, errcode=-1, times=2)
    bad_body = {"msgtype": "nonsense"}
    assert (await api.post(path, bad_body, access_token=api.token))["errcode"] == -1
    assert (await api.send("text", {"content": "x"}))["errcode"] == -1
    assert (await api.send("text", {"content": "x"}))["errcode"] == 0
    assert len(sandbox.messages) == 1


async def test_http_status_and_delay_faults(api: Api, sandbox: Sandbox) -> None:
    sandbox.inject_fault("gettoken", http_status=502)
    config = sandbox.config
    url = f"{sandbox.base_url}/cgi-bin/gettoken"
    async with api.http.get(url, params={"corpid": config.corp_id, "corpsecret": config.secret}) as response:
        assert response.status == 502
    sandbox.inject_fault("/cgi-bin/message/send", delay_s=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await api.send("text", {"content": "slow"}))["errcode"] == 0  # delayed, then handled normally
    assert loop.time() - started >= 0.2
    sandbox.inject_fault("message/send", errcode=45009, delay_s=0.05)
    assert (await api.send("text", {"content": "x"}))["errcode"] == 45009


async def test_media_upload_and_use(api: Api, sandbox: Sandbox) -> None:
    import aiohttp

    def form(data: bytes, field: str = "media") -> aiohttp.FormData:
        payload = aiohttp.FormData()
        payload.add_field(field, data, filename="photo.png", content_type="image/png")
        return payload

    url = f"{sandbox.base_url}/cgi-bin/media/upload"
    async with api.http.post(
        url, params={"access_token": api.token, "type": "image"}, data=form(b"PNG!!!")
    ) as r:
        uploaded = await r.json()
    assert uploaded["errcode"] == 0 and uploaded["type"] == "image" and uploaded["media_id"]
    async with api.http.get(f"{sandbox.base_url}/sandbox/media/{uploaded['media_id']}") as r:
        assert r.status == 200 and await r.read() == b"PNG!!!" and r.content_type == "image/png"
    async with api.http.post(
        url, params={"access_token": api.token, "type": "image"}, data=form(b"tiny")
    ) as r:
        assert (await r.json())["errcode"] == 40006
    async with api.http.post(
        url, params={"access_token": api.token, "type": "gif"}, data=form(b"GIF89a")
    ) as r:
        assert (await r.json())["errcode"] == 40005
    async with api.http.post(
        url, params={"access_token": api.token, "type": "voice"}, data=form(b"x" * (2 * 1024 * 1024 + 1))
    ) as r:
        assert (await r.json())["errcode"] == 40006
    assert (await api.send("image", {"media_id": uploaded["media_id"]}))["errcode"] == 0
    assert (await api.send("image", {"media_id": "unknown"}))["errcode"] == 40007


async def test_jsapi_ticket_needs_a_token(api: Api) -> None:
    assert (await api.get("/cgi-bin/get_jsapi_ticket"))["errcode"] == 41001
    answer = await api.get("/cgi-bin/get_jsapi_ticket", access_token=api.token)
    assert answer["errcode"] == 0 and answer["ticket"] and answer["expires_in"] == 7200

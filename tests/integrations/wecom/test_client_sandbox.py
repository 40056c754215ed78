"""WeComClient against the sandbox, the faithful fake WeCom: the same paths, validation and faults."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from integrations.wecom.client import OAuthIdentity, WeComClient
from integrations.wecom.errors import (
    ContentError,
    InvalidRecipientError,
    OAuthCodeError,
    TransientWeComError,
    WeComConfigError,
)
from integrations.wecom.limits import SendLimiter
from integrations.wecom.sandbox import Sandbox, SandboxConfig

USERS = {"zhangsan": "张三", "lisi": "李四", "wangwu": "王五"}


@dataclass
class Running:
    sandbox: Sandbox
    base_url: str
    calls: Counter[str]


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    sandbox = Sandbox(SandboxConfig(users=dict(USERS)))
    calls: Counter[str] = Counter()

    @web.middleware
    async def count_calls(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        calls[request.path.removeprefix("/cgi-bin/")] += 1
        return await handler(request)

    sandbox.app.middlewares.append(count_calls)  # observation only; the sandbox answers as usual
    base_url = await sandbox.start()
    try:
        yield Running(sandbox, base_url, calls)
    finally:
        await sandbox.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def client_for(running: Running, session: aiohttp.ClientSession, **overrides: Any) -> WeComClient:
    config = running.sandbox.config
    options: dict[str, Any] = {
        "corp_id": config.corp_id, "secret": config.secret, "agent_id": config.agent_id,
        "api_base": running.base_url, "oauth_base": running.base_url,
        "backoff_base_s": 0.001, "backoff_max_s": 0.004, "timeout_s": 2.0,
    }  # fmt: skip
    options.update(overrides)
    return WeComClient(session, **options)


async def test_concurrent_sends_share_one_gettoken(running: Running, session) -> None:
    client = client_for(running, session)
    results = await asyncio.gather(*(client.send_text(f"第{i}条", touser=["zhangsan"]) for i in range(10)))
    assert running.calls["gettoken"] == 1
    assert len(running.sandbox.messages) == 10
    assert {message.msgid for message in running.sandbox.messages} == {result.msgid for result in results}


async def test_expired_token_is_refreshed_once_and_the_send_goes_through(running: Running, session) -> None:
    client = client_for(running, session)
    await client.send_text("before", touser=["zhangsan"])
    running.sandbox.expire_tokens()
    await asyncio.gather(*(client.send_text(f"after {i}", touser=["lisi"]) for i in range(3)))
    assert running.calls["gettoken"] == 2
    assert [m.payload["content"] for m in running.sandbox.messages_for("lisi")] == [
        "after 0",
        "after 1",
        "after 2",
    ]


@pytest.mark.parametrize("errcode", [-1, 45009])
async def test_busy_and_frequency_faults_are_retried(running: Running, session, errcode: int) -> None:
    client = client_for(running, session)
    running.sandbox.inject_fault("message/send", errcode=errcode, times=2)
    result = await client.send_text("重试", touser=["zhangsan"])
    assert result.msgid == running.sandbox.messages[-1].msgid
    assert running.calls["message/send"] == 3
    assert len(running.sandbox.messages) == 1


async def test_persistent_busy_raises_transient_after_max_attempts(running: Running, session) -> None:
    client = client_for(running, session, max_attempts=3)
    running.sandbox.inject_fault("message/send", errcode=-1, times=10)
    with pytest.raises(TransientWeComError):
        await client.send_text("x", touser=["zhangsan"])
    assert running.calls["message/send"] == 3
    assert running.sandbox.messages == []


async def test_http_error_and_slow_answer_are_retried(running: Running, session) -> None:
    client = client_for(running, session, timeout_s=0.2)
    running.sandbox.inject_fault("message/send", http_status=502)
    running.sandbox.inject_fault("message/send", delay_s=0.5)
    assert (await client.send_text("x", touser=["zhangsan"], enable_duplicate_check=True)).msgid is not None
    assert running.calls["message/send"] == 3
    assert len(running.sandbox.messages_for("zhangsan")) == 1  # the slow answer's twin was dropped by WeCom


async def test_wrong_secret_is_a_config_error_without_retry(running: Running, session) -> None:
    client = client_for(running, session, secret="not-the-secret")
    with pytest.raises(WeComConfigError) as caught:
        await client.send_text("x", touser=["zhangsan"])
    assert caught.value.errcode == 40001
    assert running.calls["gettoken"] == 1


async def test_invalid_users_are_reported_and_no_valid_user_is_an_error(running: Running, session) -> None:
    client = client_for(running, session)
    result = await client.send_markdown("**注意**", touser=["zhangsan", "ghost", "nobody"])
    assert result.invalid_users == ["ghost", "nobody"]
    with pytest.raises(InvalidRecipientError):
        await client.send_text("x", touser=["ghost"])
    with pytest.raises(ContentError) as too_long:
        await client.send_text("长" * 700, touser=["zhangsan"])  # 2100 bytes
    assert too_long.value.errcode == 45002


async def test_interactive_card_can_be_updated_once(running: Running, session) -> None:
    client = client_for(running, session)
    card = {
        "card_type": "button_interaction", "task_id": "task-1", "main_title": {"title": "停机确认"},
        "button_list": [{"text": "确认", "style": 1, "key": "confirm"}],
    }  # fmt: skip
    sent = await client.send_template_card(card, touser=["zhangsan", "lisi"])
    assert sent.response_code
    updated = await client.update_template_card(
        ["zhangsan", "ghost"], sent.response_code, replace_name="已确认"
    )
    assert updated.invalid_users == ["ghost"]
    assert running.sandbox.messages[-1].api == "update_template_card"
    with pytest.raises(ContentError):
        await client.update_template_card(["zhangsan"], sent.response_code, replace_name="再次")


async def test_uploaded_file_can_be_sent(running: Running, session) -> None:
    client = client_for(running, session)
    data = "班次,产量\n早班,480\n".encode()
    media_id = await client.upload_media("file", "产量日报.csv", data, "text/csv")
    stored = running.sandbox.state.media[media_id]
    assert (stored.filename, stored.data, stored.type) == ("产量日报.csv", data, "file")
    await client.send_file(media_id, touser=["wangwu"])
    assert running.sandbox.messages_for("wangwu")[-1].payload == {"media_id": media_id}
    with pytest.raises(ContentError):
        await client.upload_media("file", "tiny.txt", b"1234")


async def authorize_as(session: aiohttp.ClientSession, url: str, userid: str) -> tuple[str, str]:
    """Play the phone: open WeCom's authorize URL as userid and read the redirect's code and state."""
    async with session.get(url, cookies={"sandbox_user": userid}, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        back = URL(response.headers["Location"])
    return back.query["code"], back.query["state"]


async def test_oauth_redirect_code_gives_the_member_once(running: Running, session) -> None:
    client = client_for(running, session)
    url = client.oauth_authorize_url("http://127.0.0.1/h5/report?line=3", "st8x")
    code, state = await authorize_as(session, url, "lisi")
    assert state == "st8x"
    assert await client.oauth_identity(code) == OAuthIdentity(
        user_id="lisi", open_id=None, external_user_id=None
    )
    with pytest.raises(OAuthCodeError):
        await client.oauth_identity(code)
    outsider_code, _ = await authorize_as(session, url, "visitor")
    outsider = await client.oauth_identity(outsider_code)
    assert (outsider.user_id, outsider.open_id) == (None, "o-visitor")


async def test_webhook_appchat_and_jsapi_ticket(running: Running, session) -> None:
    client = client_for(running, session)
    await client.webhook_send("robot-1", "text", {"content": "3号线停机"})
    await client.appchat_send("chat-ops", "text", {"content": "交接班"})
    hook, chat = running.sandbox.messages[-2:]
    assert (hook.api, hook.request["key"], chat.api, chat.chatid) == (
        "webhook/send",
        "robot-1",
        "appchat/send",
        "chat-ops",
    )
    assert await client.jsapi_ticket() == await client.jsapi_ticket()
    assert running.calls["get_jsapi_ticket"] == 1


async def test_limiter_spaces_sends_to_one_member(running: Running, session) -> None:
    clock_now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        clock_now[0] += seconds

    limiter = SendLimiter(per_member_per_minute=3, clock=lambda: clock_now[0], sleep=fake_sleep)
    client = client_for(running, session, limiter=limiter)
    for index in range(4):
        await client.send_text(f"{index}", touser=["zhangsan"])
    assert clock_now[0] == pytest.approx(60.0)
    assert len(running.sandbox.messages_for("zhangsan")) == 4

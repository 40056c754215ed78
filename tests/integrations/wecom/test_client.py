"""WeComClient against a loopback WeCom peer: token caching, retries, errors, parsing, uploads, OAuth."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from integrations.wecom.client import OAuthIdentity
from integrations.wecom.errors import (
    ContentError,
    InvalidRecipientError,
    OAuthCodeError,
    TokenInvalidError,
    TransientWeComError,
    WeComConfigError,
    WeComError,
)
from integrations.wecom.tokens import CachedToken, MemoryTokenStore
from tests.integrations.wecom.test_client_peer import (
    AGENT_ID,
    CORP_ID,
    SECRET,
    Scripted,
    StartServer,
    WeComPeer,
    make_client,
    start_peer,
)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def peer(aiohttp_server: StartServer) -> tuple[WeComPeer, str]:
    return await start_peer(aiohttp_server)


async def test_token_is_cached_and_single_flight_under_concurrent_sends(session, peer) -> None:
    wecom, base = peer
    wecom.gettoken_gate = asyncio.Event()
    client = make_client(session, base)
    sends = [asyncio.create_task(client.send_text(f"hello {i}", touser=["u1"])) for i in range(12)]
    await asyncio.sleep(0)
    wecom.gettoken_gate.set()
    results = await asyncio.gather(*sends)
    await client.send_text("later", touser=["u1"])
    assert wecom.count("gettoken") == 1
    assert wecom.count("message/send") == 13
    assert len({result.msgid for result in results}) == 12


async def test_expired_token_is_refreshed_exactly_once_for_concurrent_callers(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base)
    await client.send_text("warm up", touser=["u1"])
    old = await client.access_token()
    wecom.expire_tokens()
    await asyncio.gather(*(client.send_text(f"after expiry {i}", touser=["u1"]) for i in range(5)))
    assert wecom.count("gettoken") == 2
    assert await client.access_token() != old
    assert all(call.query["access_token"] != old for call in wecom.calls["message/send"][-5:])


async def test_token_rejected_twice_raises_after_a_single_refresh(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base)
    wecom.script(
        "message/send",
        {"errcode": 40014, "errmsg": "invalid access_token"},
        {"errcode": 40014, "errmsg": "invalid access_token"},
    )
    with pytest.raises(TokenInvalidError) as caught:
        await client.send_text("x", touser=["u1"])
    assert caught.value.errcode == 40014
    assert wecom.count("gettoken") == 2
    assert wecom.count("message/send") == 2


@pytest.mark.parametrize("errcode", [-1, 45009, 45033])
async def test_busy_and_frequency_errors_are_retried_until_success(session, peer, errcode: int) -> None:
    wecom, base = peer
    client = make_client(session, base, max_attempts=4)
    wecom.script(
        "message/send", {"errcode": errcode, "errmsg": "busy"}, {"errcode": errcode, "errmsg": "busy"}
    )
    result = await client.send_text("x", touser=["u1"])
    assert result.msgid is not None
    assert wecom.count("message/send") == 3


async def test_persistent_busy_gives_transient_error_after_max_attempts(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base, max_attempts=3)
    wecom.script("message/send", *[{"errcode": -1, "errmsg": "system busy"}] * 5)
    with pytest.raises(TransientWeComError) as caught:
        await client.send_text("x", touser=["u1"])
    assert (caught.value.errcode, caught.value.api) == (-1, "message/send")
    assert wecom.count("message/send") == 3


async def test_backoff_grows_exponentially_and_is_capped(session, peer, caplog) -> None:
    wecom, base = peer
    client = make_client(session, base, max_attempts=5, backoff_base_s=0.01, backoff_max_s=0.02)
    wecom.script("message/send", *[{"errcode": -1, "errmsg": "busy"}] * 4)
    with caplog.at_level(logging.WARNING, logger="integrations.wecom.client"):
        await client.send_text("x", touser=["u1"])
    delays = [record.args[-1] for record in caplog.records if "retrying in" in record.msg]
    assert len(delays) == 4
    ceilings = [0.01, 0.02, 0.02, 0.02]
    assert all(ceiling / 2 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))


async def test_http_5xx_and_unparsable_answers_are_retried(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base)
    wecom.script("message/send", Scripted(http_status=502), Scripted(raw=b"<html>oops</html>"))
    assert (await client.send_text("x", touser=["u1"])).msgid is not None
    assert wecom.count("message/send") == 3


async def test_timeout_is_retried_when_wecom_drops_the_duplicate(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base, timeout_s=0.2)
    wecom.script("message/send", Scripted(delay_s=1.0))
    assert (await client.send_text("x", touser=["u1"], enable_duplicate_check=True)).msgid is not None
    assert wecom.count("message/send") == 2


async def test_timeout_without_duplicate_check_is_not_resent(session, peer) -> None:
    """The lost answer may hide a delivered message: resending could make it arrive twice."""
    wecom, base = peer
    client = make_client(session, base, timeout_s=0.2)
    wecom.script("message/send", Scripted(delay_s=1.0))
    with pytest.raises(TransientWeComError) as caught:
        await client.send_text("x", touser=["u1"])
    assert caught.value.maybe_delivered and wecom.count("message/send") == 1


async def test_unreachable_wecom_gives_transient_error(session) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(session, f"http://127.0.0.1:{port}", max_attempts=2)
    with pytest.raises(TransientWeComError) as caught:
        await client.send_text("x", touser=["u1"])
    assert caught.value.api == "gettoken"


async def test_bad_secret_is_a_config_error_without_retry(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base, secret="wrong-secret")
    for _ in range(3):
        with pytest.raises(WeComConfigError) as caught:
            await client.send_text("x", touser=["u1"])
        assert caught.value.errcode == 40001
    assert wecom.count("gettoken") == 1  # held, so WeCom is not asked again (it bans IPs for bad secrets)
    assert wecom.count("message/send") == 0


@pytest.mark.parametrize(
    ("errcode", "kind"),
    [
        (60020, WeComConfigError),
        (48002, WeComConfigError),
        (81013, InvalidRecipientError),
        (44004, ContentError),
        (45002, ContentError),
        (99999, WeComError),
    ],
)
async def test_non_retryable_errors_are_raised_at_once(session, peer, errcode: int, kind: type) -> None:
    wecom, base = peer
    client = make_client(session, base)
    wecom.script("message/send", {"errcode": errcode, "errmsg": "no"})
    with pytest.raises(kind) as caught:
        await client.send_text("x", touser=["u1"])
    assert not isinstance(caught.value, TransientWeComError | TokenInvalidError)
    assert wecom.count("message/send") == 1


async def test_invalid_recipients_are_parsed_from_pipes_and_lists(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base)
    wecom.script(
        "message/send",
        {
            "errcode": 0,
            "errmsg": "ok",
            "invaliduser": "u2|u3",
            "invalidparty": "7",
            "invalidtag": "",
            "msgid": "m-1",
        },
    )
    wecom.script("message/update_template_card", {"errcode": 0, "errmsg": "ok", "invaliduser": ["u9"]})
    sent = await client.send_text("x", touser=["u1", "u2", "u3"], toparty=["7"])
    assert (sent.msgid, sent.invalid_users, sent.invalid_parties, sent.invalid_tags) == (
        "m-1",
        ["u2", "u3"],
        ["7"],
        [],
    )
    updated = await client.update_template_card(["u1", "u9"], "resp-code", replace_name="已处理")
    assert updated.invalid_users == ["u9"]
    body = wecom.calls["message/update_template_card"][0].json
    assert body == {
        "userids": ["u1", "u9"],
        "agentid": AGENT_ID,
        "response_code": "resp-code",
        "button": {"replace_name": "已处理"},
    }


async def test_send_body_follows_wecom_shape(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base)
    card = {"card_type": "button_interaction", "task_id": "t-1", "main_title": {"title": "T"}}
    wecom.script("message/send", {"errcode": 0, "errmsg": "ok", "msgid": "m", "response_code": "rc-1"})
    result = await client.send_template_card(
        card, touser=["a", "b"], totag=["3"], enable_duplicate_check=True, duplicate_check_interval=600
    )
    assert result.response_code == "rc-1"
    assert wecom.calls["message/send"][0].json == {
        "msgtype": "template_card",
        "agentid": AGENT_ID,
        "template_card": card,
        "touser": "a|b",
        "totag": "3",
        "enable_duplicate_check": 1,
        "duplicate_check_interval": 600,
    }
    with pytest.raises(ValueError):
        await client.send_text("nobody")
    with pytest.raises(ValueError):
        await client.update_template_card(["a"], "rc", replace_name="x", template_card=card)


async def test_upload_is_multipart_and_survives_a_retry(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base)
    data = b"%PDF-1.4 report body"
    wecom.script("media/upload", Scripted(http_status=503))
    media_id = await client.upload_media("file", "日报.pdf", data, "application/pdf")
    assert media_id.startswith("media-")
    last = wecom.calls["media/upload"][-1]
    assert last.query["type"] == "file"
    media = last.form["media"]
    assert (media.filename, media.content_type, media.data) == ("日报.pdf", "application/pdf", data)
    assert wecom.count("media/upload") == 2
    with pytest.raises(ValueError):
        await client.upload_media("pdf", "x.pdf", data)


async def test_oauth_code_gives_identity_once(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base)
    wecom.oauth_codes["code-1"] = {"userid": "zhangsan"}
    wecom.oauth_codes["code-2"] = {"openid": "o-1", "external_userid": "wm-1"}
    assert await client.oauth_identity("code-1") == OAuthIdentity(
        user_id="zhangsan", open_id=None, external_user_id=None
    )
    assert await client.oauth_identity("code-2") == OAuthIdentity(
        user_id=None, open_id="o-1", external_user_id="wm-1"
    )
    with pytest.raises(OAuthCodeError):
        await client.oauth_identity("code-1")
    assert wecom.count("auth/getuserinfo") == 3
    assert wecom.calls["auth/getuserinfo"][0].query["code"] == "code-1"


def test_oauth_authorize_url_is_wecom_shaped(session) -> None:
    client = make_client(session, "http://127.0.0.1:1", oauth_base="http://127.0.0.1:2/")
    url = client.oauth_authorize_url("https://ops.example.com/h5/report?line=3", "abcXYZ09")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == (
        "http",
        "127.0.0.1:2",
        "/connect/oauth2/authorize",
        "wechat_redirect",
    )
    assert parse_qsl(parts.query) == [
        ("appid", CORP_ID),
        ("redirect_uri", "https://ops.example.com/h5/report?line=3"),
        ("response_type", "code"),
        ("scope", "snsapi_base"),
        ("state", "abcXYZ09"),
        ("agentid", str(AGENT_ID)),
    ]
    assert "redirect_uri=https%3A%2F%2Fops.example.com%2Fh5%2Freport%3Fline%3D3&" in url
    for bad_state in ("has space", "a" * 129, "ünïcode", "a-b"):
        with pytest.raises(ValueError):
            client.oauth_authorize_url("https://ops.example.com/", bad_state)


async def test_webhook_send_uses_key_and_no_token(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base)
    await client.webhook_send("robot-key-1", "markdown", {"content": "**停机** 3号线"})
    call = wecom.calls["webhook/send"][0]
    assert call.query == {"key": "robot-key-1"}
    assert call.json == {"msgtype": "markdown", "markdown": {"content": "**停机** 3号线"}}
    assert wecom.count("gettoken") == 0
    with pytest.raises(WeComError) as caught:
        await client.webhook_send("unknown-key", "text", {"content": "x"})
    assert caught.value.errcode == 93000


async def test_jsapi_ticket_is_cached(session, peer) -> None:
    wecom, base = peer
    client = make_client(session, base)
    first = await client.jsapi_ticket()
    assert await client.jsapi_ticket() == first
    assert wecom.count("get_jsapi_ticket") == 1


async def test_shared_store_lets_a_second_process_reuse_and_follow_a_refresh(session, peer) -> None:
    wecom, base = peer
    store = MemoryTokenStore()
    first, second = (
        make_client(session, base, token_store=store),
        make_client(session, base, token_store=store),
    )
    await first.send_text("a", touser=["u1"])
    await second.send_text("b", touser=["u1"])
    assert wecom.count("gettoken") == 1
    wecom.expire_tokens()
    await first.send_text("c", touser=["u1"])  # first refreshes and saves the new token
    await second.send_text("d", touser=["u1"])  # second is rejected, finds the new token in the store
    assert wecom.count("gettoken") == 2
    stored = await store.load(f"wecom:access_token:{CORP_ID}:{AGENT_ID}")
    assert stored is not None and stored.value in wecom.valid


async def test_stored_token_close_to_expiry_is_renewed_early(session, peer) -> None:
    wecom, base = peer
    store, key = MemoryTokenStore(), f"wecom:access_token:{CORP_ID}:{AGENT_ID}"
    wecom.issued |= {"long-lived", "nearly-expired"}
    wecom.valid |= {"long-lived", "nearly-expired"}
    await store.save(key, CachedToken("long-lived", time.time() + 1000))
    assert await make_client(session, base, token_store=store).access_token() == "long-lived"
    await store.save(key, CachedToken("nearly-expired", time.time() + 200))
    assert (await make_client(session, base, token_store=store).access_token()).startswith("tok-")
    assert wecom.count("gettoken") == 1


async def test_secret_token_and_webhook_key_never_reach_logs_or_errors(session, peer, caplog) -> None:
    wecom, base = peer
    client = make_client(session, base, max_attempts=2)
    wecom.script("message/send", *[{"errcode": -1, "errmsg": f"busy access_token={'x' * 5}"}] * 2)
    wecom.script("webhook/send", {"errcode": -1, "errmsg": "busy"}, {"errcode": -1, "errmsg": "busy"})
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(TransientWeComError) as send_error:
            await client.send_text("x", touser=["u1"])
        with pytest.raises(TransientWeComError) as hook_error:
            await client.webhook_send("robot-key-1", "text", {"content": "x"})
    token = await client.access_token()
    client_side = [
        r.getMessage() for r in caplog.records if not r.name.startswith(("aiohttp.access", "aiohttp.server"))
    ]
    text = "\n".join(client_side) + str(send_error.value) + str(hook_error.value) + repr(client)
    assert "transient errcode -1" in text
    for secret in (SECRET, token, "robot-key-1", "xxxxx"):
        assert secret not in text

"""Property: the unauthenticated callback URL answers any query and body with a 2xx or 4xx, never a 5xx or a
traceback — and a correctly signed, encrypted envelope around any inner text is handled on purpose too."""
from __future__ import annotations

import time

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.wecom.crypto import CallbackCrypto
from tests.conftest import DEMO_AES_KEY, Stack

from .support import FUZZ_MORE, any_text, assert_on_purpose, chat_chars, hostile_numbers, query_text

pytestmark = pytest.mark.db
CORP = "wwsandbox0000000001"
PARAMS = ("msg_signature", "timestamp", "nonce", "echostr")
timestamps = st.one_of(hostile_numbers, st.integers(0, 2**40).map(str))
# All parameters present most of the time, so the checks behind "missing query parameters" are reached.
query = st.builds(lambda values, ts, drop: {k: v for k, v in (values | {"timestamp": ts}).items() if k not in drop},
                  st.fixed_dictionaries({k: query_text for k in PARAMS}), timestamps,
                  st.sets(st.sampled_from(PARAMS), max_size=1))
bodies = st.one_of(st.binary(max_size=300), any_text.map(lambda t: f"<xml><Encrypt>{t}</Encrypt></xml>".encode()))


async def call(stack: Stack, method: str, params: dict[str, str], body: bytes | None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{stack.bot_url}/wecom/callback", params=params, data=body) as resp:
            return resp.status, await resp.text()


@FUZZ_MORE
@given(params=query, body=st.one_of(st.none(), bodies), method=st.sampled_from(["GET", "POST"]))
async def test_any_query_and_body_is_a_4xx_not_a_5xx(stack: Stack, caplog: pytest.LogCaptureFixture,
                                                      params: dict[str, str], body: bytes | None, method: str) -> None:
    caplog.clear()
    status, text = await call(stack, method, params, body if method == "POST" else None)
    assert_on_purpose(status, None, caplog, (method, params, body))


@FUZZ_MORE
@given(inner=st.one_of(any_text, st.builds(
    lambda kind, content: (f"<xml><ToUserName>{CORP}</ToUserName><FromUserName>fuzzer</FromUserName>"
                           f"<CreateTime>{content}</CreateTime><MsgType>{kind}</MsgType><Content>{content}</Content>"
                           f"<MsgId>{content}</MsgId><AgentID>{content}</AgentID><Event>{kind}</Event></xml>"),
    st.sampled_from(["text", "event", "image", "template_card_event", ""]),
    st.one_of(hostile_numbers, st.text(chat_chars, max_size=20).map(lambda t: f"<![CDATA[{t}]]>")))))
async def test_a_signed_envelope_around_any_inner_text_is_handled_on_purpose(
        stack: Stack, caplog: pytest.LogCaptureFixture, inner: str) -> None:
    caplog.clear()
    crypto = CallbackCrypto("sandboxtoken", DEMO_AES_KEY, CORP)
    timestamp, nonce = str(int(time.time())), "fuzznonce"
    encrypt = crypto.encrypt(inner)
    body = f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    params = {"msg_signature": crypto.sign(timestamp, nonce, encrypt), "timestamp": timestamp, "nonce": nonce}
    status, text = await call(stack, "POST", params, body.encode())
    reply = stack.sandbox.callbacks.decrypt_reply(text) if status == 200 and text.strip() else None
    assert_on_purpose(status, reply, caplog, inner)

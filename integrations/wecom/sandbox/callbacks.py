"""Callbacks to the bot, encrypted and retried exactly as WeCom sends them."""

from __future__ import annotations

import secrets
import time
import xml.etree.ElementTree as ET
from typing import Any

import aiohttp

from integrations.wecom.crypto import CallbackCrypto, CallbackError, reject_dangerous_markup
from integrations.wecom.messages import cdata, parse_reply
from integrations.wecom.sandbox.state import CallbackResult, SandboxState

NO_ANSWER = 0  # CallbackResult.status when the bot never answered within the timeout
POST_OVERRIDES = {"msg_signature", "timestamp", "nonce", "body", "encrypt", "receive_id"}


class CallbackFailed(Exception):
    """The bot's answer is one WeCom would reject (bad handshake, unverifiable reply)."""


class CallbackSender:
    """Posts callbacks to config.callback_url; one HTTP session per sandbox."""

    def __init__(self, state: SandboxState, crypto: CallbackCrypto) -> None:
        self.state = state
        self.crypto = crypto
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def _url(self) -> str:
        if not self.state.config.callback_url:
            raise RuntimeError("SandboxConfig.callback_url is not set")
        return self.state.config.callback_url

    async def verify_url(self) -> str:
        """The GET handshake; returns the bot's body, raises CallbackFailed unless it echoes the plaintext."""
        plaintext = secrets.token_hex(10)
        echostr = self.crypto.encrypt(plaintext)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        params = {
            "msg_signature": self.crypto.sign(timestamp, nonce, echostr),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        timeout = aiohttp.ClientTimeout(total=self.state.config.callback_timeout_s)
        async with self._client().get(self._url(), params=params, timeout=timeout) as response:
            body = await response.text()
            if response.status != 200 or body != plaintext:
                raise CallbackFailed(f"URL verification failed: HTTP {response.status}, body {body[:80]!r}")
            return body

    def _envelope(self, inner_xml: str, overrides: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        unknown = set(overrides) - POST_OVERRIDES
        if unknown:
            raise TypeError(f"unknown overrides: {sorted(unknown)}")
        config = self.state.config
        receive_id = overrides.get("receive_id", config.corp_id)
        encryptor = self.crypto
        if receive_id != config.corp_id:
            encryptor = CallbackCrypto(config.token, config.encoding_aes_key, receive_id)
        encrypt = overrides.get("encrypt") or encryptor.encrypt(inner_xml)
        timestamp = str(overrides.get("timestamp", int(time.time())))  # real time: the bot checks freshness
        nonce = str(overrides.get("nonce", secrets.token_hex(8)))
        body = overrides.get("body")
        if body is None:
            body = (
                f"<xml><ToUserName>{cdata(config.corp_id)}</ToUserName><Encrypt>{cdata(encrypt)}</Encrypt>"
                f"<AgentID>{cdata(str(config.agent_id))}</AgentID></xml>"
            )
        params = {
            "msg_signature": overrides.get("msg_signature", self.crypto.sign(timestamp, nonce, encrypt)),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        return body.encode("utf-8") if isinstance(body, str) else body, params

    async def post(self, inner_xml: str, **overrides: Any) -> CallbackResult:
        """POST one callback, retrying on timeout or non-200 like WeCom; decrypt any passive reply."""
        body, params = self._envelope(inner_xml, overrides)
        config = self.state.config
        timeout = aiohttp.ClientTimeout(total=config.callback_timeout_s)
        started = time.monotonic()
        status, text, tries = NO_ANSWER, "", 0
        while tries < config.callback_tries:
            tries += 1
            try:
                async with self._client().post(
                    self._url(),
                    params=params,
                    data=body,
                    timeout=timeout,
                    headers={"Content-Type": "text/xml"},
                ) as response:
                    status, text = response.status, await response.text()
            except (TimeoutError, aiohttp.ClientError):
                status, text = NO_ANSWER, ""
                continue
            if status == 200:
                break
        elapsed = time.monotonic() - started
        reply = self.decrypt_reply(text) if status == 200 and text.strip() else None
        return CallbackResult(status=status, body=text, reply=reply, tries=tries, elapsed_s=elapsed)

    def decrypt_reply(self, text: str) -> dict:
        """Verify and decrypt a passive reply as WeCom does; CallbackFailed if WeCom would drop it."""
        try:
            reject_dangerous_markup(text)
            root = ET.fromstring(text)
            fields = {
                name: (root.findtext(name) or "").strip() for name in ("MsgSignature", "TimeStamp", "Nonce")
            }
            inner = self.crypto.decrypt_message(
                text.encode("utf-8"), fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
            )
            return parse_reply(inner)
        except (ET.ParseError, CallbackError) as exc:
            raise CallbackFailed(f"passive reply rejected: {exc}") from exc

"""The WeCom callback URL: only this layer sees signatures, encryption and XML; handlers see `Inbound`."""
from __future__ import annotations

import logging
import secrets
import time

from aiohttp import web

from bot import metrics
from bot.errors import report_error
from bot.inbound import InboundProcessor, process_with_deadline
from bot.parsing import NumberRefused, parse_int
from bot.settings import WeComSettings
from integrations.wecom.crypto import CallbackCrypto, CallbackError
from integrations.wecom.messages import parse_inbound, text_reply

log = logging.getLogger(__name__)
MAX_TIMESTAMP = 9_999_999_999  # Unix seconds, ten digits: anything longer is no time WeCom sends


class CallbackView:
    def __init__(self, settings: WeComSettings, processor: InboundProcessor) -> None:
        self.settings = settings
        self.processor = processor
        self.crypto = CallbackCrypto(settings.token, settings.encoding_aes_key, settings.corp_id,
                                     max_body_bytes=settings.max_body_bytes)
        self.refused = 0

    def _refuse(self, request: web.Request, status: int, reason: str) -> web.Response:
        self.refused += 1
        metrics.callback("refused")
        log.warning("callback refused (%s) from %s: %s", status, request.remote, reason)
        return web.Response(status=status, text=reason)

    def _fresh(self, timestamp: str) -> bool:
        """A stale timestamp is a replay; WeCom's own retries come within seconds of the first try."""
        try:  # unauthenticated input: 400 digits made `time.time() - int(...)` raise OverflowError
            sent_at = parse_int(timestamp, low=0, high=MAX_TIMESTAMP, what="timestamp")
        except NumberRefused:
            return False
        return abs(time.time() - sent_at) <= self.settings.callback_max_age_s

    async def verify(self, request: web.Request) -> web.Response:
        q = request.query
        if not all(k in q for k in ("msg_signature", "timestamp", "nonce", "echostr")):
            return self._refuse(request, 400, "missing query parameters")
        if not self._fresh(q["timestamp"]):
            return self._refuse(request, 403, "stale timestamp")
        try:
            echo = self.crypto.verify_url(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        except CallbackError as exc:
            return self._refuse(request, exc.status, exc.reason)
        return web.Response(body=echo.encode(), content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        q = request.query
        if not all(k in q for k in ("msg_signature", "timestamp", "nonce")):
            return self._refuse(request, 400, "missing query parameters")
        if not self._fresh(q["timestamp"]):
            return self._refuse(request, 403, "stale timestamp")
        if (request.content_length or 0) > self.settings.max_body_bytes:
            return self._refuse(request, 413, "body too large")
        try:
            body = await request.content.read(self.settings.max_body_bytes + 1)
            inner = self.crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
            inbound = parse_inbound(inner)
        except CallbackError as exc:
            return self._refuse(request, exc.status, exc.reason)
        if inbound.agent_id is not None and inbound.agent_id != self.settings.agent_id:
            return self._refuse(request, 403, f"message for agent {inbound.agent_id}")
        started, outcome = time.perf_counter(), "replied"
        try:
            reply_xml = (await process_with_deadline(self.processor, inbound, self.settings.reply_budget_s)).reply_xml
        except Exception as exc:  # noqa: BLE001 - a failing handler must not make WeCom retry forever
            report_error("callback", exc, user=inbound.user_id, key=inbound.dedupe_key)
            # Nothing was stored (the transaction rolled back): say so, rather than leave the user waiting.
            apology = self.processor.services.templates.render("core/failed.txt.j2")
            reply_xml, outcome = text_reply(inbound.user_id, inbound.corp_id, apology, int(time.time())), "apology"
        metrics.callback(outcome if reply_xml is not None else "empty", time.perf_counter() - started)
        if reply_xml is None:
            return web.Response(status=200, text="")
        encrypted = self.crypto.encrypt_message(reply_xml, secrets.token_hex(8), int(time.time()))
        return web.Response(body=encrypted.encode(), content_type="application/xml")

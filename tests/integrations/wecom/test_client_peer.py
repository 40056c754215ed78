"""A loopback WeCom peer for the client's retry, timeout and error paths, independent of the sandbox."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from integrations.wecom.client import WeComClient

CORP_ID = "wwpeer000000000001"
SECRET = "s3cr3t-Value-never-logged"
AGENT_ID = 1000002


@dataclass
class Scripted:
    """One canned answer; an answer with only delay_s delays and then behaves normally."""

    body: dict[str, Any] | None = None
    http_status: int = 200
    delay_s: float = 0.0
    raw: bytes | None = None


@dataclass
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    query: dict[str, str]
    json: Any = None
    form: dict[str, Any] = field(default_factory=dict)


class WeComPeer:
    """Answers the qyapi paths the client uses, with WeCom's errcodes, and records every call."""

    def __init__(self) -> None:
        self.calls: dict[str, list[Call]] = defaultdict(list)
        self.scripts: dict[str, deque[Scripted]] = defaultdict(deque)
        self.issued: set[str] = set()
        self.valid: set[str] = set()
        self.oauth_codes: dict[str, dict[str, str]] = {}
        self.webhook_keys: set[str] = {"robot-key-1"}
        self._serial = itertools.count(1)
        self.gettoken_gate: asyncio.Event | None = None

    def script(self, api: str, *answers: Scripted | dict[str, Any]) -> None:
        """Queue answers for api (e.g. "message/send"); plain dicts are JSON bodies."""
        for answer in answers:
            self.scripts[api].append(answer if isinstance(answer, Scripted) else Scripted(body=answer))

    def count(self, api: str) -> int:
        return len(self.calls[api])

    def expire_tokens(self) -> None:
        self.valid.clear()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/cgi-bin/{api:.+}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        api = request.match_info["api"]
        call = Call(query=dict(request.query))
        if request.content_type == "application/json":
            call.json = await request.json()
        elif request.content_type == "multipart/form-data":
            form = await request.post()
            call.form = {
                name: Upload(value.filename, value.content_type, value.file.read())
                if isinstance(value, web.FileField)
                else value
                for name, value in form.items()
            }
        self.calls[api].append(call)
        scripted = self.scripts[api].popleft() if self.scripts[api] else None
        if scripted is not None:
            await asyncio.sleep(scripted.delay_s)
            if scripted.raw is not None:
                return web.Response(body=scripted.raw, status=scripted.http_status)
            if scripted.body is not None:
                return web.json_response(scripted.body, status=scripted.http_status)
            if scripted.http_status != 200:
                return web.Response(text="<html>bad gateway</html>", status=scripted.http_status)
        return web.json_response(await self._default(api, call))

    async def _default(self, api: str, call: Call) -> dict[str, Any]:
        if api == "gettoken":
            if self.gettoken_gate is not None:
                await self.gettoken_gate.wait()
            if call.query.get("corpid") != CORP_ID:
                return {"errcode": 40013, "errmsg": "invalid corpid"}
            if call.query.get("corpsecret") != SECRET:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            token = f"tok-{next(self._serial)}"
            self.issued.add(token)
            self.valid.add(token)
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if api == "webhook/send":
            if call.query.get("key") not in self.webhook_keys:
                return {"errcode": 93000, "errmsg": "invalid webhook url"}
            return {"errcode": 0, "errmsg": "ok"}
        token = call.query.get("access_token")
        if not token:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        if token not in self.valid:
            return {"errcode": 42001 if token in self.issued else 40014, "errmsg": "access_token expired"}
        return self._answer(api, call)

    def _answer(self, api: str, call: Call) -> dict[str, Any]:
        ok: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        if api == "message/send":
            return {**ok, "invaliduser": "", "msgid": f"msg-{next(self._serial)}"}
        if api == "message/update_template_card":
            return {**ok, "invaliduser": []}
        if api == "media/upload":
            return {
                **ok,
                "type": call.query.get("type"),
                "media_id": f"media-{next(self._serial)}",
                "created_at": "1700000000",
            }
        if api == "auth/getuserinfo":
            identity = self.oauth_codes.pop(call.query.get("code", ""), None)
            return (
                {**ok, **identity} if identity is not None else {"errcode": 40029, "errmsg": "invalid code"}
            )
        if api == "get_jsapi_ticket":
            return {**ok, "ticket": f"ticket-{next(self._serial)}", "expires_in": 7200}
        return ok


StartServer = Callable[[web.Application], Awaitable[TestServer]]


async def start_peer(aiohttp_server: StartServer) -> tuple[WeComPeer, str]:
    """Run a fresh peer on 127.0.0.1 and return it with its base URL."""
    peer = WeComPeer()
    server = await aiohttp_server(peer.app())
    return peer, str(server.make_url("")).rstrip("/")


def make_client(session: aiohttp.ClientSession, api_base: str, **overrides: Any) -> WeComClient:
    """A client for the peer with test-sized backoff and timeout."""
    options: dict[str, Any] = {
        "corp_id": CORP_ID,
        "secret": SECRET,
        "agent_id": AGENT_ID,
        "api_base": api_base,
        "backoff_base_s": 0.001,
        "backoff_max_s": 0.004,
        "timeout_s": 2.0,
    }
    options.update(overrides)
    return WeComClient(session, **options)

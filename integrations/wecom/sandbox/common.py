"""Helpers every sandbox route shares: fault injection, WeCom JSON answers, token checks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from integrations.wecom.sandbox.state import SandboxState
from integrations.wecom.sandbox.validate import ApiError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_ERRMSG = {
    41001: "access_token missing",
    40014: "invalid access_token",
    42001: "access_token expired",
}


def answer(errcode: int = 0, errmsg: str = "ok", **fields: Any) -> web.Response:
    """WeCom answers errors with HTTP 200 and an errcode, never with an HTTP error."""
    return web.json_response({"errcode": errcode, "errmsg": errmsg, **fields})


def guarded(state: SandboxState, api: str, handler: Handler) -> Handler:
    """Wrap a route so injected faults apply before any validation, and ApiError renders as JSON."""

    async def route(request: web.Request) -> web.StreamResponse:
        fault = state.take_fault(api)
        if fault is not None:
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            if fault.http_status is not None:
                return web.Response(status=fault.http_status, text="sandbox injected fault")
            if fault.errcode is not None:
                return answer(fault.errcode, "sandbox injected fault")
        try:
            return await handler(request)
        except ApiError as error:
            return answer(error.errcode, error.errmsg)

    return route


def require_token(state: SandboxState, request: web.Request) -> None:
    errcode = state.token_error(request.query.get("access_token"))
    if errcode:
        raise ApiError(errcode, TOKEN_ERRMSG[errcode])


async def read_json(request: web.Request) -> dict:
    """The JSON body, or WeCom's 47001 for anything that is not a JSON object."""
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(47001, "data format error: Warning: wrong json format.") from exc
    if not isinstance(body, dict):
        raise ApiError(47001, "data format error")
    return body


def check_agent(state: SandboxState, body: dict) -> None:
    agent = body.get("agentid")
    if agent is None or agent == "":
        raise ApiError(41011, "missing agentid")
    try:
        matches = int(agent) == state.config.agent_id
    except (TypeError, ValueError):
        matches = False
    if not matches:
        raise ApiError(40056, "invalid agentid")

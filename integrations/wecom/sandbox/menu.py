"""The app menu: menu/create, menu/get and menu/delete, validated as WeCom does; the phone draws the menu."""

from __future__ import annotations

from aiohttp import web

from integrations.wecom.menu import MenuError, validate_menu
from integrations.wecom.sandbox.common import answer, guarded, read_json, require_token
from integrations.wecom.sandbox.state import SandboxState
from integrations.wecom.sandbox.validate import ApiError


def _agent(state: SandboxState, request: web.Request) -> None:
    agent = request.query.get("agentid", "")
    if not agent:
        raise ApiError(41011, "missing agentid")
    if agent != str(state.config.agent_id):
        raise ApiError(40056, "invalid agentid")


def routes(state: SandboxState) -> list[web.RouteDef]:
    async def create(request: web.Request) -> web.Response:
        require_token(state, request)
        _agent(state, request)
        body = await read_json(request)
        try:
            validate_menu(body)
        except MenuError as exc:
            raise ApiError(exc.errcode, str(exc)) from None
        state.menu = {"button": body["button"]}
        return answer()

    async def get(request: web.Request) -> web.Response:
        require_token(state, request)
        _agent(state, request)
        if state.menu is None:
            raise ApiError(46003, "menu no exist")
        return answer(**state.menu)

    async def delete(request: web.Request) -> web.Response:
        require_token(state, request)
        _agent(state, request)
        state.menu = None
        return answer()

    return [web.post("/cgi-bin/menu/create", guarded(state, "menu/create", create)),
            web.get("/cgi-bin/menu/get", guarded(state, "menu/get", get)),
            web.get("/cgi-bin/menu/delete", guarded(state, "menu/delete", delete))]

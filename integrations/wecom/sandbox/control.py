"""Control and observation JSON for the phone simulator, plus a Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from aiohttp import web

from integrations.wecom.sandbox.callbacks import CallbackFailed
from integrations.wecom.sandbox.qyapi import media_response
from integrations.wecom.sandbox.state import CallbackResult, SentMessage

if TYPE_CHECKING:
    from integrations.wecom.sandbox.app import Sandbox

KEEPALIVE_S = 15.0


def visible_to(message: SentMessage, userid: str | None) -> bool:
    """Group and robot messages (no touser) are shown to every phone."""
    return userid is None or not message.touser or userid in message.touser


def routes(sandbox: Sandbox) -> list[web.RouteDef]:
    """The /sandbox/* routes, bound to one Sandbox."""
    state = sandbox.state

    async def body_of(request: web.Request, *required: str) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise web.HTTPBadRequest(text=json.dumps({"error": "JSON body required"})) from exc
        missing = [name for name in required if not isinstance(body, dict) or not body.get(name)]
        if missing:
            raise web.HTTPBadRequest(text=json.dumps({"error": f"missing {', '.join(missing)}"}))
        return body

    async def run(action: Callable[[], Awaitable[CallbackResult]]) -> web.Response:
        try:
            result = await action()
        except (ValueError, KeyError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except (CallbackFailed, RuntimeError) as exc:
            return web.json_response({"error": str(exc)}, status=502)
        return web.json_response(asdict(result))

    async def users(request: web.Request) -> web.Response:
        return web.json_response([{"userid": userid, "name": name} for userid, name in state.users.items()])

    async def messages(request: web.Request) -> web.Response:
        userid = request.query.get("user") or None
        return web.json_response([m.to_json() for m in state.messages if visible_to(m, userid)])

    async def send_text(request: web.Request) -> web.Response:
        body = await body_of(request, "user", "content")
        return await run(lambda: sandbox.send_text(body["user"], body["content"]))

    async def send_image(request: web.Request) -> web.Response:
        body = await body_of(request, "user", "data")
        try:
            data = base64.b64decode(str(body["data"]).split(",", 1)[-1], validate=True)  # a data: URL or base64
        except (binascii.Error, ValueError):
            return web.json_response({"error": "data must be base64"}, status=400)
        content_type = str(body.get("content_type") or "image/jpeg")
        filename = str(body.get("filename") or "photo.jpg")
        return await run(lambda: sandbox.send_image(body["user"], data, content_type, filename))

    async def upload_image(request: web.Request) -> web.Response:
        """JS-SDK uploadImage in the phone's H5 view: the picked picture becomes media (3 days), its serverId."""
        body = await body_of(request, "data")
        try:
            data = base64.b64decode(str(body["data"]).split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError):
            return web.json_response({"error": "data must be base64"}, status=400)
        media_id = sandbox.store_media(data, str(body.get("content_type") or "image/jpeg"),
                                       str(body.get("filename") or "photo.jpg"))
        return web.json_response({"serverId": media_id})

    async def scan(request: web.Request) -> web.Response:
        body = await body_of(request, "user", "text")
        options = {name: body[name] for name in ("event", "key", "scan_type") if body.get(name)}
        return await run(lambda: sandbox.scan(body["user"], body["text"], **options))

    async def tap(request: web.Request) -> web.Response:
        body = await body_of(request, "user", "task_id", "key")
        selected = body.get("selected") or None
        return await run(
            lambda: sandbox.tap_card_button(body["user"], body["task_id"], body["key"], selected=selected)
        )

    async def menu(request: web.Request) -> web.Response:
        body = await body_of(request, "user", "key")
        return await run(lambda: sandbox.click_menu(body["user"], body["key"]))

    async def enter(request: web.Request) -> web.Response:
        body = await body_of(request, "user")
        return await run(lambda: sandbox.enter_agent(body["user"]))

    async def stream(request: web.Request) -> web.StreamResponse:
        userid = request.query.get("user") or None
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        queue = state.subscribe(userid)
        try:
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if message is None:
                    break
                data = json.dumps(message.to_json(), ensure_ascii=False)
                await response.write(f"id: {message.id}\nevent: message\ndata: {data}\n\n".encode())
        except ConnectionResetError:
            pass
        finally:
            state.unsubscribe(queue)
        return response

    async def media(request: web.Request) -> web.Response:
        item = state.media.get(request.match_info["media_id"])
        if item is None:
            raise web.HTTPNotFound()
        return media_response(item, request)

    return [
        web.get("/sandbox/api/users", users),
        web.get("/sandbox/api/messages", messages),
        web.post("/sandbox/api/send_text", send_text),
        web.post("/sandbox/api/scan", scan),
        web.post("/sandbox/api/send_image", send_image),
        web.post("/sandbox/api/upload_image", upload_image),
        web.post("/sandbox/api/tap", tap),
        web.post("/sandbox/api/menu", menu),
        web.post("/sandbox/api/enter", enter),
        web.get("/sandbox/api/stream", stream),
        web.get("/sandbox/media/{media_id}", media),
    ]

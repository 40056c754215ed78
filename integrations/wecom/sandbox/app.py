"""The Sandbox: a fake WeCom (qyapi, OAuth, callbacks, phone-simulator API) with a Python control surface."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from aiohttp import web

from integrations.wecom import messages as inner
from integrations.wecom.crypto import CallbackCrypto
from integrations.wecom.sandbox import control, menu, messaging, oauth, qyapi
from integrations.wecom.sandbox.callbacks import CallbackSender
from integrations.wecom.sandbox.state import (
    CallbackResult,
    Fault,
    Media,
    SandboxConfig,
    SandboxState,
    SentMessage,
)

STATE_KEY = web.AppKey("sandbox_state", SandboxState)
MAX_CONTROL_BODY = 32 * 1024 * 1024  # the phone posts photos (base64) to /sandbox/api/send_image


def _card_keys(card: dict) -> set[str]:
    keys = {str(button.get("key")) for button in card.get("button_list", []) if isinstance(button, dict)}
    submit = card.get("submit_button")
    if isinstance(submit, dict) and submit.get("key"):
        keys.add(str(submit["key"]))
    return keys


class Sandbox:
    """One fake corp with one app; start() serves it on 127.0.0.1, the methods drive and observe it."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.state = SandboxState(config)
        self.crypto = CallbackCrypto(config.token, config.encoding_aes_key, config.corp_id)
        self.callbacks = CallbackSender(self.state, self.crypto)
        self.app = web.Application(client_max_size=MAX_CONTROL_BODY)
        self.app[STATE_KEY] = self.state
        for module_routes in (
            qyapi.routes(self.state),
            messaging.routes(self.state),
            oauth.routes(self.state),
            menu.routes(self.state),
        ):
            self.app.add_routes(module_routes)
        self.app.add_routes(control.routes(self))
        self.app.on_shutdown.append(self._on_shutdown)
        self.app.on_cleanup.append(self._on_cleanup)
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def _on_shutdown(self, _app: web.Application) -> None:
        self.state.close_streams()

    async def _on_cleanup(self, _app: web.Application) -> None:
        await self.callbacks.close()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port); returns base_url, the api_base for the bot."""
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.callbacks.close()

    # ---- observation
    @property
    def messages(self) -> list[SentMessage]:
        return self.state.messages

    def messages_for(self, userid: str) -> list[SentMessage]:
        return self.state.messages_for(userid)

    def card_shown(self, userid: str, task_id: str) -> dict:
        """The template card `userid` sees now for `task_id` (after any full replacement); KeyError if none."""
        card = self.state.cards[task_id]
        if userid not in card.recipients:
            raise KeyError(f"{userid!r} did not receive card {task_id!r}")
        return card.view(userid)

    async def wait_for_message(
        self, predicate: Callable[[SentMessage], bool], timeout: float = 5.0
    ) -> SentMessage:
        """First message, already sent or arriving within timeout, matching predicate; else TimeoutError."""
        return await self.state.wait_for_message(predicate, timeout)

    # ---- faults and directory
    def inject_fault(
        self,
        api: str,
        *,
        errcode: int | None = None,
        times: int = 1,
        delay_s: float = 0.0,
        http_status: int | None = None,
    ) -> None:
        """The next `times` calls to api are delayed, then answered with http_status or errcode if given."""
        if times < 1:
            raise ValueError("times must be >= 1")
        self.state.add_fault(api, Fault(errcode, times, delay_s, http_status))

    def expire_tokens(self) -> None:
        self.state.expire_tokens()

    def add_user(self, userid: str, name: str) -> None:
        self.state.users[userid] = name

    def advance_clock(self, seconds: float) -> None:
        """Age the sandbox's own state (tokens, codes, media, robot quota); callbacks keep real time."""
        self.state.clock_offset += seconds

    # ---- callbacks to the bot
    async def verify_url(self) -> str:
        return await self.callbacks.verify_url()

    def _now(self) -> int:
        """CreateTime is real time even after advance_clock, which only ages the sandbox's own codes."""
        return int(time.time())

    async def _deliver(self, userid: str, inner_xml: str, task_id: str | None = None) -> CallbackResult:
        result = await self.callbacks.post(inner_xml)
        self._record_reply(userid, result, task_id)
        return result

    def _record_reply(self, userid: str, result: CallbackResult, task_id: str | None) -> None:
        reply = result.reply
        if not reply:
            return
        msgtype = str(reply.get("MsgType") or "")
        if msgtype == "text":
            payload: dict = {"content": reply.get("Content") or ""}
        elif msgtype == "update_button":
            button = reply.get("Button") if isinstance(reply.get("Button"), dict) else {}
            payload = {"replace_name": button.get("ReplaceName") or "", "task_id": task_id}
        else:
            payload = {"raw": reply}
        self.state.record("passive_reply", [str(reply.get("ToUserName") or userid)], msgtype, payload)

    async def send_text(self, userid: str, content: str) -> CallbackResult:
        msg_id = str(secrets.randbits(62))
        xml = inner.inbound_text_xml(
            self.config.corp_id, userid, self.config.agent_id, content, msg_id, self._now()
        )
        return await self._deliver(userid, xml)

    def store_media(self, data: bytes, content_type: str = "image/jpeg", filename: str = "photo.jpg") -> str:
        """A picture a member took, kept as WeCom keeps media (media/get serves it for 3 days); its media id."""
        media_id = secrets.token_urlsafe(32)
        self.state.media[media_id] = Media(media_id, "image", filename, content_type, bytes(data), self.state.now())
        return media_id

    async def send_image(self, userid: str, data: bytes, content_type: str = "image/jpeg",
                         filename: str = "photo.jpg") -> CallbackResult:
        """A member sends a photo: WeCom keeps it as media (media/get serves it for 3 days) and calls back
        with its MediaId and PicUrl; the bytes are stored as given, so a test can compare what the bot kept."""
        media_id = self.store_media(data, content_type, filename)
        msg_id = str(secrets.randbits(62))
        xml = inner.inbound_image_xml(self.config.corp_id, userid, self.config.agent_id, media_id,
                                      f"{self.base_url}/sandbox/media/{media_id}", msg_id, self._now())
        return await self._deliver(userid, xml)

    async def scan(
        self,
        userid: str,
        scan_result: str,
        *,
        event: str = "scancode_waitmsg",
        key: str = "scan",
        scan_type: str = "qrcode",
    ) -> CallbackResult:
        if event not in ("scancode_waitmsg", "scancode_push"):
            raise ValueError(f"not a scan event: {event}")
        xml = inner.inbound_scan_xml(
            self.config.corp_id,
            userid,
            self.config.agent_id,
            scan_result,
            self._now(),
            event=event,
            event_key=key,
            scan_type=scan_type,
        )
        return await self._deliver(userid, xml)

    async def click_menu(self, userid: str, key: str) -> CallbackResult:
        xml = inner.inbound_event_xml(
            self.config.corp_id, userid, self.config.agent_id, "click", self._now(), key
        )
        return await self._deliver(userid, xml)

    async def enter_agent(self, userid: str) -> CallbackResult:
        xml = inner.inbound_event_xml(
            self.config.corp_id, userid, self.config.agent_id, "enter_agent", self._now()
        )
        return await self._deliver(userid, xml)

    async def tap_card_button(
        self, userid: str, task_id: str, button_key: str, *, selected: dict[str, list[str]] | None = None
    ) -> CallbackResult:
        """A member taps a button (or submit) on a card the bot sent them; ValueError if impossible."""
        card = self.state.cards.get(task_id)
        if card is None:
            raise ValueError(f"no card with task_id {task_id!r}")
        if userid not in card.recipients:
            raise ValueError(f"{userid!r} did not receive card {task_id!r}")
        shown = card.view(userid)
        if button_key not in _card_keys(shown):
            raise ValueError(f"card {task_id!r} has no button {button_key!r}")
        xml = inner.inbound_template_card_event_xml(
            self.config.corp_id,
            userid,
            self.config.agent_id,
            self._now(),
            event_key=button_key,
            task_id=task_id,
            card_type=shown.get("card_type", card.card_type),
            response_code=self.state.code_for_tap(task_id, userid),
            selected=selected,
        )
        return await self._deliver(userid, xml, task_id)

    async def post_raw(self, inner_xml: str, **overrides: object) -> CallbackResult:
        """Any inner XML, optionally with msg_signature/timestamp/nonce/body/encrypt/receive_id overridden."""
        return await self.callbacks.post(inner_xml, **overrides)

"""Async WeCom server API client: shared token cache, bounded retries, send limits and typed errors."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar, Unpack
from urllib.parse import quote, urlencode

import aiohttp

from integrations.wecom.errors import (
    TokenInvalidError,
    TransientWeComError,
    WeComConfigError,
    WeComError,
    answer_body,
    transport_error,
)
from integrations.wecom.limits import SendLimiter
from integrations.wecom.tokens import MemoryTokenStore, TokenKeeper, TokenStore

log = logging.getLogger(__name__)

Body = dict[str, Any]
FormFactory = Callable[[], aiohttp.FormData]
T = TypeVar("T")

MEDIA_KINDS = frozenset({"image", "voice", "video", "file"})
MAX_DUPLICATE_CHECK_INTERVAL_S = 4 * 3600
MAX_IDS_PER_SEND = {"touser": 1000, "toparty": 100, "totag": 100}
_OAUTH_STATE = re.compile(r"[A-Za-z0-9]{0,128}")


class MediaTooLarge(ValueError):
    """media/get would return more than the caller accepts; the download stopped there."""


@dataclass(frozen=True)
class SendResult:
    """What WeCom accepted; the invalid_* lists name recipients who received nothing."""

    msgid: str | None
    invalid_users: list[str]
    invalid_parties: list[str]
    invalid_tags: list[str]
    response_code: str | None


@dataclass(frozen=True)
class OAuthIdentity:
    """Who opened the H5 page: a member (user_id) or a non-member (open_id, maybe external_user_id)."""

    user_id: str | None
    open_id: str | None
    external_user_id: str | None


class SendOptions(TypedDict, total=False):
    """Recipients and duplicate-check options shared by every send_* wrapper."""

    touser: list[str] | None
    toparty: list[str] | None
    totag: list[str] | None
    enable_duplicate_check: bool
    duplicate_check_interval: int


def _ids(value: Any) -> list[str]:
    """message/send answers invalid ids as "a|b"; update_template_card answers a list."""
    parts = value.split("|") if isinstance(value, str) else value or []
    return [str(part) for part in parts if part]


def _send_result(body: Body) -> SendResult:
    return SendResult(
        msgid=str(body["msgid"]) if body.get("msgid") else None,
        invalid_users=_ids(body.get("invaliduser")),
        invalid_parties=_ids(body.get("invalidparty")),
        invalid_tags=_ids(body.get("invalidtag")),
        response_code=str(body["response_code"]) if body.get("response_code") else None,
    )


def _maybe_delivered(exc: TransientWeComError) -> TransientWeComError:
    """Marks a failure after the request went out: WeCom may have acted on it though we got no answer."""
    exc.maybe_delivered = True
    return exc


def _credential(body: Body, field: str, api: str) -> tuple[str, float]:
    """The named credential (token, ticket, media_id) and its lifetime, or a retryable error if absent."""
    if not body.get(field):
        raise transport_error(api, f"answer carried no {field}")
    return str(body[field]), float(body.get("expires_in", 7200))


class WeComClient:
    """One WeCom app (corp id + agent id) on an injected aiohttp session."""

    def __init__(
        self, session: aiohttp.ClientSession, *, corp_id: str, secret: str, agent_id: int,
        api_base: str = "https://qyapi.weixin.qq.com", oauth_base: str = "https://open.weixin.qq.com",
        token_store: TokenStore | None = None, max_attempts: int = 4, backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0, timeout_s: float = 10.0, limiter: SendLimiter | None = None,
        on_error: Callable[[str, int], None] | None = None,
    ) -> None:
        self._session, self._corp_id, self._secret, self._agent_id = session, corp_id, secret, agent_id
        self._api_base, self._oauth_base = api_base.rstrip("/"), oauth_base.rstrip("/")
        self._max_attempts = max(1, max_attempts)
        self._backoff_base_s, self._backoff_max_s = backoff_base_s, backoff_max_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._limiter = limiter
        self._on_error = on_error  # (api, errcode) of every failed exchange, for the bot's metrics
        store = token_store if token_store is not None else MemoryTokenStore()
        # A bad secret is not retried for a minute: repeated wrong secrets get the server IP banned.
        self._token = TokenKeeper(store, f"wecom:access_token:{corp_id}:{agent_id}", self._fetch_token,
                                  hold_failures=(WeComConfigError,))
        self._ticket = TokenKeeper(store, f"wecom:jsapi_ticket:{corp_id}:{agent_id}", self._fetch_ticket)

    def __repr__(self) -> str:
        return f"WeComClient(corp_id={self._corp_id!r}, agent_id={self._agent_id})"

    async def access_token(self, *, force_refresh: bool = False) -> str:
        """A valid access token; concurrent callers share one gettoken, renewed ~5 min before expiry."""
        return await self._retrying("gettoken", lambda: self._token.get(force_refresh=force_refresh))

    async def jsapi_ticket(self) -> str:
        """The corp jsapi_ticket for JS-SDK signatures, cached like the token (WeCom caps it per hour)."""
        return await self._ticket.get()

    def cached_jsapi_ticket(self) -> str | None:
        """The jsapi_ticket if this process holds a fresh one, without I/O: an H5 page inside a database
        transaction must not wait for the shared token store (on SQLite that is the same connection)."""
        return self._ticket.peek()

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"corpid": self._corp_id, "corpsecret": self._secret}
        log.info("wecom: fetching an access token for corp %s agent %s", self._corp_id, self._agent_id)
        return _credential(await self._request("gettoken", "GET", "/cgi-bin/gettoken", params=params),
                           "access_token", "gettoken")

    async def _fetch_ticket(self) -> tuple[str, float]:
        return _credential(await self._call("get_jsapi_ticket", "GET", "/cgi-bin/get_jsapi_ticket"),
                           "ticket", "get_jsapi_ticket")

    async def send_message(
        self, msgtype: str, payload: dict[str, Any], *, touser: list[str] | None = None,
        toparty: list[str] | None = None, totag: list[str] | None = None,
        enable_duplicate_check: bool = False, duplicate_check_interval: int = 1800,
        count_members: bool = True,
    ) -> SendResult:
        """Send an app message; invalid recipients come back in the result, not as an error.

        count_members=False skips the in-process per-member windows, for a caller that enforces WeCom's
        per-member limit itself (the outbox does, in the database, for every replica at once)."""
        recipients = {"touser": touser, "toparty": toparty, "totag": totag}
        if not any(recipients.values()):
            raise ValueError("send_message needs touser, toparty or totag")
        if not 0 < duplicate_check_interval <= MAX_DUPLICATE_CHECK_INTERVAL_S:
            raise ValueError("duplicate_check_interval must be within 1..14400 seconds")
        body: Body = {"msgtype": msgtype, "agentid": self._agent_id, msgtype: payload}
        for field, ids in recipients.items():
            if ids and len(ids) > MAX_IDS_PER_SEND[field]:
                raise ValueError(f"{field} takes at most {MAX_IDS_PER_SEND[field]} ids per message")
            if ids:
                body[field] = "|".join(ids)
        if enable_duplicate_check:
            body["enable_duplicate_check"] = 1
            body["duplicate_check_interval"] = duplicate_check_interval
        members = [*(touser or []), *(f"party:{p}" for p in toparty or []), *(f"tag:{t}" for t in totag or [])]
        await self._acquire(members if count_members else [])
        return _send_result(await self._call("message/send", "POST", "/cgi-bin/message/send", json_body=body,
                                             idempotent=enable_duplicate_check))

    async def send_text(self, content: str, **options: Unpack[SendOptions]) -> SendResult:
        """Plain text, at most 2048 bytes."""
        return await self.send_message("text", {"content": content}, **options)

    async def send_markdown(self, content: str, **options: Unpack[SendOptions]) -> SendResult:
        """WeCom's markdown subset, at most 2048 bytes."""
        return await self.send_message("markdown", {"content": content}, **options)

    async def send_file(self, media_id: str, **options: Unpack[SendOptions]) -> SendResult:
        """A file uploaded with upload_media("file", ...)."""
        return await self.send_message("file", {"media_id": media_id}, **options)

    async def send_template_card(self, template_card: dict[str, Any],
                                 **options: Unpack[SendOptions]) -> SendResult:
        """A template card; interactive ones return a response_code for a later update."""
        return await self.send_message("template_card", template_card, **options)

    async def update_template_card(self, userids: list[str], response_code: str, *,
                                   replace_name: str | None = None,
                                   template_card: dict[str, Any] | None = None) -> SendResult:
        """Replace a tapped card's button text, or the whole card, using its one-time response_code."""
        if (replace_name is None) == (template_card is None):
            raise ValueError("give exactly one of replace_name or template_card")
        body: Body = {"userids": userids, "agentid": self._agent_id, "response_code": response_code}
        if template_card is not None:
            body["template_card"] = template_card
        else:
            body["button"] = {"replace_name": replace_name}
        await self._acquire([])
        return _send_result(await self._call("update_template_card", "POST",
                                             "/cgi-bin/message/update_template_card", json_body=body))

    async def appchat_send(self, chatid: str, msgtype: str, payload: dict[str, Any]) -> None:
        """Post to a group chat created by this app."""
        await self._acquire([])
        await self._call("appchat/send", "POST", "/cgi-bin/appchat/send",
                         json_body={"chatid": chatid, "msgtype": msgtype, msgtype: payload}, idempotent=False)

    async def webhook_send(self, key: str, msgtype: str, payload: dict[str, Any]) -> None:
        """Post through a group robot; its key is its only credential, so it is never logged."""
        if not key:
            raise ValueError("webhook key is empty")
        await self._call("webhook/send", "POST", "/cgi-bin/webhook/send", params={"key": key},
                         json_body={"msgtype": msgtype, msgtype: payload}, authed=False, idempotent=False)

    async def upload_media(self, kind: str, filename: str, data: bytes,
                           content_type: str = "application/octet-stream") -> str:
        """Upload temporary media (valid three days) and return its media_id."""
        if kind not in MEDIA_KINDS:
            raise ValueError(f"media kind must be one of {sorted(MEDIA_KINDS)}")
        safe_name = re.sub(r'["\\\r\n]', "_", filename) or "upload"

        def form() -> aiohttp.FormData:
            fields = aiohttp.FormData(quote_fields=False)  # raw UTF-8 filename, as browsers send it
            fields.add_field("media", data, filename=safe_name, content_type=content_type)
            return fields

        body = await self._call("media/upload", "POST", "/cgi-bin/media/upload", params={"type": kind},
                                form=form)
        return _credential(body, "media_id", "media/upload")[0]

    async def download_media(self, media_id: str, *, max_bytes: int | None = None) -> tuple[bytes, str]:
        """A member's media (a photo they sent) as (bytes, content type); WeCom forgets it after three days.

        media/get answers errors as JSON and media as the file itself. A file over `max_bytes` raises
        MediaTooLarge without being read to the end, so a huge upload never sits in memory."""
        if not media_id:
            raise ValueError("media_id is empty")
        refreshed = False

        async def attempt() -> tuple[bytes, str]:
            nonlocal refreshed
            token = await self._token.get()
            try:
                return await self._fetch_media(token, media_id, max_bytes)
            except TokenInvalidError as exc:
                if refreshed:
                    raise
                log.info("wecom media/get: access token rejected (errcode %s), refreshing once", exc.errcode)
                refreshed = True
                return await self._fetch_media(await self._token.replace_rejected(token), media_id, max_bytes)

        return await self._retrying("media/get", attempt)

    async def _fetch_media(self, token: str, media_id: str, max_bytes: int | None) -> tuple[bytes, str]:
        api = "media/get"
        try:
            async with self._session.get(f"{self._api_base}/cgi-bin/media/get", timeout=self._timeout,
                                         params={"access_token": token, "media_id": media_id}) as response:
                content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0]
                if response.status != 200 or content_type in ("application/json", "text/plain"):
                    answer_body(api, response.status, await response.read())  # raises the error it names
                    raise transport_error(api, "JSON answer without an errcode", http_status=response.status)
                data = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    data += chunk
                    if max_bytes is not None and len(data) > max_bytes:
                        raise MediaTooLarge(f"media {media_id[:12]}… is larger than {max_bytes} bytes")
        except TimeoutError:
            raise transport_error(api, f"no answer within {self._timeout.total}s") from None
        except aiohttp.ClientError as exc:
            raise transport_error(api, f"{type(exc).__name__}: {exc}") from None
        return bytes(data), content_type.strip().lower()

    async def create_menu(self, menu: dict[str, Any]) -> None:
        """Installs the app's custom menu (menu/create); members see it the next time they open the app."""
        await self._call("menu/create", "POST", "/cgi-bin/menu/create", params={"agentid": str(self._agent_id)},
                         json_body=menu)

    async def get_menu(self) -> dict[str, Any]:
        return await self._call("menu/get", "GET", "/cgi-bin/menu/get", params={"agentid": str(self._agent_id)})

    def oauth_authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where to send the browser so WeCom returns to redirect_uri with ?code=…&state=state."""
        if not _OAUTH_STATE.fullmatch(state):
            raise ValueError("state must be at most 128 ASCII letters or digits")
        query = urlencode({"appid": self._corp_id, "redirect_uri": redirect_uri, "response_type": "code",
                           "scope": "snsapi_base", "state": state, "agentid": str(self._agent_id)},
                          quote_via=quote, safe="")
        return f"{self._oauth_base}/connect/oauth2/authorize?{query}#wechat_redirect"

    async def oauth_identity(self, code: str) -> OAuthIdentity:
        """Turn a one-time OAuth code into who the visitor is; a used or stale code raises OAuthCodeError."""
        if not code:
            raise ValueError("OAuth code is empty")
        body = await self._call("auth/getuserinfo", "GET", "/cgi-bin/auth/getuserinfo", params={"code": code})
        return OAuthIdentity(user_id=body.get("userid") or None, open_id=body.get("openid") or None,
                             external_user_id=body.get("external_userid") or None)

    async def _acquire(self, recipients: list[str]) -> None:
        if self._limiter is not None:
            await self._limiter.acquire(recipients)

    async def _call(self, api: str, method: str, path: str, *, params: dict[str, str] | None = None,
                    json_body: Body | None = None, form: FormFactory | None = None,
                    authed: bool = True, idempotent: bool = True) -> Body:
        """One API call: transient failures retried with backoff, a rejected token replaced once.

        A call that is not idempotent is not retried after an answer was lost (it may have taken effect):
        the caller decides, with its own once-only record."""
        refreshed = False

        def send(token: str | None) -> Awaitable[Body]:
            query = {**(params or {}), **({"access_token": token} if token is not None else {})}
            return self._request(api, method, path, params=query, json_body=json_body, form=form)

        async def attempt() -> Body:
            nonlocal refreshed
            if not authed:
                return await send(None)
            token = await self._token.get()
            try:
                return await send(token)
            except TokenInvalidError as exc:
                if refreshed:
                    raise
                log.info("wecom %s: access token rejected (errcode %s), refreshing once", api, exc.errcode)
                token = await self._token.replace_rejected(token)
                refreshed = True
                return await send(token)

        return await self._retrying(api, attempt, idempotent=idempotent)

    async def _retrying(self, api: str, operation: Callable[[], Awaitable[T]], *, idempotent: bool = True) -> T:
        """Run operation, retrying TransientWeComError with capped exponential backoff and jitter."""
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await operation()
            except TransientWeComError as exc:
                if attempt == self._max_attempts or (exc.maybe_delivered and not idempotent):
                    log.warning("wecom %s: giving up after %d attempts: errcode %s %s",
                                api, attempt, exc.errcode, exc.errmsg)
                    raise
                delay = min(self._backoff_max_s, self._backoff_base_s * 2 ** (attempt - 1))
                delay *= random.uniform(0.5, 1.0)
                log.warning("wecom %s: transient errcode %s %s (attempt %d/%d), retrying in %.2fs",
                            api, exc.errcode, exc.errmsg, attempt, self._max_attempts, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop either returns or raises

    async def _request(self, api: str, method: str, path: str, *, params: dict[str, str] | None = None,
                       json_body: Body | None = None, form: FormFactory | None = None) -> Body:
        """One HTTP exchange, mapped to a body with errcode 0 or a typed WeComError (told to `on_error`)."""
        try:
            return await self._exchange(api, method, path, params=params, json_body=json_body, form=form)
        except WeComError as exc:
            if self._on_error is not None:
                self._on_error(api, exc.errcode)
            raise

    async def _exchange(self, api: str, method: str, path: str, *, params: dict[str, str] | None = None,
                        json_body: Body | None = None, form: FormFactory | None = None) -> Body:
        try:
            async with self._session.request(
                method, f"{self._api_base}{path}", params=params, json=json_body,
                data=form() if form is not None else None, timeout=self._timeout,
            ) as response:
                status, raw = response.status, await response.read()
        except TimeoutError:
            raise _maybe_delivered(transport_error(api, f"no answer within {self._timeout.total}s")) from None
        except aiohttp.ClientConnectorError as exc:  # never connected: the request cannot have arrived
            raise transport_error(api, f"{type(exc).__name__}: {exc}") from None
        except aiohttp.ClientError as exc:
            raise _maybe_delivered(transport_error(api, f"{type(exc).__name__}: {exc}")) from None
        return answer_body(api, status, raw)

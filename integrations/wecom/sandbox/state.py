"""The sandbox's in-memory world: config, directory, tokens, sent messages, cards, codes, media, faults."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
RESPONSE_CODE_TTL_S = 72 * 3600
OAUTH_CODE_TTL_S = 300
MEDIA_TTL_S = 3 * 24 * 3600
WEBHOOK_PER_MINUTE = 20


@dataclass
class SandboxConfig:
    """One corp with one app, as WeCom's admin console would configure it."""

    corp_id: str = "wwsandbox0000000001"
    agent_id: int = 1000002
    secret: str = "sandbox-secret"
    token: str = "sandboxtoken"
    encoding_aes_key: str = DEFAULT_AES_KEY
    callback_url: str | None = None
    trusted_domains: list[str] = field(default_factory=lambda: ["127.0.0.1", "localhost"])
    users: dict[str, str] = field(default_factory=dict)
    token_ttl_s: int = 7200
    callback_timeout_s: float = 5.0
    callback_tries: int = 3


@dataclass
class SentMessage:
    """One validated message the bot made WeCom deliver (or a passive reply/card update)."""

    id: int
    api: str  # message/send, appchat/send, webhook/send, update_template_card, passive_reply
    touser: list[str]
    msgtype: str
    payload: dict
    msgid: str | None = None
    response_code: str | None = None
    at: float = 0.0
    request: dict = field(default_factory=dict)  # the whole request body, for assertions on extras
    chatid: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CallbackResult:
    """What the bot answered to one simulated callback, after WeCom-style retries."""

    status: int
    body: str
    reply: dict | None
    tries: int
    elapsed_s: float


@dataclass
class Fault:
    errcode: int | None
    times: int
    delay_s: float
    http_status: int | None


@dataclass
class Card:
    task_id: str
    card_type: str
    recipients: set[str]
    payload: dict  # as sent
    shown: dict[str, dict] = field(default_factory=dict)  # userid -> the card that replaced theirs

    def view(self, userid: str) -> dict:
        """What this recipient's phone shows: each recipient's card is replaced on its own."""
        return self.shown.get(userid, self.payload)


@dataclass
class ResponseCode:
    code: str
    task_id: str
    userids: frozenset[str]
    issued_at: float
    used: bool = False


@dataclass
class Media:
    media_id: str
    type: str
    filename: str
    content_type: str
    data: bytes
    created_at: float


def normalize_api(api: str) -> str:
    """'/cgi-bin/message/send' and 'message/send' name the same API; so do the card-update spellings."""
    api = api.strip("/")
    api = api.removeprefix("cgi-bin/")
    return "message/update_template_card" if api == "update_template_card" else api


class SandboxState:
    """Everything the fake WeCom remembers; shared by all route modules."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.users: dict[str, str] = dict(config.users)
        self.clock_offset = 0.0
        self.tokens: dict[str, float] = {}  # token -> expiry
        self.expired_tokens: set[str] = set()
        self.jsapi_tickets: dict[str, float] = {}
        self.fetches: Counter[str] = Counter()  # gettoken / get_jsapi_ticket calls: replicas must share them
        self.messages: list[SentMessage] = []
        self.cards: dict[str, Card] = {}
        self.response_codes: dict[str, ResponseCode] = {}
        self.user_codes: dict[tuple[str, str], str] = {}  # (task_id, userid) -> code for the next tap
        self.oauth_codes: dict[str, tuple[str, float]] = {}  # code -> (userid, issued_at)
        self.media: dict[str, Media] = {}
        self.webhook_hits: dict[str, deque[float]] = {}
        self.sent_digests: dict[str, tuple[float, dict[str, Any]]] = {}  # duplicate check: digest -> (at, answer)
        self.faults: dict[str, list[Fault]] = {}
        self.menu: dict[str, Any] | None = None  # what menu/create installed; the phone draws it
        self._subscribers: list[tuple[str | None, asyncio.Queue[SentMessage | None]]] = []
        self._waiters: list[tuple[Callable[[SentMessage], bool], asyncio.Future[SentMessage]]] = []
        self._next_id = 1
        self._next_msgid = 1

    def now(self) -> float:
        """Wall clock plus a test-controlled offset, so 72 h or 5 min expiries are testable."""
        return time.time() + self.clock_offset

    # ---- tokens
    def issue_token(self) -> tuple[str, int]:
        now = self.now()
        for token, expiry in self.tokens.items():
            if expiry > now and token not in self.expired_tokens:
                return token, int(expiry - now)
        token = secrets.token_urlsafe(48)
        self.tokens[token] = now + self.config.token_ttl_s
        return token, self.config.token_ttl_s

    def token_error(self, token: str | None) -> int:
        """0 if the access_token may be used, else WeCom's errcode."""
        if not token:
            return 41001
        expiry = self.tokens.get(token)
        if expiry is None:
            return 40014
        if token in self.expired_tokens or expiry <= self.now():
            return 42001
        return 0

    def expire_tokens(self) -> None:
        self.expired_tokens.update(self.tokens)

    # ---- faults
    def add_fault(self, api: str, fault: Fault) -> None:
        self.faults.setdefault(normalize_api(api), []).append(fault)

    def take_fault(self, api: str) -> Fault | None:
        queue = self.faults.get(normalize_api(api))
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    # ---- ids
    def new_msgid(self) -> str:
        self._next_msgid += 1
        return f"sbx{self._next_msgid:08d}{secrets.token_hex(6)}"

    def issue_response_code(self, task_id: str, userids: set[str]) -> str:
        code = secrets.token_urlsafe(24)
        self.response_codes[code] = ResponseCode(code, task_id, frozenset(userids), self.now())
        return code

    def code_for_tap(self, task_id: str, userid: str) -> str:
        """The ResponseCode a tap carries: a new one every tap, as WeCom gives (an earlier tap's code may still be
        waiting in the bot's outbox; handing it out again let two updates of one card spend the same code)."""
        code = self.issue_response_code(task_id, {userid})
        self.user_codes[(task_id, userid)] = code
        return code

    # ---- sent messages and observers
    def record(self, api: str, touser: list[str], msgtype: str, payload: dict, **extra: Any) -> SentMessage:
        message = SentMessage(self._next_id, api, touser, msgtype, payload, at=self.now(), **extra)
        self._next_id += 1
        self.messages.append(message)
        for userid, queue in self._subscribers:
            if userid is None or not message.touser or userid in message.touser:
                queue.put_nowait(message)
        for waiter in list(self._waiters):
            predicate, future = waiter
            if not future.done() and predicate(message):
                future.set_result(message)
        return message

    def messages_for(self, userid: str) -> list[SentMessage]:
        return [message for message in self.messages if userid in message.touser]

    async def wait_for_message(self, predicate: Callable[[SentMessage], bool], timeout: float) -> SentMessage:
        for message in self.messages:
            if predicate(message):
                return message
        future: asyncio.Future[SentMessage] = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiters.remove(waiter)

    def subscribe(self, userid: str | None) -> asyncio.Queue[SentMessage | None]:
        """A queue of messages visible to userid (None: all); None in the queue means the sandbox stops."""
        queue: asyncio.Queue[SentMessage | None] = asyncio.Queue()
        self._subscribers.append((userid, queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[SentMessage | None]) -> None:
        self._subscribers = [entry for entry in self._subscribers if entry[1] is not queue]

    def close_streams(self) -> None:
        for _userid, queue in self._subscribers:
            queue.put_nowait(None)

"""Sending routes: message/send, message/update_template_card, appchat/send, webhook/send."""

from __future__ import annotations

import hashlib
import json
from collections import deque

from aiohttp import web

from integrations.wecom.sandbox.common import answer, check_agent, guarded, read_json, require_token
from integrations.wecom.sandbox.state import (
    RESPONSE_CODE_TTL_S,
    WEBHOOK_PER_MINUTE,
    Card,
    SandboxState,
)
from integrations.wecom.sandbox.validate import (
    INTERACTIVE_CARDS,
    MSGTYPES,
    ApiError,
    validate_app_payload,
    validate_robot_payload,
    validate_template_card,
)

MAX_USERS = 1000
MAX_DUPLICATE_CHECK_INTERVAL_S = 4 * 3600
DEFAULT_DUPLICATE_CHECK_INTERVAL_S = 1800


def _split(value: object, name: str) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, (str, int)):
        raise ApiError(40058, f"invalid parameter: {name} must be a '|'-separated string")
    seen: dict[str, None] = {}
    for part in str(value).split("|"):
        if part.strip():
            seen[part.strip()] = None
    return list(seen)


def resolve_recipients(state: SandboxState, body: dict) -> tuple[list[str], list[str], list[str], list[str]]:
    """Valid users, then invalid users, parties and tags; party 1 is the root department (everyone)."""
    if body.get("touser") == "@all":
        return list(state.users), [], [], []
    users = _split(body.get("touser"), "touser")
    parties = _split(body.get("toparty"), "toparty")
    tags = _split(body.get("totag"), "totag")
    if len(users) > MAX_USERS or len(parties) > 100 or len(tags) > 100:
        raise ApiError(40058, "invalid parameter: too many recipients")
    valid = [user for user in users if user in state.users]
    invalid = [user for user in users if user not in state.users]
    if "1" in parties:
        valid += [user for user in state.users if user not in valid]
    return valid, invalid, [party for party in parties if party != "1"], tags


def _payload(body: dict) -> tuple[str, dict]:
    msgtype = body.get("msgtype")
    if msgtype not in MSGTYPES:
        raise ApiError(40008, f"invalid message type {msgtype!r}")
    if msgtype not in body:
        raise ApiError(40058, f"invalid parameter: missing {msgtype}")
    return msgtype, body[msgtype]


def _digest(body: dict, msgtype: str, payload: dict) -> str:
    """Same app, same content, same recipients: what WeCom's duplicate check compares."""
    recipients = [sorted(_split(body.get(field), field)) for field in ("touser", "toparty", "totag")]
    canonical = json.dumps([msgtype, payload, recipients], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def duplicate_window(body: dict) -> float | None:
    """The interval asked for by enable_duplicate_check (default 1800 s, at most 4 h), None if not asked."""
    if body.get("enable_duplicate_check") not in (1, True, "1"):
        return None
    interval = body.get("duplicate_check_interval", DEFAULT_DUPLICATE_CHECK_INTERVAL_S)
    if not isinstance(interval, int) or not 0 < interval <= MAX_DUPLICATE_CHECK_INTERVAL_S:
        raise ApiError(40058, "invalid parameter: duplicate_check_interval must be within 1..14400")
    return float(interval)


def routes(state: SandboxState) -> list[web.RouteDef]:
    """The qyapi message routes, bound to one sandbox state."""

    def media_exists(media_id: str) -> bool:
        media = state.media.get(media_id)
        return media is not None and state.now() - media.created_at < 3 * 24 * 3600

    async def message_send(request: web.Request) -> web.Response:
        require_token(state, request)
        body = await read_json(request)
        check_agent(state, body)
        msgtype, payload = _payload(body)
        window = duplicate_window(body)
        digest = _digest(body, msgtype, payload)
        earlier = state.sent_digests.get(digest)
        if window is not None and earlier is not None and state.now() - earlier[0] < window:
            return answer(0, "ok", **earlier[1])  # accepted, not delivered again: the first send's answer
        validate_app_payload(
            msgtype, payload, media_exists=media_exists, task_id_used=state.cards.__contains__
        )
        valid, invalid_users, invalid_parties, invalid_tags = resolve_recipients(state, body)
        invalid = {
            "invaliduser": "|".join(invalid_users),
            "invalidparty": "|".join(invalid_parties),
            "invalidtag": "|".join(invalid_tags),
        }
        if not valid:
            return answer(81013, "user & party & tag all invalid", **invalid)
        extra: dict[str, str] = {}
        if msgtype == "template_card" and payload.get("task_id"):
            task_id = payload["task_id"]
            state.cards[task_id] = Card(task_id, payload["card_type"], set(valid), payload)
            if payload["card_type"] in INTERACTIVE_CARDS:
                extra["response_code"] = state.issue_response_code(task_id, set(valid))
                for user in valid:
                    state.user_codes[(task_id, user)] = state.issue_response_code(task_id, {user})
        msgid = state.new_msgid()
        state.record("message/send", valid, msgtype, payload, msgid=msgid, request=body, **extra)
        fields = {**invalid, "unlicenseduser": "", "msgid": msgid, **extra}
        if len(state.sent_digests) >= 10_000:  # nothing older than the longest interval can match again
            state.sent_digests = {key: seen for key, seen in state.sent_digests.items()
                                  if state.now() - seen[0] < MAX_DUPLICATE_CHECK_INTERVAL_S}
        state.sent_digests[digest] = (state.now(), fields)
        return answer(0, "ok", **fields)

    async def update_template_card(request: web.Request) -> web.Response:
        require_token(state, request)
        body = await read_json(request)
        check_agent(state, body)
        code = state.response_codes.get(str(body.get("response_code") or ""))
        if code is None or code.used or state.now() - code.issued_at > RESPONSE_CODE_TTL_S:
            raise ApiError(40058, "invalid parameter: response_code invalid, used or expired")
        card = state.cards[code.task_id]
        if isinstance(body.get("button"), dict) and body["button"].get("replace_name"):
            msgtype, payload = "button", body["button"]
        elif isinstance(body.get("template_card"), dict):
            msgtype, payload = "template_card", body["template_card"]
            validate_template_card(payload, task_id_used=lambda task_id: task_id != code.task_id)
        else:
            raise ApiError(40058, "invalid parameter: button.replace_name or template_card is required")
        userids = body.get("userids") or []
        if not isinstance(userids, list):
            raise ApiError(40058, "invalid parameter: userids must be a list")
        if body.get("atall") in (1, True):
            userids = sorted(card.recipients)
        targets = [user for user in userids if user in card.recipients and user in state.users]
        invalid = [user for user in userids if user not in targets]
        if not targets:
            return answer(81013, "user & party & tag all invalid", invaliduser=invalid)
        code.used = True
        if msgtype == "template_card":  # replaces the card of these recipients only, as WeCom does
            card.shown.update(dict.fromkeys(targets, payload))
        state.record("update_template_card", targets, msgtype, payload, response_code=code.code, request=body)
        return answer(0, "ok", invaliduser=invalid)

    async def appchat_send(request: web.Request) -> web.Response:
        require_token(state, request)
        body = await read_json(request)
        chatid = body.get("chatid")
        if not chatid or not isinstance(chatid, str):
            raise ApiError(40058, "invalid parameter: chatid is required")
        msgtype, payload = _payload(body)
        if msgtype in ("template_card", "miniprogram_notice"):
            raise ApiError(40008, f"invalid message type {msgtype!r} for appchat")
        validate_app_payload(msgtype, payload, media_exists=media_exists, task_id_used=lambda _t: False)
        state.record(
            "appchat/send", [], msgtype, payload, msgid=state.new_msgid(), request=body, chatid=chatid
        )
        return answer(0, "ok")

    async def webhook_send(request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        if not key:
            raise ApiError(93000, "invalid webhook url")
        hits = state.webhook_hits.setdefault(key, deque())
        now = state.now()
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if len(hits) >= WEBHOOK_PER_MINUTE:
            raise ApiError(45009, "api freq out of limit")
        body = await read_json(request)
        msgtype = body.get("msgtype")
        if not isinstance(msgtype, str) or msgtype not in body:
            raise ApiError(40008, f"invalid message type {msgtype!r}")
        validate_robot_payload(msgtype, body[msgtype], media_exists=media_exists)
        hits.append(now)
        state.record("webhook/send", [], msgtype, body[msgtype], request={**body, "key": key})
        return answer(0, "ok")

    return [
        web.post("/cgi-bin/message/send", guarded(state, "message/send", message_send)),
        web.post(
            "/cgi-bin/message/update_template_card",
            guarded(state, "message/update_template_card", update_template_card),
        ),
        web.post("/cgi-bin/appchat/send", guarded(state, "appchat/send", appchat_send)),
        web.post("/cgi-bin/webhook/send", guarded(state, "webhook/send", webhook_send)),
    ]

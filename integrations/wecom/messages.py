"""WeCom inner callback XML: parse inbound messages/events, build passive replies and inbound XML."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import xmltodict
from wechatpy.enterprise.events import EVENT_TYPES
from wechatpy.enterprise.messages import MESSAGE_TYPES
from wechatpy.messages import UnknownMessage

from integrations.wecom.crypto import MalformedMessage, reject_dangerous_markup

MAX_REPLY_BYTES = 2048
MAX_INNER_BYTES = 64 * 1024
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Inbound:
    """One decrypted callback, flattened so handlers never touch XML."""

    user_id: str
    corp_id: str
    agent_id: int | None
    create_time: int
    msg_type: str
    msg_id: str | None = None
    content: str | None = None
    event: str | None = None
    event_key: str | None = None
    scan_type: str | None = None
    scan_result: str | None = None
    task_id: str | None = None
    card_type: str | None = None
    response_code: str | None = None
    selected: dict[str, list[str]] = field(default_factory=dict)
    media_id: str | None = None  # image (and voice/video/file) messages: fetch with media/get within 3 days
    pic_url: str | None = None
    raw: dict = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        """Stable across WeCom's retries, so a retried callback is handled once."""
        if self.msg_type != "event" and self.msg_id:
            return f"msg:{self.msg_id}"
        discriminator = self.event_key or ""
        if self.task_id:  # the same button key on two cards (an issue's old and new card) are two taps
            discriminator += "@" + self.task_id
        if self.scan_result:  # two different scans in one second are two events; a retry repeats the text
            discriminator += ":" + hashlib.sha1(self.scan_result.encode()).hexdigest()[:12]
        key = f"evt:{self.user_id}:{self.create_time}:{self.event or self.msg_type}:{discriminator}"
        return key[:255]


def _text(value: Any) -> str | None:
    """xmltodict leaves None for empty elements and dicts for nested ones; keep only text."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get("#text")
    return str(value)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _selected_items(raw: dict) -> dict[str, list[str]]:
    container = raw.get("SelectedItems")
    if not isinstance(container, dict):
        return {}
    selected: dict[str, list[str]] = {}
    for item in _as_list(container.get("SelectedItem")):
        if not isinstance(item, dict):
            raise MalformedMessage("bad SelectedItem")
        key = _text(item.get("QuestionKey"))
        if not key:
            raise MalformedMessage("SelectedItem without QuestionKey")
        option_ids = item.get("OptionIds")
        options = _as_list(option_ids.get("OptionId")) if isinstance(option_ids, dict) else []
        selected[key] = [text for text in (_text(option) for option in options) if text is not None]
    return selected


def _int_or_none(value: Any) -> int | None:
    text = _text(value)
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise MalformedMessage(f"not an integer: {text!r}") from exc


def parse_inbound(inner_xml: str) -> Inbound:
    """Decrypted inner XML to an Inbound; MalformedMessage for anything unusable."""
    if not isinstance(inner_xml, str) or not inner_xml.strip():
        raise MalformedMessage("empty message")
    if len(inner_xml) > MAX_INNER_BYTES:
        raise MalformedMessage("message too large")
    reject_dangerous_markup(inner_xml)
    try:
        raw = xmltodict.parse(inner_xml, disable_entities=True)["xml"]
    except Exception as exc:  # expat errors, KeyError, TypeError: all mean garbage
        raise MalformedMessage(f"unparsable inner XML: {type(exc).__name__}") from exc
    if not isinstance(raw, dict):
        raise MalformedMessage("empty <xml>")
    try:
        return _from_raw(raw)
    except MalformedMessage:
        raise
    except Exception as exc:  # wechatpy field converters on hostile values
        raise MalformedMessage(f"unusable inner XML: {type(exc).__name__}") from exc


def _wechatpy_message(raw: dict) -> Any:
    """wechatpy's class for the type (parse_message without a second XML parse); a copy, it mutates."""
    msg_type = (_text(raw.get("MsgType")) or "").lower()
    if msg_type == "event":
        message_class = EVENT_TYPES.get((_text(raw.get("Event")) or "").lower(), UnknownMessage)
    else:
        message_class = MESSAGE_TYPES.get(msg_type, UnknownMessage)
    return message_class(dict(raw))


def _from_raw(raw: dict) -> Inbound:
    message = _wechatpy_message(raw)
    user_id = _text(message.source)
    if not user_id:
        raise MalformedMessage("missing FromUserName")
    msg_type = (_text(raw.get("MsgType")) or "").lower()
    if not msg_type:
        raise MalformedMessage("missing MsgType")
    create_time = _int_or_none(raw.get("CreateTime"))
    if create_time is None:
        raise MalformedMessage("missing CreateTime")
    fields: dict[str, Any] = {
        "user_id": user_id,
        "corp_id": _text(raw.get("ToUserName")) or "",
        "agent_id": _int_or_none(raw.get("AgentID")),
        "create_time": create_time,
        "msg_type": msg_type,
        "msg_id": _text(raw.get("MsgId")),
        "raw": raw,
    }
    if msg_type == "text":
        fields["content"] = _text(message.content) or ""
    elif msg_type in ("image", "voice", "video", "file"):
        fields["media_id"] = _text(raw.get("MediaId")) or None
        fields["pic_url"] = _text(raw.get("PicUrl")) or None
    elif msg_type == "event":
        fields.update(_event_fields(raw, message))
    return Inbound(**fields)


def _event_fields(raw: dict, message: Any) -> dict[str, Any]:
    event = (_text(raw.get("Event")) or "").lower()
    fields: dict[str, Any] = {"event": event, "event_key": _text(raw.get("EventKey"))}
    if event in ("scancode_push", "scancode_waitmsg"):
        info = raw.get("ScanCodeInfo")
        if not isinstance(info, dict):
            raise MalformedMessage("scan event without ScanCodeInfo")
        fields["scan_type"] = _text(message.scan_type)
        fields["scan_result"] = _text(message.scan_result) or ""
    elif event == "template_card_event":
        fields["task_id"] = _text(raw.get("TaskId"))
        fields["card_type"] = _text(raw.get("CardType"))
        fields["response_code"] = _text(raw.get("ResponseCode"))
        fields["selected"] = _selected_items(raw)
    return fields


# ---------------------------------------------------------------- building XML


def cdata(value: str) -> str:
    """CDATA section that survives a literal ']]>' in the value."""
    clean = _XML_ILLEGAL.sub("", str(value))
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def truncate_utf8(text: str, max_bytes: int) -> str:
    """Cut to at most max_bytes of UTF-8 without splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def _envelope(to_user: str, from_user: str, create_time: int, msg_type: str, body: str) -> str:
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>{body}</xml>"
    )


def text_reply(to_user: str, corp_id: str, content: str, create_time: int) -> str:
    """Passive text reply (inner XML), cut to WeCom's 2048 bytes."""
    body = f"<Content>{cdata(truncate_utf8(content, MAX_REPLY_BYTES))}</Content>"
    return _envelope(to_user, corp_id, create_time, "text", body)


def update_button_reply(to_user: str, corp_id: str, replace_name: str, create_time: int) -> str:
    """Passive reply that relabels the tapped template-card button for that user."""
    body = f"<Button><ReplaceName>{cdata(replace_name)}</ReplaceName></Button>"
    return _envelope(to_user, corp_id, create_time, "update_button", body)


def _inbound(corp_id: str, user_id: str, agent_id: int, create_time: int, msg_type: str, body: str) -> str:
    return (
        f"<xml><ToUserName>{cdata(corp_id)}</ToUserName><FromUserName>{cdata(user_id)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>"
        f"{body}<AgentID>{int(agent_id)}</AgentID></xml>"
    )


def inbound_text_xml(
    corp_id: str, user_id: str, agent_id: int, content: str, msg_id: str, create_time: int
) -> str:
    """What WeCom sends when a member types text into the app."""
    body = f"<Content>{cdata(content)}</Content><MsgId>{cdata(msg_id)}</MsgId>"
    return _inbound(corp_id, user_id, agent_id, create_time, "text", body)


def inbound_image_xml(
    corp_id: str, user_id: str, agent_id: int, media_id: str, pic_url: str, msg_id: str, create_time: int
) -> str:
    """What WeCom sends when a member sends a photo into the app (the bytes are fetched with media/get)."""
    body = (f"<PicUrl>{cdata(pic_url)}</PicUrl><MediaId>{cdata(media_id)}</MediaId>"
            f"<MsgId>{cdata(msg_id)}</MsgId>")
    return _inbound(corp_id, user_id, agent_id, create_time, "image", body)


def inbound_event_xml(
    corp_id: str, user_id: str, agent_id: int, event: str, create_time: int, event_key: str = ""
) -> str:
    """Plain events: click (menu key), view (URL), enter_agent (empty key)."""
    body = f"<Event>{cdata(event)}</Event><EventKey>{cdata(event_key)}</EventKey>"
    return _inbound(corp_id, user_id, agent_id, create_time, "event", body)


def inbound_scan_xml(
    corp_id: str,
    user_id: str,
    agent_id: int,
    scan_result: str,
    create_time: int,
    *,
    event: str = "scancode_waitmsg",
    event_key: str = "scan",
    scan_type: str = "qrcode",
) -> str:
    """scancode_push / scancode_waitmsg with the decoded text in ScanCodeInfo."""
    body = (
        f"<Event>{cdata(event)}</Event><EventKey>{cdata(event_key)}</EventKey>"
        f"<ScanCodeInfo><ScanType>{cdata(scan_type)}</ScanType>"
        f"<ScanResult>{cdata(scan_result)}</ScanResult></ScanCodeInfo>"
    )
    return _inbound(corp_id, user_id, agent_id, create_time, "event", body)


def inbound_template_card_event_xml(
    corp_id: str,
    user_id: str,
    agent_id: int,
    create_time: int,
    *,
    event_key: str,
    task_id: str,
    card_type: str,
    response_code: str,
    selected: dict[str, list[str]] | None = None,
) -> str:
    """A tap on a template card button (with the selections of vote/multiple cards)."""
    items = "".join(
        f"<SelectedItem><QuestionKey>{cdata(key)}</QuestionKey><OptionIds>"
        + "".join(f"<OptionId>{cdata(option)}</OptionId>" for option in options)
        + "</OptionIds></SelectedItem>"
        for key, options in (selected or {}).items()
    )
    body = (
        f"<Event>{cdata('template_card_event')}</Event><EventKey>{cdata(event_key)}</EventKey>"
        f"<TaskId>{cdata(task_id)}</TaskId><CardType>{cdata(card_type)}</CardType>"
        f"<ResponseCode>{cdata(response_code)}</ResponseCode>"
        + (f"<SelectedItems>{items}</SelectedItems>" if items else "")
    )
    return _inbound(corp_id, user_id, agent_id, create_time, "event", body)


def parse_reply(inner_xml: str) -> dict[str, Any]:
    """A passive reply's inner XML as a dict (the sandbox's view of what the phone shows)."""
    reject_dangerous_markup(inner_xml)
    try:
        doc = xmltodict.parse(inner_xml, disable_entities=True)
    except Exception as exc:
        raise MalformedMessage(f"unparsable reply: {type(exc).__name__}") from exc
    raw = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(raw, dict):
        raise MalformedMessage("reply without <xml>")
    return raw

"""Body rules WeCom enforces on outgoing messages, answered with WeCom's errcodes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MSGTYPES = {
    "text",
    "image",
    "voice",
    "video",
    "file",
    "textcard",
    "news",
    "mpnews",
    "markdown",
    "miniprogram_notice",
    "template_card",
}
MEDIA_MSGTYPES = {"image", "voice", "video", "file"}
CARD_TYPES = {"text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction"}
INTERACTIVE_CARDS = {"button_interaction", "vote_interaction", "multiple_interaction"}
TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")
APP_CONTENT_MAX = 2048
ROBOT_TEXT_MAX = 2048
ROBOT_MARKDOWN_MAX = 4096


class ApiError(Exception):
    """A WeCom errcode answer; raised deep in validation, rendered once by the route."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


def byte_len(value: Any) -> int:
    return len(str(value).encode("utf-8"))


def _require_dict(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise ApiError(40058, f"invalid parameter: {name} must be an object")
    return value


def _content(payload: dict, max_bytes: int) -> None:
    content = payload.get("content")
    if not isinstance(content, str) or not content.strip():
        raise ApiError(44004, "empty content")
    if byte_len(content) > max_bytes:
        raise ApiError(45002, f"content size out of limit ({byte_len(content)} > {max_bytes} bytes)")


def _bounded(payload: dict, key: str, max_bytes: int, *, required: bool = True) -> None:
    value = payload.get(key)
    if value in (None, ""):
        if required:
            raise ApiError(44004, f"empty {key}")
        return
    if byte_len(value) > max_bytes:
        raise ApiError(45002, f"{key} size out of limit ({byte_len(value)} > {max_bytes} bytes)")


def _articles(payload: dict, *, mpnews: bool) -> None:
    articles = payload.get("articles")
    if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
        raise ApiError(40058, "invalid parameter: articles must hold 1 to 8 items")
    for article in articles:
        article = _require_dict(article, "article")
        _bounded(article, "title", 128)
        _bounded(article, "description", 512, required=False)
        if mpnews and not (article.get("thumb_media_id") and article.get("content")):
            raise ApiError(40058, "invalid parameter: mpnews article needs thumb_media_id and content")
        if not mpnews and not (article.get("url") or article.get("appid")):
            raise ApiError(40058, "invalid parameter: news article needs url or appid")


def validate_app_payload(
    msgtype: str, payload: Any, *, media_exists: Callable[[str], bool], task_id_used: Callable[[str], bool]
) -> None:
    """Rules for message/send and appchat/send bodies (2048-byte text/markdown)."""
    payload = _require_dict(payload, msgtype)
    if msgtype in ("text", "markdown"):
        _content(payload, APP_CONTENT_MAX)
    elif msgtype == "textcard":
        _bounded(payload, "title", 128)
        _bounded(payload, "description", 512)
        if not payload.get("url"):
            raise ApiError(40058, "invalid parameter: textcard url is required")
        if len(str(payload.get("btntxt", ""))) > 4:
            raise ApiError(45002, "btntxt longer than 4 characters")
    elif msgtype in ("news", "mpnews"):
        _articles(payload, mpnews=msgtype == "mpnews")
    elif msgtype in MEDIA_MSGTYPES:
        media_id = payload.get("media_id")
        if not media_id or not media_exists(str(media_id)):
            raise ApiError(40007, "invalid media_id")
        if msgtype == "video":  # title <= 128 bytes, description <= 512 bytes, both optional
            _bounded(payload, "title", 128, required=False)
            _bounded(payload, "description", 512, required=False)
    elif msgtype == "template_card":
        validate_template_card(payload, task_id_used=task_id_used)
    elif msgtype == "miniprogram_notice" and not payload.get("appid"):
        raise ApiError(40058, "invalid parameter: miniprogram_notice appid is required")


def validate_robot_payload(msgtype: str, payload: Any, *, media_exists: Callable[[str], bool]) -> None:
    """Rules for group-robot webhooks: text 2048 bytes, markdown 4096 bytes."""
    payload = _require_dict(payload, msgtype)
    if msgtype == "text":
        _content(payload, ROBOT_TEXT_MAX)
    elif msgtype == "markdown":
        _content(payload, ROBOT_MARKDOWN_MAX)
    elif msgtype == "news":
        _articles(payload, mpnews=False)
    elif msgtype == "image":
        if not payload.get("base64") or not payload.get("md5"):
            raise ApiError(40058, "invalid parameter: image needs base64 and md5")
    elif msgtype == "file":
        if not payload.get("media_id") or not media_exists(str(payload["media_id"])):
            raise ApiError(40007, "invalid media_id")
    elif msgtype == "template_card":
        validate_template_card(payload, task_id_used=lambda _task_id: False)
    else:
        raise ApiError(40008, f"invalid message type {msgtype!r}")


def _buttons(card: dict) -> None:
    buttons = card.get("button_list", [])
    if not isinstance(buttons, list) or len(buttons) > 6:
        raise ApiError(40058, "invalid parameter: button_list holds at most 6 buttons")
    if card["card_type"] == "button_interaction" and not buttons:
        raise ApiError(40058, "invalid parameter: button_interaction needs button_list")
    for button in buttons:
        button = _require_dict(button, "button")
        if not button.get("text"):
            raise ApiError(40058, "invalid parameter: button text is required")
        if button.get("style") is not None and button["style"] not in (1, 2, 3, 4):
            raise ApiError(40058, "invalid parameter: button style must be 1-4")
        if button.get("type", 0) == 1:
            if not button.get("url"):
                raise ApiError(40058, "invalid parameter: url button needs url")
        elif not button.get("key") or byte_len(button["key"]) > 1024:
            raise ApiError(40058, "invalid parameter: button key is required (<= 1024 bytes)")


def _options(question: Any, name: str, max_options: int) -> None:
    question = _require_dict(question, name)
    if not question.get("question_key"):
        raise ApiError(40058, f"invalid parameter: {name}.question_key is required")
    options = question.get("option_list")
    if not isinstance(options, list) or not 1 <= len(options) <= max_options:
        raise ApiError(40058, f"invalid parameter: {name}.option_list holds 1 to {max_options} options")
    for option in options:
        option = _require_dict(option, "option")
        if not option.get("id") or not option.get("text"):
            raise ApiError(40058, "invalid parameter: option needs id and text")


def _submit_button(card: dict) -> None:
    submit = card.get("submit_button")
    if not isinstance(submit, dict) or not submit.get("text") or not submit.get("key"):
        raise ApiError(40058, "invalid parameter: submit_button{text,key} is required")


def validate_template_card(card: dict, *, task_id_used: Callable[[str], bool]) -> None:
    """Template-card rules: type, task_id, titles, buttons, selectors, card_action."""
    card_type = card.get("card_type")
    if card_type not in CARD_TYPES:
        raise ApiError(40058, f"invalid parameter: card_type {card_type!r}")
    task_id = card.get("task_id")
    if task_id is None and card_type in INTERACTIVE_CARDS:
        raise ApiError(40058, "invalid parameter: task_id is required for interactive cards")
    if task_id is not None:
        if not isinstance(task_id, str) or not TASK_ID.fullmatch(task_id):
            raise ApiError(40058, "invalid parameter: task_id must be <= 128 bytes of [A-Za-z0-9_-@]")
        if task_id_used(task_id):
            raise ApiError(40058, "invalid parameter: task_id already used by this app")
    main_title = card.get("main_title")
    has_title = isinstance(main_title, dict) and main_title.get("title")
    if not has_title and not card.get("sub_title_text"):
        raise ApiError(40058, "invalid parameter: main_title.title or sub_title_text is required")
    horizontal = card.get("horizontal_content_list", [])
    if not isinstance(horizontal, list) or len(horizontal) > 6:
        raise ApiError(40058, "invalid parameter: horizontal_content_list holds at most 6 items")
    if card_type in ("text_notice", "news_notice"):
        action = card.get("card_action")
        if not isinstance(action, dict) or action.get("type") not in (1, 2):
            raise ApiError(40058, "invalid parameter: card_action{type 1|2} is required")
        if action["type"] == 1 and not action.get("url"):
            raise ApiError(40058, "invalid parameter: card_action.url is required for type 1")
    _buttons(card)
    if card_type == "vote_interaction":
        _options(card.get("checkbox"), "checkbox", 20)
        if card["checkbox"].get("mode", 0) not in (0, 1):
            raise ApiError(40058, "invalid parameter: checkbox.mode must be 0 or 1")
        _submit_button(card)
    elif card_type == "multiple_interaction":
        selects = card.get("select_list")
        if not isinstance(selects, list) or not 1 <= len(selects) <= 3:
            raise ApiError(40058, "invalid parameter: select_list holds 1 to 3 selectors")
        for select in selects:
            _options(select, "select_list[]", 10)
        _submit_button(card)

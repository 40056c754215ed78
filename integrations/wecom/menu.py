"""The app's custom menu (menu/create) as WeCom validates it: 1–3 buttons, 1–5 sub-buttons, byte limits.

Both the sandbox (to answer as WeCom does) and `opsbot wecom menu` (to refuse a bad menu before sending it)
use these rules, so a plant editing the menu file sees the same error the real API would give.
"""
from __future__ import annotations

from typing import Any

MAX_BUTTONS, MAX_SUB_BUTTONS = 3, 5
MAX_NAME_BYTES, MAX_SUB_NAME_BYTES = 16, 40
MAX_KEY_BYTES, MAX_URL_BYTES = 128, 1024
KEYED = {"click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin",
         "location_select"}
TYPES = KEYED | {"view", "view_miniprogram"}


class MenuError(ValueError):
    """One rule broken; `errcode` is the code WeCom answers with."""

    def __init__(self, errcode: int, message: str) -> None:
        super().__init__(message)
        self.errcode = errcode


def _size(text: Any) -> int:
    return len(str(text).encode("utf-8"))


def _check_leaf(button: dict[str, Any], where: str, name_limit: int, name_code: int) -> None:
    name = button.get("name", "")
    if not name or _size(name) > name_limit:
        raise MenuError(name_code, f"{where}: name must be 1–{name_limit} bytes (a Chinese character is 3)")
    kind = button.get("type")
    if kind not in TYPES:
        raise MenuError(40017, f"{where}: type must be one of {', '.join(sorted(TYPES))}, got {kind!r}")
    if kind in KEYED and not 0 < _size(button.get("key", "")) <= MAX_KEY_BYTES:
        raise MenuError(40019, f"{where}: a {kind} button needs a key of 1–{MAX_KEY_BYTES} bytes")
    if kind == "view":
        url = str(button.get("url", ""))
        if not url.startswith(("http://", "https://")) or _size(url) > MAX_URL_BYTES:
            raise MenuError(40055, f"{where}: a view button needs an http(s) url of at most {MAX_URL_BYTES} bytes")


def validate_menu(menu: dict[str, Any]) -> None:
    """Raises MenuError for the first rule the menu breaks, as WeCom's menu/create does."""
    buttons = menu.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise MenuError(40016, f"button: 1–{MAX_BUTTONS} top-level buttons")
    for i, button in enumerate(buttons):
        where = f"button[{i}]"
        if not isinstance(button, dict):
            raise MenuError(40016, f"{where}: must be an object")
        subs = button.get("sub_button")
        if subs is None:
            _check_leaf(button, where, MAX_NAME_BYTES, 40018)
            continue
        name = button.get("name", "")
        if not name or _size(name) > MAX_NAME_BYTES:
            raise MenuError(40018, f"{where}: name must be 1–{MAX_NAME_BYTES} bytes (a Chinese character is 3)")
        if not isinstance(subs, list) or not 1 <= len(subs) <= MAX_SUB_BUTTONS:
            raise MenuError(40023, f"{where}.sub_button: 1–{MAX_SUB_BUTTONS} sub-buttons")
        for j, sub in enumerate(subs):
            if not isinstance(sub, dict):
                raise MenuError(40023, f"{where}.sub_button[{j}]: must be an object")
            _check_leaf(sub, f"{where}.sub_button[{j}]", MAX_SUB_NAME_BYTES, 40025)

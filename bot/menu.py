"""The app menu a plant edits in content/wecom/menu.toml, turned into WeCom's menu/create body.

A `say` button becomes a click whose key is `say:<words>`; the router treats that click as if the member had
typed the words, so a command is reachable from the menu without a handler of its own.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

SAY_PREFIX = "say:"


class MenuFileError(ValueError):
    """The menu file cannot be turned into a menu; the message names the button."""


def _button(raw: dict[str, Any], where: str, base_url: str) -> dict[str, Any]:
    name = str(raw.get("name", ""))
    actions = [k for k in ("say", "scan", "url", "key") if k in raw]
    if len(actions) != 1:
        raise MenuFileError(f"{where}: give exactly one of say, scan, url or key")
    action = actions[0]
    if action == "say":
        return {"type": "click", "name": name, "key": SAY_PREFIX + str(raw["say"])}
    if action == "scan":
        return {"type": "scancode_waitmsg", "name": name, "key": str(raw["scan"])}
    if action == "key":
        return {"type": "click", "name": name, "key": str(raw["key"])}
    url = str(raw["url"])
    return {"type": "view", "name": name, "url": base_url.rstrip("/") + url if url.startswith("/") else url}


def build_menu(raw: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The menu/create body; WeCom's own limits are checked by integrations.wecom.menu.validate_menu."""
    buttons = []
    for i, top in enumerate(raw.get("button", [])):
        where = f"button[{i}] ({top.get('name', '')})"
        if "sub" in top:
            subs = [_button(sub, f"{where}.sub[{j}] ({sub.get('name', '')})", base_url)
                    for j, sub in enumerate(top["sub"])]
            buttons.append({"name": str(top.get("name", "")), "sub_button": subs})
        else:
            buttons.append(_button(top, where, base_url))
    return {"button": buttons}


def load_menu(path: Path, base_url: str) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MenuFileError(f"{path}: {exc}") from None
    return build_menu(raw, base_url)

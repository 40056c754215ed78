"""Escaping for WeCom markdown: a line or machine name must show as text, never become a link, colour or heading.

WeCom documents no escape syntax for its markdown subset (and the phone simulator, like WeCom, ignores
backslashes), so each markup character becomes its full-width twin: it reads the same to a person and means
nothing to any markdown renderer. The mapping is idempotent, so a value escaped twice looks the same."""
from __future__ import annotations

from typing import Any

from markupsafe import Markup

MARKUP_TWINS = str.maketrans({
    "\\": "＼", "`": "｀", "*": "＊", "_": "＿", "[": "［", "]": "］", "(": "（", ")": "）",
    "<": "＜", ">": "＞", "#": "＃", "&": "＆", "~": "～", "|": "｜",
    # a line break inside a value would let the rest start a heading, quote or list of its own
    "\r": " ", "\n": " ", "\v": " ", "\f": " ", "\x85": " ", "\u2028": " ", "\u2029": " ",
})


def md_escape(value: Any) -> str:
    """The value as literal text inside WeCom markdown (also usable as a filter where markdown sits in JSON)."""
    return str(value).translate(MARKUP_TWINS)


def md_finalize(value: Any) -> Any:
    """Jinja `finalize` for markdown templates: every `{{ value }}` is escaped unless marked `| safe`.

    The result is Markup so that the markdown environment's autoescape passes it on untouched (and macros,
    whose output is Markup there, are not escaped twice)."""
    if hasattr(value, "__html__"):
        return value
    return Markup(md_escape(value))

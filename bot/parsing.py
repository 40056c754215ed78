"""Whole numbers from outside (chat text, card keys, form fields, query strings), range-checked at the edge.

A bare `int()` lets hostile input through as ValueError (digits of other scripts, "1_000"), OverflowError
(float arithmetic, SQLite's int64) or a database error (PostgreSQL's int32 ids), each a crash far from where
the text came in. Parsing here refuses all of them with one typed error that handlers answer in Chinese.
"""
from __future__ import annotations

import re

from bot.templates import Templates

INT32_MAX = 2_147_483_647  # ids are int32 on PostgreSQL
_ASCII_INT = re.compile(r"-?[0-9]+")
_SHOWN_CHARS = 20


class NumberRefused(ValueError):
    """`text` is not a whole number in [low, high]; `what` names it for the user (e.g. 报工编号)."""

    def __init__(self, what: str, text: str, low: int, high: int) -> None:
        self.what, self.text, self.low, self.high = what, text, low, high
        super().__init__(f"{what}: {text[:40]!r} is not an integer in [{low}, {high}]")

    def message(self, templates: Templates) -> str:
        shown = self.text if len(self.text) <= _SHOWN_CHARS else self.text[:_SHOWN_CHARS] + "…"
        return templates.render("core/bad_number.txt.j2", what=self.what, low=self.low, high=self.high,
                                text=shown)


def is_ascii_int(text: str | None) -> bool:
    """Looks like a whole number at all (ASCII digits, optional minus): the line between usage and range."""
    return bool(text) and _ASCII_INT.fullmatch(text.strip()) is not None  # type: ignore[union-attr]


def parse_int(text: str | None, *, low: int, high: int, what: str) -> int:
    """ASCII digits with an optional minus sign, surrounding whitespace allowed, within [low, high]."""
    raw = (text or "").strip()
    if not _ASCII_INT.fullmatch(raw):
        raise NumberRefused(what, raw, low, high)
    digits = raw.lstrip("-").lstrip("0") or "0"
    if len(digits) > max(len(str(abs(low))), len(str(abs(high)))):  # never convert a 5,000-digit string
        raise NumberRefused(what, raw, low, high)
    value = int(raw)
    if not low <= value <= high:
        raise NumberRefused(what, raw, low, high)
    return value


def parse_id(text: str | None, what: str = "编号") -> int:
    """A database id: 1..INT32_MAX, so it fits PostgreSQL's integer columns and SQLite's alike."""
    return parse_int(text, low=1, high=INT32_MAX, what=what)


def id_after(key: str | None, prefix: str, what: str = "编号") -> int:
    """The id that ends a card key such as `rep:undo:12`; anything else after `prefix` is refused."""
    key = key or ""
    return parse_id(key[len(prefix):] if key.startswith(prefix) else "", what)

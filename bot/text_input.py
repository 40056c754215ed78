"""What people type on a phone, read the way they meant it: a Chinese IME gives full-width digits and commas
(「４８，２」), and people add the unit they count in (「48件」「48 个」). Only these are forgiven: digits of
other scripts and superscripts stay refused (bot.parsing), so nothing but 0-9 ever reaches int().
"""
from __future__ import annotations

import re

# Full-width ASCII forms (U+FF01..U+FF5E) map 1:1 onto ASCII; the ideographic space and comma are separators.
_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, ord("、"): ord(",")}
UNITS = ("件", "个", "只", "pcs", "pc")
_UNIT_AFTER_NUMBER = re.compile(r"(?<=[0-9])\s*(?:件|个|只|pcs|pc)(?![A-Za-z])", re.IGNORECASE)

# A route pattern for "this looks like quantities", typed either way (the handler reads it with `quantities`).
NUMBERISH = (r"[-+＋－]?[0-9０-９](?:[0-9０-９\s.,，、/／．+\-＋－]|件|个|只|(?i:pcs?))*")


def to_ascii(text: str) -> str:
    """Full-width letters, digits and punctuation as their ASCII twins; anything else unchanged."""
    return text.translate(_ASCII)


def quantities(text: str) -> str:
    """`４８件，２件` → `48,2`: ASCII, the unit after each number dropped, outer blanks stripped."""
    return _UNIT_AFTER_NUMBER.sub("", to_ascii(text)).strip()

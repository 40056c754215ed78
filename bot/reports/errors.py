"""Why a report, undo, correction or decision was refused: a code for logs and tests, Chinese for the user."""
from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from bot.templates import Templates


@lru_cache(maxsize=1)
def _templates() -> Templates:
    return Templates(ZoneInfo("Asia/Shanghai"))


class ReportRefused(Exception):
    """A rule said no; nothing was stored. Wording lives in content/templates/reports/refused.txt.j2."""

    def __init__(self, reason_code: str, **details: Any) -> None:
        self.reason_code = reason_code
        self.details = details
        self.message_zh = _templates().render("reports/refused.txt.j2", reason=reason_code, d=details)
        super().__init__(f"{reason_code}: {details}" if details else reason_code)

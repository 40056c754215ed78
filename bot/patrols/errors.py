"""Why a patrol action was refused; the wording is in content/templates/patrols/refused.txt.j2."""
from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from bot.templates import Templates


@lru_cache(maxsize=1)
def _templates() -> Templates:
    return Templates(ZoneInfo("Asia/Shanghai"))


class PatrolRefused(Exception):
    """A refusal that changed nothing; `reason` for code and tests, `message_zh` for the member."""

    def __init__(self, reason: str, **detail: Any) -> None:
        self.reason = reason
        self.detail = detail
        self.message_zh = _templates().render("patrols/refused.txt.j2", reason=reason, **detail)
        super().__init__(reason)

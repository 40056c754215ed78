"""What a QR says (kind + ids + optional expiry) and why a scan was refused; no crypto, no rendering."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from bot.templates import Templates

QrErrorReason = Literal["malformed", "bad_signature", "expired", "unknown_kind"]


@dataclass(frozen=True)
class QrKind:
    """A kind of QR: its name in code, its one-byte wire code (never reuse one) and the ids it carries."""

    name: str
    code: int
    fields: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 1 <= self.code <= 127:
            raise ValueError(f"QR kind {self.name!r}: code must be 1..127 (bit 7 is the expiry flag)")
        if not self.fields:
            raise ValueError(f"QR kind {self.name!r}: needs at least one id field")


DEFAULT_KINDS: tuple[QrKind, ...] = (
    QrKind("op", 1, ("work_order", "seq")),
    QrKind("machine", 2, ("machine",)),
    QrKind("training", 3, ("item",)),
    QrKind("patrol", 4, ("checkpoint",)),
)


@dataclass(frozen=True)
class QrPayload:
    """The signed content of a QR; ids are the kind's fields in order, as plain strings."""

    kind: str
    ids: tuple[str, ...]
    expires_at: datetime | None = None


class QrError(Exception):
    """A scan we refuse; `reason` is for code and logs, `message_zh` is what the user reads."""

    def __init__(self, reason: QrErrorReason, detail: str = "") -> None:
        self.reason: QrErrorReason = reason
        self.detail = detail
        self.message_zh = _error_message(reason)
        super().__init__(f"{reason}: {detail}" if detail else reason)


@lru_cache(maxsize=1)
def _templates() -> Templates:
    return Templates(ZoneInfo("Asia/Shanghai"))


def _error_message(reason: str) -> str:
    """Wording lives in content/templates/qr/error.txt.j2 so a plant can change it."""
    return _templates().render("qr/error.txt.j2", reason=reason)

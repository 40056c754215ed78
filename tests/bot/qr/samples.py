"""Sample payloads and a frozen clock shared by the QR tests."""
from __future__ import annotations

from datetime import UTC, datetime

from bot.qr import QrPayload

SECRET = "test-qr-secret-0123456789abcdef"
NOW = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)

EVERY_KIND = [
    QrPayload("op", ("WO-2026-001", "10")),
    QrPayload("machine", ("L1-M1",)),
    QrPayload("training", ("42",)),
    QrPayload("patrol", ("CP-07",)),
]

"""Fixtures for the QR tests."""
from __future__ import annotations

import pytest

from bot.qr import QrSigner

from .samples import SECRET


@pytest.fixture
def signer() -> QrSigner:
    return QrSigner(SECRET, "https://ops.example.com/")

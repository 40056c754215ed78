"""The player's signed media URLs and beat keys: bound to kind, code, version, member and expiry; nothing else
passes, and a reload within the same 10 minutes gets the same URL (the browser's cache keeps working)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from bot.training.signed import SignatureRefused, TrainingSigner

NOW = datetime(2026, 12, 1, 8, 3, 20, tzinfo=UTC)


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_media_url_round_trip_and_refusals() -> None:
    signer = TrainingSigner("s" * 32)
    url = signer.media_url("video", "SAFE-01", 3, 12, NOW, 7200)
    assert url.startswith("/h5/training/SAFE-01/video?")
    assert signer.check_media("video", "SAFE-01", query(url), NOW) == (3, 12)
    assert signer.media_url("video", "SAFE-01", 3, 12, NOW + timedelta(minutes=5), 7200) == url  # same 10 minutes
    for kind, code, changes in (("cover", "SAFE-01", {}), ("video", "SAFE-02", {}), ("video", "SAFE-01", {"u": "13"}),
                                ("video", "SAFE-01", {"v": "4"}), ("video", "SAFE-01", {"e": "99999999999"}),
                                ("video", "SAFE-01", {"s": ""}), ("video", "SAFE-01", {"u": "１２"})):
        with pytest.raises(SignatureRefused) as refused:
            signer.check_media(kind, code, query(url) | changes, NOW)
        assert refused.value.reason == "forged"
    with pytest.raises(SignatureRefused) as late:
        signer.check_media("video", "SAFE-01", query(url), NOW + timedelta(hours=2, minutes=10))
    assert late.value.reason == "expired"
    with pytest.raises(SignatureRefused):
        TrainingSigner("t" * 32).check_media("video", "SAFE-01", query(url), NOW)  # another server's secret


def test_beat_key_round_trip_and_refusals() -> None:
    signer = TrainingSigner("s" * 32)
    key = signer.beat_key(7, 12, "SAFE-01", 3, NOW, 3600)
    parsed = signer.check_beat(key, NOW)
    assert (parsed.view_id, parsed.user_id, parsed.code, parsed.version) == (7, 12, "SAFE-01", 3)
    view, user, version, expires, code, mac = key.split(".")
    for forged in (f"8.{user}.{version}.{expires}.{code}.{mac}", f"{view}.13.{version}.{expires}.{code}.{mac}",
                   f"{view}.{user}.{version}.{expires}.SAFE-02.{mac}", key + ".x", "", "a.b.c.d.e.f", key * 10):
        with pytest.raises(SignatureRefused):
            signer.check_beat(forged, NOW)
    with pytest.raises(SignatureRefused) as late:
        signer.check_beat(key, NOW + timedelta(hours=2))
    assert late.value.reason == "expired"

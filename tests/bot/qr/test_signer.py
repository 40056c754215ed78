"""Signing and verifying QR tokens: every kind round-trips, anything altered or forged is refused."""
from __future__ import annotations

import base64
import hashlib
import hmac
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.qr import DEFAULT_KINDS, QrError, QrKind, QrPayload, QrSigner
from bot.qr.signer import MAC_BYTES

from .samples import EVERY_KIND, NOW, SECRET

LATER = NOW + timedelta(days=30)


def raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def refused(signer: QrSigner, text: str, *, now: datetime = NOW) -> str:
    with pytest.raises(QrError) as caught:
        signer.verify(text, now=now)
    assert caught.value.message_zh
    return caught.value.reason


@pytest.mark.parametrize("payload", EVERY_KIND + [replace(p, expires_at=LATER) for p in EVERY_KIND],
                         ids=lambda p: f"{p.kind}{'-expiring' if p.expires_at else ''}")
def test_round_trip_every_kind(signer: QrSigner, payload: QrPayload) -> None:
    url = signer.url(payload)
    token = signer.token(payload)
    assert url == f"https://ops.example.com/h5/q/{token}"
    assert signer.verify(url, now=NOW) == payload
    assert signer.verify(token, now=NOW) == payload


def test_every_default_kind_is_covered() -> None:
    assert {kind.name for kind in DEFAULT_KINDS} == {p.kind for p in EVERY_KIND}


def test_token_is_short_and_url_safe(signer: QrSigner) -> None:
    token = signer.token(QrPayload("op", ("WO-2026-001", "10")))
    assert len(token) <= 40
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(raw(token)) * 8 - 8 * MAC_BYTES >= 0 and MAC_BYTES * 8 >= 96


def test_ids_with_separators_and_chinese_are_unambiguous(signer: QrSigner) -> None:
    tricky = [QrPayload("op", ("A.B/C", "1~2")), QrPayload("op", ("A", ".B/C1~2")),
              QrPayload("machine", ("一号线-车床",))]
    tokens = {signer.token(p) for p in tricky}
    assert len(tokens) == len(tricky)
    for payload in tricky:
        assert signer.verify(signer.url(payload), now=NOW) == payload


@pytest.mark.parametrize("wrap", [
    "http://10.0.0.5:8080/h5/q/{t}",
    "https://new-host.example.org/prefix/h5/q/{t}",
    "https://ops.example.com/h5/q/{t}/",
    "https://ops.example.com/h5/q/{t}?from=scan#top",
    "  \n\t{t}\r\n ",
    "\n https://other.example/h5/q/{t} \n",
])
def test_accepts_any_host_and_surrounding_whitespace(signer: QrSigner, wrap: str) -> None:
    payload = QrPayload("machine", ("L1-M1",))
    assert signer.verify(wrap.format(t=signer.token(payload)), now=NOW) == payload


def splice(signer: QrSigner, signed: QrPayload, other: QrPayload) -> str:
    """`other`'s body carrying `signed`'s genuine signature: what a forger can build without the secret."""
    return encode(raw(signer.token(other))[:-MAC_BYTES] + raw(signer.token(signed))[-MAC_BYTES:])


ORIGINAL = QrPayload("op", ("WO-2026-001", "10"), LATER)


@pytest.mark.parametrize("altered", [
    replace(ORIGINAL, kind="machine", ids=("WO-2026-001",)),
    replace(ORIGINAL, ids=("WO-2026-002", "10")),
    replace(ORIGINAL, ids=("WO-2026-001", "20")),
    replace(ORIGINAL, expires_at=LATER + timedelta(days=365)),
    replace(ORIGINAL, expires_at=None),
], ids=["kind", "work_order", "seq", "expiry", "expiry-removed"])
def test_altered_fields_are_refused(signer: QrSigner, altered: QrPayload) -> None:
    assert signer.verify(signer.token(altered), now=NOW) == altered  # the splice alone is what breaks it
    assert refused(signer, splice(signer, ORIGINAL, altered)) == "bad_signature"


@pytest.mark.parametrize("byte_index", range(-MAC_BYTES, 0))
def test_altered_signature_is_refused(signer: QrSigner, byte_index: int) -> None:
    data = bytearray(raw(signer.token(ORIGINAL)))
    data[byte_index] ^= 0x01
    assert refused(signer, encode(bytes(data))) == "bad_signature"


def test_wrong_secret_is_refused(signer: QrSigner) -> None:
    other = QrSigner("another-secret-0123456789abcdef", "https://ops.example.com")
    assert refused(signer, other.url(ORIGINAL)) == "bad_signature"


def test_old_secret_still_verifies_after_rotation(signer: QrSigner) -> None:
    rotated = QrSigner("rotated-secret-0123456789abcdef", "https://ops.example.com", old_secrets=[SECRET])
    assert rotated.verify(signer.url(ORIGINAL), now=NOW) == ORIGINAL
    assert refused(signer, rotated.url(ORIGINAL)) == "bad_signature"


def test_expired_is_refused_at_the_frozen_now(signer: QrSigner) -> None:
    expires = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    url = signer.url(QrPayload("training", ("42",), expires))
    assert signer.verify(url, now=expires - timedelta(seconds=1)).expires_at == expires
    assert refused(signer, url, now=expires) == "expired"
    assert refused(signer, url, now=expires + timedelta(days=1)) == "expired"


def test_expiry_is_kept_to_the_second_rounding_down(signer: QrSigner) -> None:
    payload = QrPayload("patrol", ("CP-07",), datetime(2026, 3, 1, 9, 0, 0, 999_999, tzinfo=UTC))
    assert signer.verify(signer.token(payload), now=NOW).expires_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_unknown_kind_from_a_newer_signer(signer: QrSigner) -> None:
    newer = QrSigner(SECRET, "https://ops.example.com", kinds=[*DEFAULT_KINDS, QrKind("tool", 9, ("tool",))])
    token = newer.token(QrPayload("tool", ("T-1",)))
    assert newer.verify(token, now=NOW) == QrPayload("tool", ("T-1",))
    assert refused(signer, token) == "unknown_kind"


GARBAGE = [
    "", "   ", "hello", "!!!", "A", "AB", "AQ", "====", "https://ops.example.com/",
    "https://ops.example.com/h5/q/",
    "https://ops.example.com/h5/x/AQIFTDEtTTGVnxO", "h5/q/abc", "工单 WO-2026-001", "\x00\x01", "a" * 5000,
    encode(b"\x02" + bytes(30)), encode(bytes(20)), encode(b"\x01\x01" + bytes(12)),
    encode(b"\x01\x81\x00" + bytes(12)),
    "AQIFTDEtTTGVnxO-uF5B-FNIhKk=", "AQIFTDEtTTGVnxO+uF5B/FNIhKk",
]


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_is_malformed(signer: QrSigner, text: str) -> None:
    assert refused(signer, text) == "malformed"


@pytest.mark.parametrize("payload", EVERY_KIND + [ORIGINAL], ids=lambda p: p.kind)
def test_every_truncation_is_malformed(signer: QrSigner, payload: QrPayload) -> None:
    token = signer.token(payload)
    for length in range(len(token)):
        assert refused(signer, token[:length]) == "malformed", token[:length]
        assert refused(signer, f"https://ops.example.com/h5/q/{token[:length]}") == "malformed"


def test_non_canonical_base64_is_refused(signer: QrSigner) -> None:
    token = signer.token(QrPayload("machine", ("L1-M1",)))  # 29 bytes: the last character holds 2 spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = token[:-1] + alphabet[alphabet.index(token[-1]) ^ 0x01]
    assert raw(twin) == raw(token)
    assert refused(signer, twin) == "malformed"


def test_random_mutations_only_ever_raise_qr_error(signer: QrSigner) -> None:
    rng = random.Random(20260301)
    genuine = [signer.token(p) for p in EVERY_KIND + [ORIGINAL]]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./?:% 工"
    reasons = set()
    for _ in range(3000):
        chars = list(rng.choice(genuine))
        for _ in range(rng.randint(1, 3)):
            action, at = rng.random(), rng.randrange(len(chars))
            if action < 0.6:
                chars[at] = rng.choice(alphabet)
            elif action < 0.8:
                del chars[at]
            else:
                chars.insert(at, rng.choice(alphabet))
        text = "".join(chars)
        if text in genuine:
            continue
        reasons.add(refused(signer, text))
    assert reasons == {"malformed", "bad_signature"}


@pytest.mark.parametrize("payload", [
    QrPayload("op", ("WO-1",)), QrPayload("op", ("WO-1", "10", "x")), QrPayload("nope", ("1",)),
    QrPayload("machine", ("",)), QrPayload("machine", ("x" * 256,)), QrPayload("machine", (7,)),  # type: ignore[arg-type]
    QrPayload("machine", ("L1",), datetime(2030, 1, 1)),
    QrPayload("machine", ("L1",), datetime(2200, 1, 1, tzinfo=UTC)),
])
def test_invalid_payloads_are_programming_errors(signer: QrSigner, payload: QrPayload) -> None:
    with pytest.raises(ValueError):
        signer.token(payload)


def test_weak_secret_and_bad_base_url_are_refused() -> None:
    with pytest.raises(ValueError):
        QrSigner("short", "https://ops.example.com")
    with pytest.raises(ValueError):
        QrSigner(SECRET, "ops.example.com")
    with pytest.raises(ValueError):
        QrSigner(SECRET, "https://ops.example.com", kinds=[QrKind("a", 1, ("x",)), QrKind("b", 1, ("y",))])


def test_error_messages_are_chinese_and_distinct() -> None:
    reasons = ("malformed", "bad_signature", "expired", "unknown_kind")
    messages = {reason: QrError(reason).message_zh for reason in reasons}
    assert messages["bad_signature"] == "二维码无效或已被篡改，请联系班组长重新打印。"
    assert len(set(messages.values())) == 4
    assert all("二维码" in text and "\n" not in text for text in messages.values())


def test_fields_by_name(signer: QrSigner) -> None:
    assert signer.fields(EVERY_KIND[0]) == {"work_order": "WO-2026-001", "seq": "10"}


def test_wire_format_v1_is_stable(signer: QrSigner) -> None:
    """Printed labels live for years: the documented v1 frame must not drift."""
    body = (bytes([1, 0x80 | 1]) + int(LATER.timestamp()).to_bytes(4, "big")
            + b"\x0bWO-2026-001" + b"\x0210")
    mac = hmac.new(SECRET.encode(), b"opsbot/qr\x00" + body, hashlib.sha256).digest()[:12]
    assert signer.token(ORIGINAL) == encode(body + mac)
    assert signer.token(EVERY_KIND[1]) == "AQIFTDEtTTHRQ7ruArVOPGP0Yjk"

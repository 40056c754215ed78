"""Signed, compact QR tokens: a forged or altered label is refused before any feature code sees it.

Wire format, version 1 (then base64url without padding, canonical encoding only):

    byte 0        version (1)
    byte 1        kind code (1..127); bit 7 set when an expiry follows
    [4 bytes]     expiry, unsigned big-endian Unix seconds (UTC), only with bit 7
    repeated      1 length byte n (1..255) + n bytes of UTF-8: one id per field of the kind, in order
    last 12 bytes HMAC-SHA256(secret, DOMAIN + all bytes above), truncated to 96 bits

Length-prefixed ids and a fixed-size MAC make every prefix/suffix split unambiguous, so truncation is
detected as malformed before the signature is even checked.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bot.qr.payload import DEFAULT_KINDS, QrError, QrKind, QrPayload

VERSION = 1
MAC_BYTES = 12
H5_PATH = "/h5/q/"
_DOMAIN = b"opsbot/qr\x00"
_EXPIRY_FLAG = 0x80
_MAX_ID_BYTES = 255
_MAX_TEXT = 2048
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")
_MIN_SECRET = 16


class QrSigner:
    """Makes and checks QR tokens and URLs for one secret (plus older secrets still honoured on scan)."""

    def __init__(self, secret: str, public_url: str, *, old_secrets: Sequence[str] = (),
                 kinds: Iterable[QrKind] = DEFAULT_KINDS) -> None:
        for candidate in (secret, *old_secrets):
            if len(candidate) < _MIN_SECRET:
                raise ValueError(f"[qr] secret must be at least {_MIN_SECRET} characters")
        if not public_url.startswith(("http://", "https://")):
            raise ValueError("public_url must start with http:// or https://")
        self._keys = [candidate.encode() for candidate in (secret, *old_secrets)]
        self.public_url = public_url.rstrip("/")
        self._by_name: dict[str, QrKind] = {}
        self._by_code: dict[int, QrKind] = {}
        for kind in kinds:
            if kind.name in self._by_name or kind.code in self._by_code:
                raise ValueError(f"QR kind {kind.name!r} (code {kind.code}) is registered twice")
            self._by_name[kind.name] = kind
            self._by_code[kind.code] = kind

    def kind(self, name: str) -> QrKind:
        """The registered kind called `name`; KeyError if there is none."""
        return self._by_name[name]

    def fields(self, payload: QrPayload) -> dict[str, str]:
        """The payload's ids by field name, e.g. {"work_order": "WO-2026-001", "seq": "10"}."""
        return dict(zip(self.kind(payload.kind).fields, payload.ids, strict=True))

    def token(self, payload: QrPayload) -> str:
        body = self._encode_body(payload)
        return _b64encode(body + self._mac(self._keys[0], body))

    def url(self, payload: QrPayload) -> str:
        return f"{self.public_url}{H5_PATH}{self.token(payload)}"

    def verify(self, text: str, *, now: datetime | None = None) -> QrPayload:
        """Checks a scanned URL (any host), bare token or either with whitespace; raises QrError only."""
        now = now or datetime.now(UTC)
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        raw = _b64decode(_extract_token(text))
        code, expires_at, id_bytes, body = _split(raw)
        kind = self._by_code.get(code)
        if kind is not None and len(id_bytes) != len(kind.fields):  # a truncation ending on an id boundary
            raise QrError("malformed", f"{kind.name} carries {len(kind.fields)} ids, got {len(id_bytes)}")
        mac = raw[len(body):]
        if not any(hmac.compare_digest(mac, self._mac(key, body)) for key in self._keys):
            raise QrError("bad_signature")
        if kind is None:
            raise QrError("unknown_kind", f"kind code {code}")
        try:
            ids = tuple(chunk.decode("utf-8") for chunk in id_bytes)
        except UnicodeDecodeError as exc:
            raise QrError("malformed", "id is not UTF-8") from exc
        if expires_at is not None and now >= expires_at:
            raise QrError("expired", f"expired at {expires_at.isoformat()}")
        return QrPayload(kind.name, ids, expires_at)

    def _encode_body(self, payload: QrPayload) -> bytes:
        kind = self._by_name.get(payload.kind)
        if kind is None:
            raise ValueError(f"unknown QR kind {payload.kind!r}")
        if len(payload.ids) != len(kind.fields):
            raise ValueError(f"QR kind {kind.name!r} needs ids {kind.fields}, got {payload.ids!r}")
        head = bytes([VERSION, kind.code | (_EXPIRY_FLAG if payload.expires_at else 0)])
        if payload.expires_at is not None:
            head += struct.pack(">I", _unix_seconds(payload.expires_at))
        parts = [head]
        for value in payload.ids:
            encoded = value.encode("utf-8") if isinstance(value, str) else b""
            if not 1 <= len(encoded) <= _MAX_ID_BYTES:
                raise ValueError(f"QR id {value!r}: must be a non-empty string of at most 255 UTF-8 bytes")
            parts.append(bytes([len(encoded)]) + encoded)
        return b"".join(parts)

    @staticmethod
    def _mac(key: bytes, body: bytes) -> bytes:
        return hmac.new(key, _DOMAIN + body, hashlib.sha256).digest()[:MAC_BYTES]


def _unix_seconds(moment: datetime) -> int:
    """Whole seconds, rounded down: a label never lives longer than asked."""
    if moment.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware (UTC)")
    seconds = int(moment.timestamp())
    if not 0 <= seconds <= 0xFFFFFFFF:
        raise ValueError("expires_at must lie between 1970 and 2106")
    return seconds


def _extract_token(text: object) -> str:
    if not isinstance(text, str) or len(text) > _MAX_TEXT:
        raise QrError("malformed", "not a short string")
    text = text.strip()
    if "/" in text:
        start = text.rfind(H5_PATH)
        if start < 0:
            raise QrError("malformed", "not an opsbot QR URL")
        text = re.split(r"[?#]", text[start + len(H5_PATH):], maxsplit=1)[0].rstrip("/")
    if not _TOKEN_RE.fullmatch(text):
        raise QrError("malformed", "token has characters outside base64url")
    return text


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(token: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise QrError("malformed", "not base64url") from exc
    if _b64encode(raw) != token:
        raise QrError("malformed", "non-canonical base64url")
    return raw


def _split(raw: bytes) -> tuple[int, datetime | None, list[bytes], bytes]:
    """Parses the frame without trusting it: (kind code, expiry, ids, signed body)."""
    end = len(raw) - MAC_BYTES
    if end < 4 or raw[0] != VERSION:
        raise QrError("malformed", "too short or unsupported version")
    code, pos, expires_at = raw[1] & ~_EXPIRY_FLAG, 2, None
    if raw[1] & _EXPIRY_FLAG:
        if end < pos + 4:
            raise QrError("malformed", "truncated expiry")
        expires_at = datetime.fromtimestamp(struct.unpack(">I", raw[pos:pos + 4])[0], UTC)
        pos += 4
    ids: list[bytes] = []
    while pos < end:
        size = raw[pos]
        if size == 0 or pos + 1 + size > end:
            raise QrError("malformed", "bad id length")
        ids.append(raw[pos + 1:pos + 1 + size])
        pos += 1 + size
    if not ids:
        raise QrError("malformed", "no ids")
    return code, expires_at, ids, raw[:end]

"""Signed, short-lived credentials the player page carries, so that its busiest requests need no database.

A phone fetches the video in many Range requests and posts a heartbeat every few seconds. Looking each one up
through the H5 gate (cookie, user row) cost more than serving it, so the page, itself behind WeCom OAuth, issues:
- a media URL per item version and member (`?v=&u=&e=&s=`): HMAC-SHA256 over kind, code, version, user and
  expiry with the server's session secret; the video route checks only that;
- a beat key per view: the same MAC over the view id, the member and the item version; heartbeats carry it.

Expiries are rounded up to the next 10 minutes, so reloading the page keeps the same URL (the browser's cache
still hits). A new catalog version changes every URL; a forged, altered or expired one is refused."""
from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

_DOMAIN = b"opsbot/training\x00"
_MAC_BYTES = 16
_ROUND_S = 600
_fallback = secrets.token_bytes(32)  # an app without a session secret: valid for this process only


class SignatureRefused(Exception):
    """`reason`: forged (bad or missing MAC, malformed fields) or expired."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class BeatKey:
    view_id: int
    user_id: int
    code: str
    version: int


class TrainingSigner:
    """One per session secret; cheap to build, but callers keep one (the key derivation is a hash)."""

    def __init__(self, secret: str) -> None:
        raw = secret.encode() if secret else _fallback
        self._keyed = hmac.new(hashlib.sha256(_DOMAIN + raw).digest(), digestmod=hashlib.sha256)

    def _mac(self, *fields: object) -> str:
        mac = self._keyed.copy()  # the key's pads computed once, not per Range request
        mac.update("\x00".join(str(f) for f in fields).encode())
        digest = mac.digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def _check(self, mac: str, *fields: object) -> None:
        if not mac or len(mac) > 64 or not hmac.compare_digest(mac.encode(), self._mac(*fields).encode()):
            raise SignatureRefused("forged")

    @staticmethod
    def expiry(now: datetime, ttl_s: int) -> int:
        return math.ceil((now.timestamp() + ttl_s) / _ROUND_S) * _ROUND_S

    def media_url(self, kind: str, code: str, version: int, user_id: int, now: datetime, ttl_s: int) -> str:
        """`/h5/training/<code>/<kind>?…` for one member, valid `ttl_s` or a little longer."""
        expires = self.expiry(now, ttl_s)
        query = urlencode({"v": version, "u": user_id, "e": expires, "s": self._mac(kind, code, version, user_id,
                                                                                    expires)})
        return f"/h5/training/{code}/{kind}?{query}"

    def check_media(self, kind: str, code: str, query: dict[str, str], now: datetime) -> tuple[int, int]:
        """(version, user id) of a media URL this server signed and that has not expired."""
        version, user_id, expires = (_number(query.get(k, "")) for k in ("v", "u", "e"))
        self._check(query.get("s", ""), kind, code, version, user_id, expires)
        if now.timestamp() >= expires:
            raise SignatureRefused("expired")
        return version, user_id

    def beat_key(self, view_id: int, user_id: int, code: str, version: int, now: datetime, ttl_s: int) -> str:
        expires = self.expiry(now, ttl_s)
        mac = self._mac("beat", view_id, user_id, version, expires, code)
        return f"{view_id}.{user_id}.{version}.{expires}.{code}.{mac}"

    def check_beat(self, key: str, now: datetime) -> BeatKey:
        parts = key.split(".") if isinstance(key, str) and len(key) <= 200 else []
        if len(parts) != 6:
            raise SignatureRefused("forged")
        view_id, user_id, version, expires = (_number(p) for p in parts[:4])
        self._check(parts[5], "beat", view_id, user_id, version, expires, parts[4])
        if now.timestamp() >= expires:
            raise SignatureRefused("expired")
        return BeatKey(view_id, user_id, parts[4], version)


def _number(text: str) -> int:
    """ASCII digits only (never `²` or `1_000`), at most 12 of them: anything else is a forgery."""
    if not text or len(text) > 12 or not text.isascii() or not text.isdigit():
        raise SignatureRefused("forged")
    return int(text)

"""Signed, expiring tokens for the H5 pages: the OAuth `state` nonces bound to the browser, and form keys.

Expiry is checked against the app's clock (not the signer's wall clock), so tests move time instead of
sleeping, and a token carries its own expiry so one cookie can hold several nonces of different ages.
"""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

LOGIN_COOKIE = "opsbot_h5_login"
LOGIN_TTL_S = 10 * 60  # from the redirect to WeCom until the browser comes back with the code
LOGIN_NONCES_KEPT = 4  # logins started in other tabs at the same time stay valid
FORM_KEY_TTL_S = 12 * 3600  # a form opened at the start of a shift may be sent at its end
MAX_TOKEN_CHARS = 1024


class TokenRefused(Exception):
    """`reason`: unknown (never issued by us, or altered), expired, elsewhere (another user or form)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class SignedTokens:
    """JSON payloads signed with the app's session secret under one salt per use (no cross-use replay)."""

    def __init__(self, secret: str | bytes, salt: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=salt)

    def dumps(self, data: dict[str, Any], now: datetime, ttl_s: int) -> str:
        return str(self._serializer.dumps(data | {"exp": int(now.timestamp()) + ttl_s}))

    def loads(self, token: str, now: datetime) -> dict[str, Any]:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenRefused("unknown")
        try:
            data = self._serializer.loads(token)
        except BadSignature as exc:
            raise TokenRefused("unknown") from exc
        if not isinstance(data, dict) or not isinstance(data.get("exp"), int):
            raise TokenRefused("unknown")
        if now.timestamp() >= data["exp"]:
            raise TokenRefused("expired")
        return data


class FormKeys:
    """Keys the server puts into a form it renders, bound to the user and the operation the form is for.

    The random nonce inside is the idempotency key: a re-post of an issued form is the same report."""

    def __init__(self, secret: str | bytes) -> None:
        self._tokens = SignedTokens(secret, "h5-form")

    def issue(self, user_id: int, purpose: str, now: datetime, ttl_s: int = FORM_KEY_TTL_S) -> str:
        return self._tokens.dumps({"u": user_id, "p": purpose, "n": secrets.token_urlsafe(18)}, now, ttl_s)

    def check(self, key: str, user_id: int, purpose: str, now: datetime) -> str:
        """The form's nonce; TokenRefused for a key we never issued, an old one, or one for another form."""
        data = self._tokens.loads(key, now)
        if data.get("u") != user_id or data.get("p") != purpose or not isinstance(data.get("n"), str):
            raise TokenRefused("elsewhere")
        return str(data["n"])


class LoginNonces:
    """The pre-login cookie: the OAuth `state` values this browser was sent to WeCom with, each single-use.

    The cookie itself is the single-use carrier: a nonce is removed from it when it comes back, so no table
    of used nonces is needed; another browser cannot present the cookie, which is what stops login CSRF."""

    def __init__(self, secret: str | bytes) -> None:
        self._tokens = SignedTokens(secret, "h5-login")

    def live(self, cookie: str | None, now: datetime) -> list[list[Any]]:
        """The cookie's unexpired [nonce, expiry] pairs; an absent, altered or expired cookie holds none."""
        try:
            pairs = self._tokens.loads(cookie or "", now).get("n")
        except TokenRefused:
            return []
        if not isinstance(pairs, list):
            return []
        return [p for p in pairs if isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
                and isinstance(p[1], int) and now.timestamp() < p[1]]

    def add(self, pairs: list[list[Any]], now: datetime) -> tuple[str, list[list[Any]]]:
        """A new nonce (32 hex digits: WeCom allows ≤ 128 of [a-zA-Z0-9]) and the pairs to store."""
        nonce = secrets.token_hex(16)
        kept = (pairs + [[nonce, int(now.timestamp()) + LOGIN_TTL_S]])[-LOGIN_NONCES_KEPT:]
        return nonce, kept

    def take(self, pairs: list[list[Any]], state: str) -> list[list[Any]] | None:
        """The pairs left once `state` is used up; None if this browser was never sent with `state`."""
        wanted = state.encode("utf-8", "replace")  # compare_digest refuses non-ASCII str: compare bytes
        if not state or not any(hmac.compare_digest(p[0].encode(), wanted) for p in pairs):
            return None
        return [p for p in pairs if p[0] != state]

    def cookie_value(self, pairs: list[list[Any]], now: datetime) -> str:
        return self._tokens.dumps({"n": pairs}, now, LOGIN_TTL_S)

"""WeCom errcodes as typed errors, so callers decide by type (retry, refresh, report) and never by errmsg."""

from __future__ import annotations

import json
import re
from typing import Any

# errcode used for failures below WeCom's JSON layer (connection, timeout, HTTP 5xx, unparsable body).
TRANSPORT_ERRCODE = -1

_SECRET_PARAMS = re.compile(r"(access_token|corpsecret|secret|key|ticket)=[^&\s'\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    """Strip credentials from URLs or messages before they reach logs or exception text."""
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)


class WeComError(Exception):
    """A WeCom call failed; `errcode` is WeCom's own code (or -1 for transport failures)."""

    # True when the request went out but its answer was lost (timeout, dropped connection): it may have acted.
    maybe_delivered: bool = False

    def __init__(self, errcode: int, errmsg: str, api: str, *, http_status: int | None = None) -> None:
        self.errcode = errcode
        self.errmsg = redact(errmsg)
        self.api = api
        self.http_status = http_status
        super().__init__(f"WeCom {api} failed: errcode={errcode} errmsg={self.errmsg}")


class TransientWeComError(WeComError):
    """Busy, rate limited, network or 5xx: safe to retry later with backoff."""


class TokenInvalidError(WeComError):
    """The access token was rejected: refresh it once and retry."""


class WeComConfigError(WeComError):
    """Wrong secret, corp id, trusted IP or app permissions: retrying cannot help, an admin must act."""


class InvalidRecipientError(WeComError):
    """No valid recipient: every addressed user, party or tag was unknown or out of the app's scope."""


class ContentError(WeComError):
    """The request itself was rejected (empty, too long, bad msgtype or parameter)."""


class OAuthCodeError(WeComError):
    """The OAuth code was invalid, expired or already used."""


TRANSIENT_CODES = frozenset({-1, 45009, 45033})  # busy, frequency limit, too many concurrent calls
TOKEN_CODES = frozenset({40014, 42001, 41001})
CONFIG_CODES = frozenset({
    40001,  # invalid secret
    40013,  # invalid corpid
    40056,  # invalid agentid
    40091,  # secret belongs to another corp
    41002,  # missing corpid
    41004,  # missing secret
    41011,  # missing agentid
    48002,  # API not allowed (e.g. appchat without root-department visibility)
    48005,  # API retired
    48006,  # API permission revoked after long disuse
    50001,  # redirect domain not trusted
    50002,  # member outside the app's permission range
    50003,  # app disabled
    60011,  # no privilege over that member / party / tag
    60020,  # server IP not on the app's trusted list
    301002,  # no permission to operate on that app
})
RECIPIENT_CODES = frozenset({81013})
OAUTH_CODES = frozenset({40029, 42022})  # invalid code, code already used
CONTENT_CODES = frozenset({
    40003, 40004, 40005, 40006, 40007, 40008, 40009, 40011, 40033, 40035, 40058, 40063, 40094,
    40123, 41006, 41016, 41033, 44001, 44004, 45001, 45002, 45008, 45032, 45034, 47001,
    *range(42014, 42050),  # template card fields
})


def error_for(errcode: int, errmsg: str, api: str) -> WeComError:
    """Map a non-zero errcode to the error type that tells the caller what to do."""
    for codes, kind in (
        (TRANSIENT_CODES, TransientWeComError),
        (TOKEN_CODES, TokenInvalidError),
        (CONFIG_CODES, WeComConfigError),
        (RECIPIENT_CODES, InvalidRecipientError),
        (OAUTH_CODES, OAuthCodeError),
        (CONTENT_CODES, ContentError),
    ):
        if errcode in codes:
            return kind(errcode, errmsg, api)
    return WeComError(errcode, errmsg, api)


def transport_error(api: str, detail: str, *, http_status: int | None = None) -> TransientWeComError:
    """A failure below WeCom's JSON layer (connection, timeout, 5xx, bad body), always retryable."""
    return TransientWeComError(TRANSPORT_ERRCODE, detail, api, http_status=http_status)


def answer_body(api: str, status: int, raw: bytes) -> dict[str, Any]:
    """Turn one HTTP answer into a body with errcode 0, or raise the error that says what to do."""
    if status >= 500 or status == 429:
        raise transport_error(api, f"HTTP {status}", http_status=status)
    if status != 200:
        detail = f"HTTP {status} (is api_base right?)"
        raise WeComConfigError(TRANSPORT_ERRCODE, detail, api, http_status=status)
    try:
        body = json.loads(raw)
    except ValueError:
        raise transport_error(api, f"unparsable answer ({len(raw)} bytes)", http_status=status) from None
    if not isinstance(body, dict):
        raise transport_error(api, "answer is not a JSON object", http_status=status)
    errcode = int(body.get("errcode") or 0)
    if errcode != 0:
        raise error_for(errcode, str(body.get("errmsg", "")), api)
    return body

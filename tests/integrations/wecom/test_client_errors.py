"""error_for maps WeCom errcodes to the error type that tells the caller what to do."""

from __future__ import annotations

import pytest

from integrations.wecom.errors import (
    ContentError,
    InvalidRecipientError,
    OAuthCodeError,
    TokenInvalidError,
    TransientWeComError,
    WeComConfigError,
    WeComError,
    answer_body,
    error_for,
    redact,
)


@pytest.mark.parametrize(
    ("errcode", "kind"),
    [
        (-1, TransientWeComError),
        (45009, TransientWeComError),
        (45033, TransientWeComError),
        (40014, TokenInvalidError),
        (42001, TokenInvalidError),
        (41001, TokenInvalidError),
        (40001, WeComConfigError),
        (40013, WeComConfigError),
        (60020, WeComConfigError),
        (48002, WeComConfigError),
        (40056, WeComConfigError),
        (301002, WeComConfigError),
        (50001, WeComConfigError),
        (81013, InvalidRecipientError),
        (44004, ContentError),
        (45002, ContentError),
        (40003, ContentError),
        (40008, ContentError),
        (42045, ContentError),
        (40029, OAuthCodeError),
        (42022, OAuthCodeError),
        (12345, WeComError),
    ],
)
def test_errcode_maps_to_its_type(errcode: int, kind: type[WeComError]) -> None:
    error = error_for(errcode, "msg", "message/send")
    assert type(error) is kind
    assert (error.errcode, error.errmsg, error.api) == (errcode, "msg", "message/send")


def test_redact_hides_credentials_in_urls() -> None:
    text = "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=abc&x=1 /send?access_token=T0K key=K3Y"
    assert (
        redact(text) == "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=***&x=1 /send?access_token=*** key=***"
    )


@pytest.mark.parametrize(
    ("status", "raw", "kind"),
    [
        (502, b"", TransientWeComError),
        (429, b"", TransientWeComError),
        (200, b"<html>", TransientWeComError),
        (200, b"[1]", TransientWeComError),
        (404, b"not found", WeComConfigError),
        (200, b'{"errcode": 81013, "errmsg": "no user"}', InvalidRecipientError),
    ],
)
def test_http_answers_map_to_errors(status: int, raw: bytes, kind: type[WeComError]) -> None:
    with pytest.raises(kind) as caught:
        answer_body("message/send", status, raw)
    assert caught.value.http_status in (status, None)


def test_ok_answer_returns_the_body() -> None:
    assert answer_body("gettoken", 200, b'{"errcode": 0, "access_token": "t"}') == {
        "errcode": 0,
        "access_token": "t",
    }

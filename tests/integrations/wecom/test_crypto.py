"""Callback crypto against wechatpy, a hand-computed signature, and hostile input."""

from __future__ import annotations

import base64
import re

import pytest
import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.enterprise.crypto import WeChatCrypto

from integrations.wecom.crypto import (
    CallbackCrypto,
    CallbackError,
    InvalidSignature,
    MalformedMessage,
    OversizedBody,
    WrongReceiver,
    compute_signature,
)

TOKEN = "sandboxtoken"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP = "wwsandbox0000000001"
INNER = (
    "<xml><ToUserName><![CDATA[ww]]></ToUserName><Content><![CDATA[你好 ]]]]><![CDATA[>]]></Content></xml>"
)


@pytest.fixture
def crypto() -> CallbackCrypto:
    return CallbackCrypto(TOKEN, AES_KEY, CORP)


def outer(encrypt: str) -> bytes:
    return f"<xml><ToUserName>{CORP}</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()


def test_signature_matches_a_hand_computed_vector(crypto: CallbackCrypto) -> None:
    # sha1("1700000000" + "ZW5jcnlwdGVk" + "abc123" + "sandboxtoken"): the four strings sorted,
    # digest computed outside Python with coreutils sha1sum
    expected = "709e365136d234ede240d2692d12fbaf36451ee8"
    assert crypto.sign("1700000000", "abc123", "ZW5jcnlwdGVk") == expected
    assert compute_signature(TOKEN, "1700000000", "abc123", "ZW5jcnlwdGVk") == expected


def test_wechatpy_encrypts_and_we_decrypt(crypto: CallbackCrypto) -> None:
    reference = WeChatCrypto(TOKEN, AES_KEY, CORP)
    envelope = reference.encrypt_message(INNER, "nonce42", "1700000001")
    fields = xmltodict.parse(envelope)["xml"]
    assert crypto.decrypt_message(envelope.encode(), fields["MsgSignature"], "1700000001", "nonce42") == INNER


def test_we_encrypt_and_wechatpy_decrypts(crypto: CallbackCrypto) -> None:
    envelope = crypto.encrypt_message(INNER, "nonce43", 1700000002)
    fields = xmltodict.parse(envelope)["xml"]
    assert fields["TimeStamp"] == "1700000002" and fields["Nonce"] == "nonce43"
    reference = WeChatCrypto(TOKEN, AES_KEY, CORP)
    assert reference.decrypt_message(envelope, fields["MsgSignature"], "1700000002", "nonce43") == INNER
    assert crypto.decrypt_message(envelope.encode(), fields["MsgSignature"], "1700000002", "nonce43") == INNER


def test_plaintext_layout_is_wecoms(crypto: CallbackCrypto) -> None:
    """Decrypt by hand: 16 random bytes, big-endian length, message, corp id, PKCS#7 to 32 bytes."""
    key = base64.b64decode(AES_KEY + "=")
    raw = base64.b64decode(crypto.encrypt("hello"))
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    assert len(plain) % 32 == 0
    pad = plain[-1]
    body = plain[16:-pad]
    assert body[:4] == (5).to_bytes(4, "big") and body[4:9] == b"hello" and body[9:] == CORP.encode()


def test_verify_url_returns_the_plaintext(crypto: CallbackCrypto) -> None:
    echo = crypto.encrypt("4312508112788137465")
    signature = compute_signature(TOKEN, "1700000003", "n", echo)
    assert crypto.verify_url(signature, "1700000003", "n", echo) == "4312508112788137465"
    assert WeChatCrypto(TOKEN, AES_KEY, CORP).check_signature(signature, "1700000003", "n", echo) == (
        "4312508112788137465"
    )
    with pytest.raises(InvalidSignature):
        crypto.verify_url(signature, "1700000004", "n", echo)


def test_tampered_signature_is_403(crypto: CallbackCrypto) -> None:
    envelope = crypto.encrypt_message(INNER, "n", 1700000005)
    signature = re.search(r"<MsgSignature><!\[CDATA\[(\w+)", envelope).group(1)
    tampered = ("0" if signature[0] != "0" else "1") + signature[1:]
    with pytest.raises(InvalidSignature) as caught:
        crypto.decrypt_message(envelope.encode(), tampered, "1700000005", "n")
    assert caught.value.status == 403
    with pytest.raises(InvalidSignature):
        crypto.decrypt_message(envelope.encode(), signature, "1700000006", "n")


def test_wrong_corp_id_is_refused(crypto: CallbackCrypto) -> None:
    other = CallbackCrypto(TOKEN, AES_KEY, "wwsomeoneelse000001")
    encrypt = other.encrypt(INNER)
    signature = crypto.sign("1", "n", encrypt)
    with pytest.raises(WrongReceiver) as caught:
        crypto.decrypt_message(outer(encrypt), signature, "1", "n")
    assert caught.value.status == 403


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><Encrypt><![CDATA[abc",  # truncated
        b"not xml at all",
        b"<xml><ToUserName>x</ToUserName></xml>",  # no Encrypt
        b"<xml><Encrypt></Encrypt></xml>",
        b"\xff\xfe<\x00x\x00",  # not UTF-8
    ],
)
def test_malformed_bodies_are_400(crypto: CallbackCrypto, body: bytes) -> None:
    with pytest.raises(MalformedMessage) as caught:
        crypto.decrypt_message(body, "sig", "1", "n")
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!doctype xml SYSTEM "file:///etc/passwd">',
        '<!ENTITY x "y">',
    ],
)
def test_dtd_and_entities_are_refused_before_parsing(crypto: CallbackCrypto, prolog: str) -> None:
    encrypt = crypto.encrypt(INNER)
    body = f"{prolog}<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><A>&b;</A></xml>".encode()
    with pytest.raises(MalformedMessage, match="forbidden markup"):
        crypto.decrypt_message(body, crypto.sign("1", "n", encrypt), "1", "n")


def test_oversized_body_is_413(crypto: CallbackCrypto) -> None:
    small = CallbackCrypto(TOKEN, AES_KEY, CORP, max_body_bytes=1024)
    encrypt = small.encrypt("x" * 2000)
    with pytest.raises(OversizedBody) as caught:
        small.decrypt_message(outer(encrypt), small.sign("1", "n", encrypt), "1", "n")
    assert caught.value.status == 413


@pytest.mark.parametrize(
    "encrypt",
    [
        "!!!not-base64!!!",
        "QUJD",  # 3 bytes: not a whole AES block
        base64.b64encode(b"\x00" * 32).decode(),  # decrypts to noise: padding check fails
        "QUJDRA=",  # bad padding in base64 itself
    ],
)
def test_garbage_ciphertext_is_a_typed_error(crypto: CallbackCrypto, encrypt: str) -> None:
    with pytest.raises(CallbackError) as caught:
        crypto.decrypt_message(outer(encrypt), crypto.sign("1", "n", encrypt), "1", "n")
    assert isinstance(caught.value, (MalformedMessage, WrongReceiver))


def test_fuzzed_ciphertexts_never_escape_as_untyped_errors(crypto: CallbackCrypto) -> None:
    """Flip each byte position of a valid ciphertext: only CallbackError (or success) may come out."""
    raw = bytearray(base64.b64decode(crypto.encrypt(INNER)))
    for position in range(0, len(raw), 3):
        mutated = bytearray(raw)
        mutated[position] ^= 0x5A
        encrypt = base64.b64encode(bytes(mutated)).decode()
        try:
            crypto.decrypt(encrypt)
        except CallbackError:
            pass


def test_bad_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        CallbackCrypto(TOKEN, "short", CORP)

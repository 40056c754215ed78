"""WeCom callback crypto: signature check, AES-CBC envelope, hardened against hostile input."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.enterprise.crypto import WeChatCrypto

_BLOCK = 32  # WeCom pads PKCS#7 to 32 bytes, not the AES block size
_FORBIDDEN_MARKUP = ("<!doctype", "<!entity")


class CallbackError(Exception):
    """Any refused callback; carries the HTTP status the endpoint should answer."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidSignature(CallbackError):
    """The msg_signature does not match: not from WeCom, or tampered."""

    status = 403


class MalformedMessage(CallbackError):
    """The body or ciphertext cannot be understood; never a crash."""

    status = 400


class WrongReceiver(CallbackError):
    """Decrypted fine but addressed to another corp (receiveid mismatch)."""

    status = 403


class OversizedBody(CallbackError):
    """Refused before parsing so a huge body costs nothing."""

    status = 413


def reject_dangerous_markup(text: str) -> None:
    """Refuse DTDs and entity declarations before any XML parser can expand them."""
    lowered = text.lower()
    for marker in _FORBIDDEN_MARKUP:
        if marker in lowered:
            raise MalformedMessage(f"forbidden markup {marker!r}")


def compute_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """WeCom's msg_signature: sha1 of the four strings sorted and joined."""
    parts = sorted([token, str(timestamp), nonce, encrypted])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class CallbackCrypto:
    """Verifies, decrypts and encrypts WeCom callbacks for one app; reuse one instance."""

    def __init__(
        self, token: str, encoding_aes_key: str, corp_id: str, max_body_bytes: int = 64 * 1024
    ) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        # wechatpy validates the key and stays the reference implementation for the format.
        self._wechatpy = WeChatCrypto(token, encoding_aes_key, corp_id)
        self.token = token
        self.corp_id = corp_id
        self.max_body_bytes = max_body_bytes
        key: bytes = self._wechatpy.key
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))
        self._corp_id_bytes = corp_id.encode("utf-8")

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """Signature over one encrypted payload, as WeCom computes it."""
        return compute_signature(self.token, str(timestamp), nonce, encrypted)

    def _check_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = self.sign(timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), (msg_signature or "").encode("utf-8", "replace")):
            raise InvalidSignature("msg_signature mismatch")

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """URL-verification handshake: the plaintext echostr to answer as the body."""
        if not echostr:
            raise MalformedMessage("missing echostr")
        if len(echostr) > self.max_body_bytes:
            raise OversizedBody("echostr too long")
        self._check_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def decrypt_message(self, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
        """Outer callback body to the inner XML text, or a typed CallbackError."""
        encrypted = self.extract_encrypt(body)
        self._check_signature(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def extract_encrypt(self, body: bytes | str) -> str:
        """The Encrypt text of an outer envelope, refusing anything dangerous or oversized."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        if len(body) > self.max_body_bytes:
            raise OversizedBody(f"body of {len(body)} bytes exceeds {self.max_body_bytes}")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage("body is not UTF-8") from exc
        reject_dangerous_markup(text)
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise MalformedMessage(f"bad XML: {exc}") from exc
        node = root.find("Encrypt")
        if node is None or not (node.text or "").strip():
            raise MalformedMessage("missing Encrypt")
        return node.text.strip()

    def decrypt(self, encrypted: str) -> str:
        """Decrypt one base64 payload and check its framing and receiveid strictly."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedMessage("bad base64") from exc
        if not raw or len(raw) % 16:
            raise MalformedMessage("ciphertext length is not a multiple of 16")
        decryptor = self._cipher.decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
            raise MalformedMessage("bad padding")
        content = plain[16:-pad]
        if len(content) < 4:
            raise MalformedMessage("plaintext too short")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise MalformedMessage("declared length exceeds plaintext")
        receive_id = content[4 + length :]
        if not hmac.compare_digest(receive_id, self._corp_id_bytes):
            raise WrongReceiver("receiveid does not match the corp id")
        try:
            return content[4 : 4 + length].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage("message is not UTF-8") from exc

    def encrypt(self, text: str) -> str:
        """Encrypt one plaintext into WeCom's base64 envelope."""
        message = text.encode("utf-8")
        framed = secrets.token_bytes(16) + struct.pack(">I", len(message)) + message + self._corp_id_bytes
        pad = _BLOCK - len(framed) % _BLOCK
        framed += bytes([pad]) * pad
        encryptor = self._cipher.encryptor()
        return base64.b64encode(encryptor.update(framed) + encryptor.finalize()).decode("ascii")

    def encrypt_message(self, inner_xml: str, nonce: str, timestamp: int) -> str:
        """Outer envelope for a passive reply (or for a callback the sandbox sends)."""
        encrypted = self.encrypt(inner_xml)
        signature = self.sign(str(timestamp), nonce, encrypted)
        return (
            f"<xml><Encrypt>{_cdata(encrypted)}</Encrypt><MsgSignature>{_cdata(signature)}</MsgSignature>"
            f"<TimeStamp>{int(timestamp)}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>"
        )

"""Build an asyncua Client from an EndpointConfig and read the server's operation limits."""

from __future__ import annotations

from asyncua import Client, ua
from asyncua.crypto import uacrypto
from cryptography import x509

from .config import EndpointConfig
from .const import DEFAULT_CHUNK, SESSION_TIMEOUT_MS, WATCHDOG_INTERVAL_S
from .errors import translated


async def build_client(config: EndpointConfig) -> Client:
    """A client that does not reconnect by itself: the collector owns reconnects and re-resolution."""
    client = Client(config.url, timeout=config.timeout_s, watchdog_intervall=WATCHDOG_INTERVAL_S)
    client.session_timeout = SESSION_TIMEOUT_MS
    if config.application_uri:
        client.application_uri = config.application_uri
    if config.username is not None:
        client.set_user(config.username)
        client.set_password(config.password or "")
    if config.security:
        with translated(f"{config.name}: load security {config.security.split(',')[0]}"):
            if not config.application_uri:
                client.application_uri = await _certificate_uri(config.security) or client.application_uri
            await client.set_security_string(config.security)
    return client


async def _certificate_uri(security: str) -> str | None:
    """The client certificate's URI: servers reject a session whose ApplicationUri differs from it."""
    certificate = await uacrypto.load_certificate(security.split(",")[2].strip())
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


async def read_limits(client: Client, limit_nodes: list[ua.NodeId]) -> list[int]:
    """Operation limits in one read; 0 or an unreadable limit means our default chunk size."""
    with translated("read operation limits"):
        answers = await client.uaclient.read_attributes(limit_nodes, ua.AttributeIds.Value)
    limits: list[int] = []
    for answer in answers:
        value = answer.Value.Value if answer.StatusCode.is_good() and answer.Value is not None else None
        limits.append(int(value) if isinstance(value, int) and value > 0 else DEFAULT_CHUNK)
    return limits

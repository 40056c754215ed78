"""Endpoint and tag configuration parsed from plain dicts (TOML tables), with readable errors."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .const import MODES, SECURITY_MODES, SECURITY_POLICIES
from .noderef import NodeRef, parse_node_ref

__all__ = ["EndpointConfig", "NodeRef", "TagRef", "parse_endpoints", "parse_node_ref", "parse_tags"]

_ENDPOINT_KEYS = {
    "name",
    "url",
    "interval_s",
    "mode",
    "timeout_s",
    "security",
    "username",
    "password",
    "application_uri",
}


@dataclass
class EndpointConfig:
    """One OPC UA server connection; one collector serves all of its tags."""

    name: str
    url: str
    interval_s: float = 1.0
    mode: str = "poll"  # "poll" | "subscribe"
    timeout_s: float = 4.0
    security: str | None = None  # "Basic256Sha256,SignAndEncrypt,cert.pem,key.pem[,server_cert.der]"
    username: str | None = None
    password: str | None = None
    application_uri: str | None = None


@dataclass
class TagRef:
    """A caller's key for a value and the node it is read from."""

    key: str
    node: str


class _Errors:
    """Collects "where: problem" lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.lines.append(f"{where}: {problem}")


def parse_endpoints(
    items: Any, *, where: str = "equipment.endpoints", allow_keys: Collection[str] = ()
) -> tuple[list[EndpointConfig], list[str]]:
    """Parse endpoint tables; invalid ones are left out and explained, one line per problem.

    allow_keys names extra keys the caller handles itself (they are ignored here, not reported).
    """
    errors = _Errors()
    if not isinstance(items, list):
        errors.add(where, "must be a list of tables ([[...]] in TOML)")
        return [], errors.lines
    endpoints: list[EndpointConfig] = []
    seen: set[str] = set()
    for position, item in enumerate(items):
        here = f"{where}[{position}]"
        before = len(errors.lines)
        endpoint = _parse_endpoint(item, here, errors, allow_keys)
        if endpoint is not None and endpoint.name in seen:
            errors.add(f"{here}.name", f"duplicate endpoint name {endpoint.name!r}")
        if endpoint is not None and len(errors.lines) == before:
            seen.add(endpoint.name)
            endpoints.append(endpoint)
    return endpoints, errors.lines


def parse_tags(items: Any, *, where: str = "tags") -> tuple[list[TagRef], list[str]]:
    """Parse [{key, node}] or {key: node}; each node must be valid node-ref syntax and keys unique."""
    errors = _Errors()
    if isinstance(items, dict):
        items = [{"key": key, "node": node} for key, node in items.items()]
    if not isinstance(items, list):
        errors.add(where, "must be a table of key = node id, or a list of {key, node} tables")
        return [], errors.lines
    tags: list[TagRef] = []
    seen: set[str] = set()
    for position, item in enumerate(items):
        here = f"{where}[{position}]"
        if not isinstance(item, dict):
            errors.add(here, "must be a table with key and node")
            continue
        key, node = item.get("key"), item.get("node")
        if not isinstance(key, str) or not key.strip():
            errors.add(f"{here}.key", "must be a non-empty string")
            continue
        if key in seen:
            errors.add(f"{here}.key", f"duplicate key {key!r}")
            continue
        try:
            parse_node_ref(node)
        except ValueError as exc:
            errors.add(f"{here}.node", str(exc))
            continue
        seen.add(key)
        tags.append(TagRef(key=key, node=node.strip()))
    return tags, errors.lines


def _parse_endpoint(
    item: Any, here: str, errors: _Errors, allow_keys: Collection[str]
) -> EndpointConfig | None:
    if not isinstance(item, dict):
        errors.add(here, "must be a table with at least name and url")
        return None
    for key in sorted(set(item) - _ENDPOINT_KEYS - set(allow_keys)):
        errors.add(f"{here}.{key}", f"unknown key (known: {', '.join(sorted(_ENDPOINT_KEYS))})")
    name = _string(item, "name", here, errors, required=True)
    url = _string(item, "url", here, errors, required=True)
    if url is not None:
        _check_url(url, f"{here}.url", errors)
    interval_s = _positive(item, "interval_s", 1.0, here, errors, minimum=0.05)
    timeout_s = _positive(item, "timeout_s", 4.0, here, errors, minimum=0.1)
    mode = _string(item, "mode", here, errors) or "poll"
    if mode not in MODES:
        errors.add(f"{here}.mode", f"must be one of {', '.join(MODES)}, not {mode!r}")
    security = _string(item, "security", here, errors)
    if security is not None:
        security = _check_security(security, f"{here}.security", errors)
    username = _string(item, "username", here, errors)
    password = _string(item, "password", here, errors, allow_empty=True)
    if (username is None) != (password is None):
        errors.add(here, "username and password must be given together")
    application_uri = _string(item, "application_uri", here, errors)
    if name is None or url is None:
        return None
    return EndpointConfig(
        name=name,
        url=url,
        interval_s=interval_s,
        mode=mode,
        timeout_s=timeout_s,
        security=security,
        username=username,
        password=password,
        application_uri=application_uri,
    )


def _string(
    item: dict[str, Any],
    key: str,
    here: str,
    errors: _Errors,
    *,
    required: bool = False,
    allow_empty: bool = False,
) -> str | None:
    value = item.get(key)
    if value is None:
        if required:
            errors.add(f"{here}.{key}", "is required")
        return None
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        errors.add(f"{here}.{key}", f"must be a non-empty string, not {value!r}")
        return None
    return value if allow_empty else value.strip()


def _positive(
    item: dict[str, Any], key: str, default: float, here: str, errors: _Errors, *, minimum: float
) -> float:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        errors.add(f"{here}.{key}", f"must be a number of seconds >= {minimum}, not {value!r}")
        return default
    return float(value)


def _check_url(url: str, where: str, errors: _Errors) -> None:
    if not url.startswith("opc.tcp://"):
        errors.add(where, f"must start with opc.tcp://, not {url!r}")
        return
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        errors.add(where, f"invalid port in {url!r}")
        return
    if not parts.hostname:
        errors.add(where, f"needs a host, e.g. opc.tcp://192.168.0.10:4840, not {url!r}")
    elif port is None:
        errors.add(where, f"needs a port, e.g. opc.tcp://{parts.hostname}:4840")


def _check_security(text: str, where: str, errors: _Errors) -> str:
    """The security string without blanks around commas (asyncua does not strip them), checked."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) not in (4, 5) or not all(parts):
        errors.add(where, "must be Policy,Mode,client_cert,client_key[,server_cert]")
        return text
    if parts[0] not in SECURITY_POLICIES:
        errors.add(where, f"unknown policy {parts[0]!r} (known: {', '.join(SECURITY_POLICIES)})")
    if parts[1] not in SECURITY_MODES:
        errors.add(where, f"unknown mode {parts[1]!r} (known: {', '.join(SECURITY_MODES)})")
    # asyncua accepts "key.pem::password" for an encrypted key; paths are relative to the working directory.
    files = zip(_SECURITY_FILES, [parts[2], parts[3].split("::", 1)[0], *parts[4:]], strict=False)
    for role, path in files:
        if not Path(path).is_file():
            errors.add(where, f"{role} file not found: {path}")
    return ",".join(parts)


_SECURITY_FILES = ("client certificate", "client private key", "server certificate")

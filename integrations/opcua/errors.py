"""Error types of the OPC UA integration: asyncua and socket errors never leave this package."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from asyncua import ua


class OpcUaError(Exception):
    """A failed OPC UA operation, described in one readable line."""


def describe(exc: BaseException) -> str:
    """One line for logs and ReadCycle.error, free of asyncua internals."""
    if isinstance(exc, ua.UaStatusCodeError):
        return f"server answered {ua.StatusCode(exc.code).name}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionError):
        return f"connection lost ({exc})" if str(exc) else "connection lost"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn any library error raised inside the block into OpcUaError at our boundary."""
    try:
        yield
    except OpcUaError:
        raise
    except Exception as exc:  # asyncua raises many unrelated types; a bad endpoint must not crash the bot
        raise OpcUaError(f"{action}: {describe(exc)}") from exc

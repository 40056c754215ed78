"""Immutable results handed to consumers, built from asyncua DataValues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncua import ua


def utcnow() -> datetime:
    """Timezone-aware now in UTC, the default collector clock."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class TagValue:
    """One tag's value with its quality; only good values should count."""

    key: str
    value: Any
    good: bool
    status: str  # OPC UA status code name, e.g. "Good", "BadNodeIdUnknown"
    source_time: datetime | None


@dataclass(frozen=True)
class ReadCycle:
    """The outcome of one collection cycle of one endpoint."""

    endpoint: str
    at: datetime  # UTC
    ok: bool
    values: dict[str, TagValue]
    error: str | None
    duration_s: float


def tag_value(key: str, data: ua.DataValue) -> TagValue:
    """TagValue from a DataValue; a bad status keeps value None so it cannot be mistaken for data."""
    status = data.StatusCode if data.StatusCode is not None else ua.StatusCode(ua.StatusCodes.Good)
    good = status.is_good()
    value = data.Value.Value if not status.is_bad() and data.Value is not None else None
    source_time = _utc(data.SourceTimestamp)
    return TagValue(key=key, value=value, good=good, status=status.name, source_time=source_time)


def bad_value(key: str, status: str) -> TagValue:
    """TagValue for a tag the server could not be asked about (unresolved node)."""
    return TagValue(key=key, value=None, good=False, status=status, source_time=None)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

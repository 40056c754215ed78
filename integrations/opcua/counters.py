"""Pure helpers for turning raw PLC values into counter deltas and named machine states."""

from __future__ import annotations

from typing import Any

# A drop is read as a wrap-around only when the wrapped delta is under this share of the counter range
# (previous near the maximum and current near zero); any other drop is a reset.
WRAP_WINDOW = 0.1


def counter_delta(previous: int | None, current: int, max_value: int | None) -> tuple[int, str]:
    """Parts counted since the previous reading, and how: "first", "normal", "wrap", "reset" or "invalid".

    - no previous reading → (0, "first"): nothing can be attributed to this interval
    - current >= previous → the difference
    - current < previous and previous near max_value → wrapped: (max_value - previous) + current + 1
    - current < previous otherwise (counter cleared at shift change, PLC restart) → (current, "reset")
    - negative or above max_value (a bad read) → (0, "invalid"), so one glitch does not add millions
    """
    if isinstance(current, bool) or current < 0 or (max_value is not None and current > max_value):
        return 0, "invalid"
    if previous is None:
        return 0, "first"
    if current >= previous:
        return current - previous, "normal"
    if max_value is not None and previous <= max_value:
        wrapped = (max_value - previous) + current + 1
        if wrapped <= max_value * WRAP_WINDOW:
            return wrapped, "wrap"
    return current, "reset"


def map_state(raw: Any, mapping: dict[str, str]) -> str:
    """Name a raw state value through a TOML mapping ({"1": "running", "true": "running"}); else "unknown"."""
    if raw is None:
        return "unknown"
    for key in _keys(raw):
        if key in mapping:
            return mapping[key]
    return "unknown"


def _keys(raw: Any) -> list[str]:
    """Spellings a TOML key could use for raw: 1 / 1.0 → "1"; True → "true"; strings as is and lowercased."""
    if isinstance(raw, bool):
        return ["true" if raw else "false", "1" if raw else "0"]
    if isinstance(raw, float) and raw.is_integer():
        return [str(int(raw)), str(raw)]
    if isinstance(raw, str):
        text = raw.strip()
        return [text, text.lower()]
    return [str(raw)]

"""Counter deltas across wrap-around and resets, and state mapping from raw PLC values."""

from __future__ import annotations

import pytest

from integrations.opcua.counters import counter_delta, map_state

UINT16_MAX = 65_535
UINT32_MAX = 4_294_967_295


@pytest.mark.parametrize(
    ("previous", "current", "max_value", "expected"),
    [
        (None, 120, UINT32_MAX, (0, "first")),
        (100, 130, UINT32_MAX, (30, "normal")),
        (100, 100, None, (0, "normal")),
        (65_530, 4, UINT16_MAX, (10, "wrap")),
        (UINT32_MAX, 0, UINT32_MAX, (1, "wrap")),
        (UINT32_MAX - 2, 7, UINT32_MAX, (10, "wrap")),
        (5_000, 12, UINT16_MAX, (12, "reset")),
        (65_530, 40_000, UINT16_MAX, (40_000, "reset")),
        (5_000, 0, None, (0, "reset")),
        (100, -1, UINT16_MAX, (0, "invalid")),
        (100, 70_000, UINT16_MAX, (0, "invalid")),
    ],
)
def test_counter_delta(
    previous: int | None, current: int, max_value: int | None, expected: tuple[int, str]
) -> None:
    assert counter_delta(previous, current, max_value) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1, "running"),
        (1.0, "running"),
        (3, "down"),
        (True, "running"),
        (False, "idle"),
        ("RUN", "running"),
        (" Run ", "running"),
        (99, "unknown"),
        (None, "unknown"),
        ([1], "unknown"),
    ],
)
def test_map_state(raw: object, expected: str) -> None:
    mapping = {"1": "running", "2": "idle", "3": "down", "true": "running", "false": "idle", "run": "running"}
    assert map_state(raw, mapping) == expected

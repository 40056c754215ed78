"""What counts as watched: only play the server saw happen at the pace of time.

A heartbeat reports the player's position. The stretch since the previous heartbeat counts only when the
position moved forward by no more than the wall-clock time that passed (plus a little slack for timer jitter);
a jump ahead (seeking, a forged position, playing at 16x) re-anchors without counting. Counted stretches are
kept as merged intervals, so watching the same minute twice counts it once."""
from __future__ import annotations

SLACK_RATIO = 1.1  # playbackRate 1 plus timer jitter
SLACK_S = 1.0


def counted(anchor_s: float | None, elapsed_s: float, position_s: float) -> float:
    """Seconds from the anchor to `position_s` that count as played, 0 when the move was not plausible."""
    if anchor_s is None:
        return 0.0
    moved = position_s - anchor_s
    if moved <= 0 or moved > max(0.0, elapsed_s) * SLACK_RATIO + SLACK_S:
        return 0.0
    return moved


def merge(intervals: list[list[float]], start: float, end: float) -> list[list[float]]:
    """The union of `intervals` and [start, end], sorted, overlapping or touching ones joined."""
    spans = sorted([*([float(a), float(b)] for a, b in intervals), [start, end]])
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1] + 1e-6:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def total(intervals: list[list[float]]) -> float:
    return sum(b - a for a, b in intervals)


def percent(played_s: float, duration_s: float) -> int:
    """Whole percent played, rounded down (89.9 % is not 90 %)."""
    if duration_s <= 0:
        return 0
    return min(100, int(played_s * 100 / duration_s + 1e-9))

"""What counts as watched: play at the pace of time, merged; a jump ahead never counts."""
from __future__ import annotations

from bot.training.progress import counted, merge, percent, total


def test_play_at_the_pace_of_time_counts() -> None:
    assert counted(10.0, 5.0, 15.0) == 5.0
    assert counted(10.0, 5.2, 15.5) == 5.5  # timer jitter


def test_seeking_ahead_does_not_count() -> None:
    assert counted(0.0, 5.0, 60.0) == 0.0
    assert counted(0.0, 0.0, 2.0) == 0.0  # a 2 s jump with no time passing
    assert counted(30.0, 5.0, 10.0) == 0.0  # backwards
    assert counted(None, 5.0, 5.0) == 0.0  # no anchor yet


def test_playing_fast_counts_nothing() -> None:
    assert counted(0.0, 5.0, 80.0) == 0.0  # 16x


def test_rewatching_counts_once() -> None:
    spans = merge(merge(merge([], 0, 5), 3, 8), 20, 25)
    assert spans == [[0, 8], [20, 25]] and total(spans) == 13
    assert percent(total(spans), 100) == 13
    assert percent(89.99, 100) == 89

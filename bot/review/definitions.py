"""Footnotes for a KPI whose definition changed between the compared periods (e.g. the micro-stop threshold).

The settings keep no history of their own, so the plant lists its changes in `[[review.definition_changes]]`
(date, kpi, text); a change marks every column whose comparison with this month spans its date, and this month
itself when the change fell inside it (the month then mixes both definitions)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.review.kpis import Window
from bot.review.settings import REVIEW_KPIS, DefinitionChange

COLUMN_WORDS = {"this": "本月", "last": "上月", "last_year": "去年同月", "baseline": "基线"}


@dataclass(frozen=True)
class DefinitionNote:
    day: date  # the first plant-local day of the new definition
    kpi: str
    text: str
    columns: tuple[str, ...]  # this, last, last_year, baseline: whose figure or comparison the change touches

    @property
    def column_words(self) -> str:
        return "、".join(COLUMN_WORDS[c] for c in self.columns)


def spans(window: Window, this: Window, day: date) -> bool:
    """True when `day` (a new definition's first day) falls after the earlier period began and by the later's end."""
    first, last = min(window.first, this.first), max(window.last, this.last)
    return first < day <= last


def definition_notes(changes: list[DefinitionChange], windows: dict[str, Window | None],
                     with_data: set[str] | None = None) -> dict[str, list[DefinitionNote]]:
    """`with_data`: the columns that have figures (a column without data compares nothing); None: all of them."""
    this = windows["this"]
    assert this is not None
    notes: dict[str, list[DefinitionNote]] = {}
    for change in sorted(changes, key=lambda c: c.date):
        day = date.fromisoformat(change.date)
        columns = tuple(name for name, window in windows.items() if window is not None
                        and (with_data is None or name in with_data) and (
            (name == "this" and this.first < day <= this.last) or (name != "this" and spans(window, this, day))))
        if not columns:
            continue
        for kpi in REVIEW_KPIS if change.kpi == "*" else (change.kpi,):
            notes.setdefault(kpi, []).append(DefinitionNote(day, kpi, change.text, columns))
    return notes

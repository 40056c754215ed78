"""Turning the text columns of an import file into typed values, noting every bad cell by its row."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SLASHED = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})")
FIRST_DATA_ROW = 2  # row 1 of a sheet is the header


class ImportFileError(ValueError):
    """The file as a whole is unusable (unreadable, wrong format, required columns missing)."""


def require_columns(columns: list[str], required: tuple[str, ...], kind: str) -> None:
    missing = [name for name in required if name not in columns]
    if missing:
        raise ImportFileError(f"{kind}: missing column(s) {', '.join(missing)}; expected {', '.join(required)}")


@dataclass
class Problems:
    """Reasons per row (by position among the rows read); a row with any reason is rejected. `row_numbers`
    holds the row a spreadsheet shows for each position (blank rows are skipped, so they can differ)."""

    count: int
    reasons: dict[int, list[str]] = field(default_factory=dict)
    already_loaded: set[int] = field(default_factory=set)
    row_numbers: np.ndarray | None = None

    def extend(self, part: Problems, row_numbers: np.ndarray) -> None:
        """Appends the problems of the next chunk of the file."""
        for position, texts in part.reasons.items():
            self.reasons.setdefault(self.count + position, []).extend(texts)
        self.already_loaded.update(self.count + position for position in part.already_loaded)
        known = self.row_numbers if self.row_numbers is not None else np.arange(self.count) + FIRST_DATA_ROW
        self.row_numbers = np.concatenate([known, np.asarray(row_numbers, dtype=np.int64)])
        self.count += part.count

    def row_of(self, positions: pd.Series | np.ndarray) -> np.ndarray:
        """The spreadsheet row number of each position (to name the other row of a duplicate or overlap)."""
        positions = np.asarray(positions, dtype=np.int64)
        return positions + FIRST_DATA_ROW if self.row_numbers is None else self.row_numbers[positions]

    def add(self, mask: np.ndarray | pd.Series, reason: str | pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool)
        positions = np.flatnonzero(mask)
        texts = (reason.to_numpy()[positions] if isinstance(reason, pd.Series)
                 else [reason] * len(positions))
        for position, text in zip(positions.tolist(), texts, strict=True):
            self.reasons.setdefault(position, []).append(str(text))

    def add_loaded(self, mask: np.ndarray | pd.Series, reason: str) -> None:
        """Rows already in the database: rejected, but they do not stop the rest from loading."""
        self.add(mask, reason)
        self.already_loaded.update(np.flatnonzero(np.asarray(mask, dtype=bool)).tolist())

    @property
    def bad(self) -> np.ndarray:
        flags = np.zeros(self.count, dtype=bool)
        flags[list(self.reasons)] = True
        return flags

    @property
    def blocking(self) -> bool:
        return any(position not in self.already_loaded for position in self.reasons)

    def listing(self) -> list[tuple[int, str]]:
        """(file row number, reasons) sorted by row."""
        rows = self.row_numbers
        return [(int(rows[position]) if rows is not None else position + FIRST_DATA_ROW, "; ".join(texts))
                for position, texts in sorted(self.reasons.items())]


def missing(frame: pd.DataFrame, columns: tuple[str, ...], problems: Problems) -> None:
    for name in columns:
        problems.add(frame[name] == "", f"{name}: missing")


def parse_times(text: pd.Series, tz: str, name: str, problems: Problems,
                date_only_end_of_day: bool = False) -> pd.Series:
    """UTC timestamps; text with an offset keeps it, text without one is plant-local wall time."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    given = text != ""
    text = text.str.replace(_SLASHED, lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", regex=True)
    with_offset = given & text.str.contains(_OFFSET)
    if with_offset.any():
        out[with_offset] = pd.to_datetime(text[with_offset], utc=True, errors="coerce", format="ISO8601")
    local = given & ~with_offset
    if local.any():
        naive = pd.to_datetime(text[local], errors="coerce", format="ISO8601")
        if date_only_end_of_day:
            whole_day = text[local].str.match(_DATE_ONLY)
            naive = naive.where(~whole_day, naive + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))
        out[local] = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    problems.add(given & out.isna(), f"{name}: not a date/time (use ISO 8601, e.g. 2026-01-05 08:00 or "
                                     f"2026-01-05T08:00+08:00)")
    return out


def parse_counts(text: pd.Series, name: str, problems: Problems, positive: bool = False) -> pd.Series:
    """Whole numbers >= 0 (> 0 when positive); bad cells become 0 and a reason."""
    text = text.str.replace(r"[,_\s]", "", regex=True)  # 19,271 and 19 271 are 19271
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = (text != "") & (numbers.isna() | ~np.isfinite(numbers.fillna(0)) | (numbers != numbers.round())
                          | (numbers < (1 if positive else 0)))
    problems.add(bad, f"{name}: must be a whole number {'> 0' if positive else '>= 0'}")
    return numbers.where(~bad).fillna(0).astype(np.int64)


def parse_positive(text: pd.Series, name: str, problems: Problems) -> pd.Series:
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = (text != "") & (numbers.isna() | ~np.isfinite(numbers.fillna(1)) | (numbers <= 0))
    problems.add(bad, f"{name}: must be a number > 0")
    return numbers.where(~bad).fillna(1.0).astype(np.float64)


def duplicates_in_file(keys: pd.DataFrame | pd.Series, what: str, problems: Problems,
                       only: np.ndarray | None = None) -> None:
    """Every repeat of a key after its first row is rejected, naming that first row."""
    frame = keys.to_frame() if isinstance(keys, pd.Series) else keys
    if only is not None:
        frame = frame[only]
    repeated = frame.duplicated(keep="first")
    if not repeated.any():
        return
    first = frame.reset_index().groupby(list(frame.columns), sort=False)["index"].transform("first")
    first.index = frame.index
    mask = pd.Series(False, index=keys.index)
    mask[repeated[repeated].index] = True
    first_row = pd.Series(problems.row_of(first), index=first.index).astype(str)
    reason = ("duplicate " + what + " (same as row " + first_row + ")")
    problems.add(mask.to_numpy(), reason.reindex(keys.index).fillna(""))

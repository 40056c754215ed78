"""What every import kind needs besides the file: the database session and the plant's calendar."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.plant_calendar import ShiftSettings

UPDATE_COLUMN = "update_id"  # a kind that changes existing rows puts their ids here (the summary counts them)


@dataclass
class ImportContext:
    session: AsyncSession
    tz: str
    shifts: list[ShiftSettings]
    plant_name: str
    now: datetime
    settings: Any = None  # the whole Settings, for a kind that needs its feature's section (issues)


async def code_map(session: AsyncSession, code_column: Any, id_column: Any) -> dict[str, int]:
    """code -> id of a master table, for vectorised lookups with Series.map."""
    rows = (await session.execute(select(code_column, id_column))).all()
    return {str(code): int(row_id) for code, row_id in rows}


def lookup(values: pd.Series, mapping: dict[str, int]) -> pd.Series:
    """Ids of codes (nullable Int64, <NA> where unknown)."""
    return values.map(mapping).astype("Int64")


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return value
    if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (aware datetimes, ints, None for missing) for a bulk insert."""
    columns = {name: [_plain(v) for v in frame[name].astype(object)] for name in frame.columns}
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]

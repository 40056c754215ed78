"""The review's fast month loader returns exactly what the KPI engine's own loader returns, column by column, so
the review's figures are the engine's figures (on PostgreSQL it is the engine's loader itself)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bot.kpi.data import load_frames
from bot.review.frames import month_frames
from tests.bot.review.support import NOW, review_overrides, seed_history, utc
from tests.conftest import make_settings

pytestmark = pytest.mark.db


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as objects with None for missing (pandas' str dtype and object hold the same strings)."""
    out = frame.reset_index(drop=True).copy()
    for name in out.columns:
        if not pd.api.types.is_datetime64_any_dtype(out[name]) and not pd.api.types.is_numeric_dtype(out[name]):
            column = out[name].astype(object)
            out[name] = column.where(column.notna(), None)
    return out


@pytest.mark.parametrize("window", [(utc(11, 1, 0), utc(12, 1, 0)), (utc(10, 10, 13), utc(11, 30, 16)),
                                    (utc(12, 1, 0), utc(12, 1, 1))])
async def test_fast_month_frames_equal_the_engines_loader(session_factory, db_url: str, tmp_path: Path,
                                                          window) -> None:
    await seed_history(session_factory, tmp_path)
    settings = make_settings(db_url, **review_overrides(tmp_path))
    start, end = window
    output = {"M2": "counters"}
    async with session_factory() as session:
        expected = await load_frames(session, start, end, NOW, output=output)
        got, details = await month_frames(session, start, end, NOW, output=output)
    for name in ("machines", "states", "reports", "work_orders", "alerts", "counts"):
        mine, theirs = getattr(got, name), getattr(expected, name)
        assert list(mine.columns) == list(theirs.columns), name
        if len(theirs):
            pd.testing.assert_frame_equal(plain(mine), plain(theirs), check_dtype=False, obj=name)
        else:
            assert len(mine) == 0, name
    assert len(expected.states) > 0 or start >= utc(12, 1, 0)
    if not db_url.startswith("sqlite"):
        assert details is None  # elsewhere the review reads load_frames itself and counts the reports in SQL
        return
    assert details is not None and len(details) == len(got.reports)  # the same reports, one row each
    assert details["scrap"].tolist() == got.reports["scrap"].tolist()
    assert settings.feature("review").baseline is not None


async def test_adoption_and_scrap_from_the_loaded_reports_equal_their_sql(session_factory, db_url: str,
                                                                          tmp_path: Path) -> None:
    from bot.review import activity, month, paretos
    from tests.bot.review.support import add_extras

    await seed_history(session_factory, tmp_path)
    await add_extras(session_factory)  # a rejected report, a late one, scrap without a reason
    start, end = utc(10, 31, 16), utc(11, 30, 16)  # November in Shanghai
    if not db_url.startswith("sqlite"):
        pytest.skip("the loaded-reports path is SQLite's; elsewhere adoption and scrap are the SQL below")
    async with session_factory() as session:
        _, details = await month_frames(session, start, end, NOW)
        for line_id, code in ((None, None), (1, "L1"), (2, "L2")):
            machines = (await load_frames(session, start, end, NOW)).machines
            mine = details if code is None else details[details["machine"].isin(
                machines.loc[machines["line"] == code, "machine"])]
            fast = await activity.adoption(session, start, end, line_id=line_id, details=mine)
            slow = await activity.adoption(session, start, end, line_id=line_id)
            assert (fast.by_source, fast.active_by_role, fast.corrections, fast.rejections) == (
                slow.by_source, slow.active_by_role, slow.corrections, slow.rejections), code
            assert month.scrap_pieces(mine) == await paretos.scrap_pieces(session, start, end, line_id=line_id)
    assert slow.reports > 0

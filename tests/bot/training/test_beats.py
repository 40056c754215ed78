"""Heartbeats written in batches: beats that arrive together share one transaction, each still counted in arrival
order against its own view, two tabs of one member lose nothing, and a beat for a view that is not its key's is
refused without sinking the others. On PostgreSQL the rows are locked in id order (CI runs this there too)."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.models import User
from bot.models.training import TrainingProgress, TrainingVersion
from bot.training.beats import _writers, record_beat
from bot.training.catalog import load_catalog
from bot.training.errors import TrainingRefused
from bot.training.service import TrainingService
from bot.training.settings import TrainingSettings
from bot.training.signed import BeatKey
from tests.bot.training.support import media_copy

pytestmark = pytest.mark.db
T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


async def open_views(sessions: async_sessionmaker[AsyncSession], settings: TrainingSettings,
                     users: int, tabs: int = 1) -> list[BeatKey]:
    catalog = load_catalog(settings.catalog_path, settings.media_path)
    keys = []
    async with sessions.begin() as session:
        people = [User(wecom_userid=f"op{n}", name=f"op{n}", roles=["operator"]) for n in range(users)]
        session.add_all(people)
        await session.flush()
        service = TrainingService(session, settings, T0, catalog)
        session.add(TrainingVersion(code="SAFE-01", version=1, trial_started_at=T0, released_at=T0))
        await session.flush()
        for user in people:
            for _ in range(tabs):
                item, _row, view, _state = await service.open(user, "SAFE-01", "page")
                keys.append(BeatKey(view.id, user.id, item.code, item.version))
    return keys


Sessions = async_sessionmaker[AsyncSession]


async def test_beats_that_arrive_together_share_one_batch(engine: AsyncEngine, session_factory: Sessions,
                                                           tmp_path: Path) -> None:
    settings = TrainingSettings(media_dir=str(media_copy(tmp_path / "media")))
    catalog = load_catalog(settings.catalog_path, settings.media_path)
    keys = await open_views(session_factory, settings, users=10)

    async def beat(key: BeatKey, position: float, at: float, seek: bool = False) -> object:
        return await record_beat(engine, settings, catalog, key, position, seek=seek, now=T0 + timedelta(seconds=at))

    await asyncio.gather(*(beat(k, 0, 0, seek=True) for k in keys))
    writer = _writers[engine.sync_engine]
    before = writer.batches
    forged = BeatKey(keys[0].view_id, keys[1].user_id, "SAFE-01", 1)  # someone else's view
    results = await asyncio.gather(*(beat(k, 5, 5) for k in keys), beat(forged, 5, 5), return_exceptions=True)
    assert writer.batches == before + 1
    assert [r.percent for r in results[:-1]] == [83] * 10  # type: ignore[union-attr]
    assert isinstance(results[-1], TrainingRefused) and results[-1].reason == "no_view"
    async with session_factory() as session:
        rows = list(await session.scalars(select(TrainingProgress)))
    assert len(rows) == 10 and all(r.played == [[0.0, 5.0]] and r.position_s == 5.0 for r in rows)


async def test_two_tabs_of_one_member_in_one_batch_lose_nothing(engine: AsyncEngine, session_factory: Sessions,
                                                                tmp_path: Path) -> None:
    settings = TrainingSettings(media_dir=str(media_copy(tmp_path / "media")))
    catalog = load_catalog(settings.catalog_path, settings.media_path)
    first, second = await open_views(session_factory, settings, users=1, tabs=2)
    await asyncio.gather(record_beat(engine, settings, catalog, first, 0, seek=True, now=T0),
                         record_beat(engine, settings, catalog, second, 3, seek=True, now=T0))
    later = T0 + timedelta(seconds=2)
    a, b = await asyncio.gather(record_beat(engine, settings, catalog, first, 2, seek=False, now=later),
                                record_beat(engine, settings, catalog, second, 5, seek=False, now=later))
    assert (a.counted_s, b.counted_s) == (2.0, 2.0)
    async with session_factory() as session:
        [row] = list(await session.scalars(select(TrainingProgress)))
    assert row.played == [[0.0, 2.0], [3.0, 5.0]] and row.played_s == 4.0


async def test_postgres_writes_only_rows_nobody_changed_since_the_read(engine: AsyncEngine, session_factory: Sessions,
                                                                       tmp_path: Path) -> None:
    """Another replica wrote the row between our read and our write: the conditional statement leaves it alone."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the conditional batch statement is PostgreSQL's (SQLite has one writer)")
    from bot.training.beats import _write_progress_pg

    settings = TrainingSettings(media_dir=str(media_copy(tmp_path / "media")))
    await open_views(session_factory, settings, users=2)
    async with session_factory() as session:
        first, second = list(await session.scalars(select(TrainingProgress).order_by(TrainingProgress.id)))
    states = {row.id: {"b_progress_id": row.id, "was": was, "b_played": [[0.0, 1.0]], "b_played_s": 1.0,
                       "b_position_s": 1.0, "b_now": T0, "b_completed_at": None}
              for row, was in ((first, 0.0), (second, 0.5))}  # the second row's played_s is no longer 0.5
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        assert await _write_progress_pg(conn, states) == {first.id}
    async with session_factory() as session:
        rows = {r.id: r.played for r in await session.scalars(select(TrainingProgress))}
    assert rows == {first.id: [[0.0, 1.0]], second.id: []}

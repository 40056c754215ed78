"""Trial and release of catalog versions: a version opsbot has not seen starts its trial now (seed users
only) and reaches everyone when promoted or `trial_days` later. Rows are inserted conflict-free, so two
replicas (or two batched callbacks) seeing a new version at once make one row."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models.training import TrainingVersion
from bot.training.catalog import Catalog
from bot.training.settings import TrainingSettings


def is_released(version: TrainingVersion, settings: TrainingSettings, now: datetime) -> bool:
    if version.released_at is not None and version.released_at <= now:
        return True
    return now >= version.trial_started_at + timedelta(days=settings.trial_days)


def released_at(version: TrainingVersion, settings: TrainingSettings) -> datetime:
    """When it reached (or will reach) everyone."""
    auto = version.trial_started_at + timedelta(days=settings.trial_days)
    return min(version.released_at, auto) if version.released_at else auto


async def current_versions(session: AsyncSession, catalog: Catalog, now: datetime) -> dict[str, TrainingVersion]:
    """The row of each item's catalog version, made (trial starting now) where missing."""
    wanted = {(i.code, i.version) for i in catalog.items.values()}
    rows = await _rows(session, catalog)
    missing = wanted - set(rows)
    if missing:
        dialect = session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TrainingVersion)
        await session.execute(insert.on_conflict_do_nothing(index_elements=["code", "version"]),
                              [{"code": c, "version": v, "trial_started_at": now} for c, v in sorted(missing)])
        rows = await _rows(session, catalog)
    return {code: rows[(code, item.version)] for code, item in catalog.items.items()}


async def _rows(session: AsyncSession, catalog: Catalog) -> dict[tuple[str, int], TrainingVersion]:
    codes = list(catalog.items)
    if not codes:
        return {}
    found = await session.scalars(select(TrainingVersion).where(TrainingVersion.code.in_(codes)))
    return {(r.code, r.version): r for r in found}


async def release(session: AsyncSession, catalog: Catalog, code: str, now: datetime,
                  by_user_id: int | None = None) -> TrainingVersion | None:
    """Promotes the current version of `code` to everyone; None for an unknown code. Idempotent."""
    if code not in catalog.items:
        return None
    version = (await current_versions(session, catalog, now))[code]
    if version.released_at is None:
        version.released_at, version.released_by = now, by_user_id
    return version

"""The demo's training: ~8 items across roles, two seed users mid-trial, a week of views."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import utcnow
from bot.models import User
from bot.models.training import TrainingProgress, TrainingRating, TrainingVersion, TrainingView
from bot.training.versions import is_released
from opsbot.demo.seed import seed_if_empty
from opsbot.demo.training import IN_TRIAL, seed_training
from tests.conftest import make_settings


async def test_demo_training_has_a_trial_and_a_week_of_views(
        session_factory: async_sessionmaker[AsyncSession], tmp_path: Path, db_url: str) -> None:
    settings = make_settings(db_url, training={"media_dir": str(tmp_path / "media")})
    now = utcnow()
    await seed_if_empty(session_factory, now, settings.tz)
    async with session_factory.begin() as session:
        counts = await seed_training(session, settings, now)
    assert (tmp_path / "media" / "safety.mp4").stat().st_size > 10_000  # made here, not downloaded
    assert counts["training items"] >= 8
    training = settings.feature("training")
    async with session_factory() as session:
        versions = list(await session.scalars(select(TrainingVersion)))
        assert sorted(v.code for v in versions if not is_released(v, training, now)) == sorted(IN_TRIAL)
        seeds = list(await session.scalars(select(User).where(User.is_seed.is_(True))))
        assert len(seeds) == 2
        trial_progress = list(await session.scalars(select(TrainingProgress).where(
            TrainingProgress.code.in_(IN_TRIAL))))
        assert trial_progress and {p.user_id for p in trial_progress} <= {u.id for u in seeds}
        assert await session.scalar(select(func.count()).select_from(TrainingRating)) == 1
        opened = list(await session.scalars(select(TrainingView.opened_at)))
        assert len(opened) >= 20 and min(opened) >= now - timedelta(days=7)
        assert len({(now - at).days for at in opened}) >= 5  # spread over the week

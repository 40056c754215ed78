"""The demo's training: the clips made on this machine, most items released a week ago, two items in trial
with the two seed users mid-way (one rated, one half-watched), and a week of views so the figures mean
something at once."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import User
from bot.models.training import TrainingProgress, TrainingRating, TrainingVersion, TrainingView
from bot.settings import Settings
from bot.training.catalog import Catalog, load_catalog
from bot.training.media import ensure_demo_media

IN_TRIAL = ("ANDON-01", "QC-02")


def demo_catalog(settings: Settings) -> Catalog:
    training = settings.feature("training")
    ensure_demo_media(training.media_path)
    return load_catalog(training.catalog_path, training.media_path)


async def seed_training(session: AsyncSession, settings: Settings, now: datetime) -> dict[str, int]:
    catalog = demo_catalog(settings)
    for code, item in catalog.items.items():
        trial = code in IN_TRIAL
        session.add(TrainingVersion(code=code, version=item.version,
                                    trial_started_at=now - timedelta(days=2 if trial else 14),
                                    released_at=None if trial else now - timedelta(days=7)))
    users = list(await session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
    views = 0
    for n, user in enumerate(users):
        mine = [i for i in catalog.items.values() if set(i.roles) & set(user.roles) and i.playable
                and (i.code not in IN_TRIAL or user.is_seed)]
        for k, item in enumerate(mine):
            share = ((n * 7 + k * 3) % 10) / 9  # 0..1, varied per member and item
            if share < 0.2:
                continue
            played = round(item.duration_s * min(1.0, share + 0.1), 1)
            at = now - timedelta(days=(n + k) % 7, hours=(n * 5 + k) % 9 + 1)
            done = played >= item.duration_s * 0.9 and item.code not in IN_TRIAL
            session.add(TrainingProgress(user_id=user.id, code=item.code, version=item.version,
                                         duration_s=item.duration_s, played=[[0.0, played]], played_s=played,
                                         position_s=0.0 if done else played, quiz_score=3 if done else None,
                                         quiz_passed=True if done and item.quiz else None,
                                         completed_at=at if done else None, updated_at=at))
            session.add(TrainingView(user_id=user.id, code=item.code, version=item.version,
                                     source="scan" if (n + k) % 3 else "chat", opened_at=at, watched_s=played))
            views += 1
    seeds = [u for u in users if u.is_seed]
    if seeds:
        session.add(TrainingRating(user_id=seeds[0].id, code=IN_TRIAL[0], version=catalog.items[IN_TRIAL[0]].version,
                                   verdict="useful", comment="很实用，建议加上停机原因的例子", rated_at=now))
    return {"training views": views, "training items": len(catalog.items)}

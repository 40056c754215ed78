"""Seed users first: a version in trial goes on a card to the seed users of its roles (who rate it) and to the
promoters (who may release it early); ratings and the release keep those cards up to date."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cards
from bot.models import User
from bot.models.training import TrainingRating
from bot.people import holds, users_with_roles
from bot.templates import Templates
from bot.training import cards as trial_cards
from bot.training.catalog import Catalog, Item
from bot.training.settings import TrainingSettings
from bot.training.versions import current_versions, is_released, release

VERDICTS = ("useful", "improve")


def page_url(base_url: str, code: str, source: str = "chat") -> str:
    return f"{base_url}/h5/training/{code}?from={source}"


class Trials:
    def __init__(self, session: AsyncSession, settings: TrainingSettings, catalog: Catalog, templates: Templates,
                 base_url: str, now: datetime) -> None:
        self.session, self.settings, self.catalog = session, settings, catalog
        self.templates, self.base_url, self.now = templates, base_url, now

    async def audience(self, item: Item) -> tuple[list[User], set[str]]:
        """Seed users of the item's roles and the promoters; also the ids of those who rate (the seed users)."""
        raters = [u for u in await users_with_roles(self.session, item.roles, seed_only=True)]
        promoters = await users_with_roles(self.session, ["admin", *self.settings.promoter_roles])
        people = {u.id: u for u in [*raters, *promoters]}
        return list(people.values()), {u.wecom_userid for u in raters}

    async def announce(self) -> int:
        """Trial cards for every version in trial to whoever has not had theirs (new seed users included)."""
        sent = 0
        versions = await current_versions(self.session, self.catalog, self.now)
        for code, item in self.catalog.items.items():
            if is_released(versions[code], self.settings, self.now) or not item.playable:
                continue
            people, raters = await self.audience(item)
            keys = {trial_cards.card_key(code, item.version, u.wecom_userid): u for u in people}
            done = set(await cards.keys_sent(self.session, list(keys)))
            for key, user in keys.items():
                if key in done:
                    continue
                trial_cards.send_trial(self.session, self.templates, item, user.wecom_userid,
                                       url=page_url(self.base_url, code), rater=user.wecom_userid in raters,
                                       promoter=holds(user, "admin", *self.settings.promoter_roles), now=self.now)
                sent += 1
        return sent

    async def rate(self, user: User, code: str, version: int, verdict: str, comment: str | None = None) -> bool:
        """Records (or replaces) the member's verdict on that version; False for a version not in the catalog."""
        item = self.catalog.get(code)
        if item is None or item.version != version or verdict not in VERDICTS:
            return False
        row = await self.session.scalar(select(TrainingRating).where(
            TrainingRating.user_id == user.id, TrainingRating.code == code, TrainingRating.version == version))
        if row is None:
            row = TrainingRating(user_id=user.id, code=code, version=version, verdict=verdict, rated_at=self.now)
            self.session.add(row)
        row.verdict, row.rated_at = verdict, self.now
        if comment is not None:
            row.comment = comment[:500]
        await self.session.flush()
        await self.follow(item, user)
        return True

    async def release(self, code: str, by: User | None) -> Item | None:
        item = self.catalog.get(code)
        if item is None:
            return None
        await release(self.session, self.catalog, code, self.now, by.id if by else None)
        people, _ = await self.audience(item)
        for person in people:
            await self.follow(item, person)
        return item

    async def follow(self, item: Item, user: User) -> None:
        """The member's trial card shows their rating and whether the version is out."""
        versions = await current_versions(self.session, self.catalog, self.now)
        released = is_released(versions[item.code], self.settings, self.now)
        rating = await self.session.scalar(select(TrainingRating).where(
            TrainingRating.user_id == user.id, TrainingRating.code == item.code,
            TrainingRating.version == item.version))
        userid = user.wecom_userid
        rater = user.is_seed and bool(set(user.roles) & set(item.roles))

        def card_for(_: str) -> dict[str, object]:
            return trial_cards.trial_card(self.templates, item, userid, url=page_url(self.base_url, item.code),
                                          promoter=holds(user, "admin", *self.settings.promoter_roles),
                                          rater=rater, rating=rating, released=released)
        await cards.refresh(self.session, trial_cards.card_key(item.code, item.version, userid), card_for,
                            now=self.now)

    async def ratings(self, code: str) -> list[TrainingRating]:
        item = self.catalog.get(code)
        if item is None:
            return []
        return list(await self.session.scalars(select(TrainingRating).where(
            TrainingRating.code == code, TrainingRating.version == item.version).order_by(TrainingRating.id)))

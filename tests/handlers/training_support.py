"""A plant for the training tests: two lines, seed and ordinary members, and a phone (a browser inside WeCom)
for one member, logged in through the sandbox's OAuth page."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from sqlalchemy import select

from bot.models import Line, Plant
from bot.models.training import TrainingProgress, TrainingView
from tests.conftest import Stack


async def seed_plant(stack: Stack) -> dict[str, int]:
    async with stack.services.sessions.begin() as session:
        plant = Plant(code="P1", name="测试工厂")
        session.add(plant)
        await session.flush()
        lines = [Line(plant_id=plant.id, code="L1", name="机加线"), Line(plant_id=plant.id, code="L2", name="装配线")]
        session.add_all(lines)
        await session.flush()
        ids = {line.code: line.id for line in lines}
    await stack.add_user("seed1", "种子张", ["operator"], line_id=ids["L1"], is_seed=True)
    await stack.add_user("op1", "操作王", ["operator"], line_id=ids["L1"])
    await stack.add_user("lead1", "班长赵", ["team_lead"], line_id=ids["L1"])
    await stack.add_user("pm1", "项目钱", ["pm"])
    return ids


@asynccontextmanager
async def phone(stack: Stack, userid: str) -> AsyncIterator[aiohttp.ClientSession]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, headers={"Origin": stack.bot_url}) as http:
        jar.update_cookies({"sandbox_user": userid}, response_url=aiohttp.client.URL(stack.sandbox.base_url))
        yield http


async def release_all(stack: Stack) -> None:
    """Ends every trial (as `opsbot training release` would for each item)."""
    from bot.training.catalog import load_catalog
    from bot.training.versions import current_versions

    settings = stack.services.settings.feature("training")
    catalog = load_catalog(settings.catalog_path, settings.media_path)
    async with stack.services.sessions.begin() as session:
        for version in (await current_versions(session, catalog, stack.services.clock())).values():
            version.released_at = stack.services.clock()


async def progress_of(stack: Stack, code: str) -> list[TrainingProgress]:
    async with stack.services.sessions() as session:
        return list(await session.scalars(select(TrainingProgress).where(TrainingProgress.code == code)))


async def views_of(stack: Stack, code: str) -> list[TrainingView]:
    async with stack.services.sessions() as session:
        return list(await session.scalars(select(TrainingView).where(TrainingView.code == code)))

"""Schema migrations with Alembic, driven from code so `opsbot db upgrade` needs no alembic.ini."""
from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Runs in a thread because Alembic's env starts its own event loop."""
    await asyncio.to_thread(upgrade_sync, url, revision)


async def ensure_schema(url: str) -> None:
    """Migrates a fresh or already-migrated database before first use; a schema built straight from the
    models (as the tests do) has no migration history and is left as it is."""
    from sqlalchemy import inspect

    from bot.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    if "alembic_version" in tables or "users" not in tables:
        await upgrade(url)

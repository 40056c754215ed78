"""`opsbot db upgrade` builds exactly the schema the models describe, on SQLite and on PostgreSQL."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import bot.models  # noqa: F401
from bot.db import Base
from bot.migrate import upgrade

pytestmark = pytest.mark.db


async def test_upgrade_matches_the_models(engine: AsyncEngine, db_url: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await upgrade(db_url)
    await upgrade(db_url)  # repeating is harmless

    def diff(sync_conn) -> list:  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == [], "models changed without a migration: run `make migration`"
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_db_upgrade_command(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "x.db"}"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "opsbot.cli", "--config", str(config), "db", "upgrade"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "database at head" in result.stdout

"""A broken training catalog is reported when the bot starts, one warning line per problem."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from opsbot.app import create_app
from tests.conftest import make_settings


async def test_catalog_problems_are_logged_at_start(tmp_path: Path, aiohttp_server, caplog: pytest.LogCaptureFixture,
                                                    db_url: str, engine) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text('[[item]]\ncode = "BAD CODE"\ntitle = "坏条目"\n', encoding="utf-8")
    settings = make_settings(db_url, training={"catalog": str(catalog), "media_dir": str(tmp_path)})
    with caplog.at_level(logging.WARNING, logger="opsbot.app"):
        await aiohttp_server(create_app(settings, run_sender=False, run_scheduler=False))
    lines = [r.getMessage() for r in caplog.records if r.name == "opsbot.app"]
    assert any(line.startswith("training catalog: item 1") and "code" in line for line in lines), lines

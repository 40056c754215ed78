"""`opsbot qr labels --kind patrol`, `opsbot patrols status` and `opsbot export patrols` against a real database."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.patrols.kickoff import dispatch_due_rounds
from bot.templates import Templates
from tests.bot.patrols.support import PATROLS, SHIFT_D, seed_plant
from tests.conftest import make_settings

pytestmark = pytest.mark.db


def opsbot(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opsbot.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120)


async def test_labels_status_and_export(session_factory: async_sessionmaker[AsyncSession], db_url: str,
                                        tmp_path: Path) -> None:
    settings = make_settings(db_url, patrols=dict(PATROLS))
    async with session_factory.begin() as session:
        await seed_plant(session)
        for hours in range(0, 24, 2):  # the rounds of one fixed plant day (any wall clock: the day is given)
            await dispatch_due_rounds(session, settings, Templates(settings.tz), SHIFT_D + timedelta(hours=hours))
    day = settings.calendar.day_of(SHIFT_D)
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[qr]\nsecret = "test-qr-secret-0123456789-abcdefghij"\n'
                      '[patrols.machine_types]\nCNC = ["L1-M1", "L1-M2", "L1-M3"]\n', encoding="utf-8")
    labels = opsbot(config, "qr", "labels", "--kind", "patrol", "--out", str(tmp_path / "labels"))
    assert labels.returncode == 0, labels.stderr
    assert labels.stdout.startswith("9 labels")  # 3 checkpoints of 5S-L1, 2 of DJ-CNC on each of 3 machines
    sheet = (tmp_path / "labels" / "labels.html").read_text(encoding="utf-8")
    assert "巡检点二维码" in sheet and "机加线 5S 巡检 · 加工区" in sheet
    status = opsbot(config, "patrols", "status", "--by", "checklist", "--day", str(day))
    assert status.returncode == 0, status.stderr
    assert "DJ-CNC" in status.stdout and "合计" in status.stdout
    other = opsbot(config, "patrols", "status", "--day", str(day + timedelta(days=1)))
    assert "DJ-CNC" not in other.stdout  # another day has none of them
    out = tmp_path / "p.xlsx"
    export = opsbot(config, "export", "patrols", "--from", str(day - timedelta(days=1)), "--to", str(day),
                    "--out", str(out))
    assert export.returncode == 0, export.stderr
    assert out.stat().st_size > 1000 and "rows" in export.stdout

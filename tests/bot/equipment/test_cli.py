"""The equipment commands as a plant engineer runs them: simulate, poll --once [--json], status, export;
and config mistakes, one clear line each."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Machine
from bot.models.equipment import MachineState
from tests.bot.equipment.support import T0, free_port, seed_machines

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
MACHINE = """
[[equipment.machines]]
code = "{code}"
endpoint = "plc"
tags = {{ state = "ns=2;s={code}.State", good = "ns=2;s={code}.Good", total = "ns=2;s={code}.Total" }}
extra = {{ temperature = "ns=2;s={code}.Temperature" }}
"""


def write_config(path: Path, db_url: str, port: int, codes: list[str], extra: str = "") -> Path:
    text = f'[database]\nurl = "{db_url}"\n\n[[equipment.endpoints]]\nname = "plc"\n'
    text += f'url = "opc.tcp://127.0.0.1:{port}/opsbot/"\ntimeout_s = 2\n'
    text += "".join(MACHINE.format(code=code) for code in codes) + extra
    path.write_text(text, encoding="utf-8")
    return path


def opsbot(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opsbot.cli", "--config", str(config), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def simulated(tmp_path: Path) -> Iterator[Path]:
    """`opsbot equipment simulate` in its own process, serving the machines of the config."""
    config = write_config(tmp_path / "plant.toml", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", free_port(),
                          ["L1-M1", "L2-M1"])
    process = subprocess.Popen([sys.executable, "-m", "opsbot.cli", "--config", str(config), "equipment", "simulate",
                                "--speed", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("READY"):
            break
    else:
        raise AssertionError("simulator did not start: " + "".join(lines))
    try:
        yield config
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_poll_once_json_reads_every_machine(simulated: Path) -> None:
    done = opsbot(simulated, "equipment", "poll", "--once", "--json")
    assert done.returncode == 0, done.stderr
    [endpoint] = json.loads(done.stdout)["endpoints"]
    assert endpoint["name"] == "plc" and endpoint["ok"] is True
    machines = {m["code"]: m for m in endpoint["machines"]}
    assert machines["L1-M1"]["state"] == "running" and machines["L1-M1"]["raw_state"] == "1"
    assert machines["L2-M1"]["counters"] == {"good": 0, "total": 0}
    assert machines["L2-M1"]["tags"]["extra.temperature"] == {"value": 25.0, "status": "Good"}
    text = opsbot(simulated, "equipment", "poll", "--once")
    assert text.returncode == 0 and "L2-M1" in text.stdout and "running" in text.stdout


def test_poll_once_reports_an_unreachable_endpoint(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", free_port(), ["L1-M1"])
    done = opsbot(config, "equipment", "poll", "--once", "--json")
    assert done.returncode == 1
    [endpoint] = json.loads(done.stdout)["endpoints"]
    assert endpoint["ok"] is False and endpoint["error"] and endpoint["machines"][0]["state"] == "unknown"


def test_config_errors_are_one_clear_line_each(tmp_path: Path) -> None:
    bad = """
[[equipment.machines]]
code = "L1-M2"
endpoint = "plcx"
tags = { state = "ns=2;q=nope", good = "ns=2;s=L1-M2.Good", speed = "ns=2;s=x" }
state_map = { "1" = "runing" }

[equipment.andon]
escalate_after_min = [20, 10]
"""
    config = write_config(tmp_path / "bad.toml", "sqlite+aiosqlite:///x.db", 4840, [], bad)
    config.write_text(config.read_text().replace('timeout_s = 2', 'timeout_s = 0\nurl2 = "x"'), encoding="utf-8")
    done = opsbot(config, "equipment", "poll", "--once")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert all(line.startswith("config error: equipment.") for line in lines), lines
    expected = ["endpoints[0].timeout_s", "endpoints[0].url2: unknown key", "machines[0].tags.speed: unknown tag",
                "machines[0].tags: give two of good, total, scrap", "machines[0].tags.state:",
                "machines[0].state_map.1: 'runing' is not one of", "andon.escalate_after_min: must increase",
                "machines[0].endpoint: no endpoint named 'plcx'"]
    for fragment in expected:
        assert sum(fragment in line for line in lines) == 1, (fragment, lines)
    assert len(lines) == len(expected)


@pytest.mark.db
async def test_status_and_export_machine_states(tmp_path: Path, db_url: str,
                                                session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_machines(session_factory, ["L1-M1"])
    async with session_factory.begin() as session:
        machine_id = (await session.scalars(__import__("sqlalchemy").select(Machine.id))).one()
        session.add_all([
            MachineState(machine_id=machine_id, state="running", start_at=T0, end_at=T0 + timedelta(hours=1)),
            MachineState(machine_id=machine_id, state="down", start_at=T0 + timedelta(hours=1),
                         end_at=T0 + timedelta(hours=2), reason_code="ELEC"),
            MachineState(machine_id=machine_id, state="unknown", start_at=T0 + timedelta(hours=2))])
    config = write_config(tmp_path / "c.toml", db_url, 4840, ["L1-M1"])
    status = opsbot(config, "equipment", "status")
    assert status.returncode == 0, status.stderr
    assert "L1-M1" in status.stdout and "unknown" in status.stdout and "2026-03-02 10:00" in status.stdout
    out = tmp_path / "states.csv"
    done = opsbot(config, "export", "machine-states", "--from", "2026-03-02T08:30", "--to", "2026-03-02T09:30",
                  "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[1:] == [["L1", "L1-M1", "running", "2026-03-02 08:30:00", "2026-03-02 09:00:00", "1800.0", "",
                         "opcua", ""],
                        ["L1", "L1-M1", "down", "2026-03-02 09:00:00", "2026-03-02 09:30:00", "1800.0", "ELEC",
                         "opcua", ""]]
    xlsx = tmp_path / "states.xlsx"
    assert opsbot(config, "export", "machine-states", "--from", "2026-03-02", "--to", "2026-03-02",
                  "--format", "xlsx", "--out", str(xlsx)).returncode == 0
    sheet = load_workbook(xlsx).active
    assert sheet is not None and [c.value for c in sheet[3]][2] == "down" and sheet.max_row == 4

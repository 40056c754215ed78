"""`opsbot import` then `opsbot kpi --json` as a user runs them: separate processes, CSV files, a real DB."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.db, pytest.mark.slow]

FILES = {
    "machines": "machine,name,line,ideal_cycle_time_s\nM1,冲压机1,L1,1.0\n",
    "users": "userid,name,roles,line\nop1,张三,operator,L1\n",
    "work-orders": ("work_order,material,quantity,due,released,completed\n"
                    "WO1,MAT-A,19000,2026-01-05 15:45,2026-01-05 07:00,2026-01-05 15:30\n"
                    "WO2,MAT-A,500,2026-01-05 15:00,,\n"),
    # the textbook shift: 480 min, 60 min planned breaks, 47 min down, ideal cycle 1.0 s
    "machine-states": ("machine,state,start,end,reason\n"
                       "M1,running,2026-01-05 08:00,2026-01-05 10:00,\n"
                       "M1,planned_stop,2026-01-05 10:00,2026-01-05 10:30,break\n"
                       "M1,running,2026-01-05 10:30,2026-01-05 12:00,\n"
                       "M1,down,2026-01-05 12:00,2026-01-05 12:47,jam\n"
                       "M1,running,2026-01-05 12:47,2026-01-05 14:00,\n"
                       "M1,planned_stop,2026-01-05T06:00:00Z,2026-01-05T06:30:00Z,lunch\n"
                       "M1,running,2026-01-05 14:30,2026-01-05 16:00,\n"),
    # 19,271 made, 423 scrap (one report scrap-only)
    "reports": ("reported_at,user,work_order,operation,machine,good,scrap\n"
                "2026-01-05 12:00,op1,WO1,,M1,10000,0\n"
                "2026-01-05 13:00,op1,WO1,,M1,0,200\n"
                "2026-01-05 15:59,op1,WO1,,M1,8848,223\n"),
}


def opsbot(cwd: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
    env["OPSBOT_DATABASE_URL"] = db_url  # only the database: no WeCom secret needed
    return subprocess.run([sys.executable, "-m", "opsbot.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_worked_example_import_then_kpi_json(engine, db_url: str, tmp_path: Path) -> None:
    for kind, text in FILES.items():
        (tmp_path / f"{kind}.csv").write_text(text, encoding="utf-8")
        checked = opsbot(tmp_path, db_url, "import", kind, f"{kind}.csv", "--dry-run")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        lines = text.count("\n") - 1
        assert f"rows read {lines} = loaded 0 + rejected 0 + held back {lines}" in checked.stdout
        loaded = opsbot(tmp_path, db_url, "import", kind, f"{kind}.csv")
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        assert f"rows read {lines} = loaded {lines} + rejected 0" in loaded.stdout
    again = opsbot(tmp_path, db_url, "import", "reports", "reports.csv")
    assert again.returncode == 0 and "rows read 3 = loaded 0 + rejected 3" in again.stdout

    result = opsbot(tmp_path, db_url, "kpi", "--from", "2026-01-05T08:00", "--to", "2026-01-05T16:00+08:00",
                    "--by", "plant", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    (row,) = document["rows"]
    assert row["planned_s"] == 420 * 60 and row["run_s"] == 373 * 60 and row["down_s"] == 47 * 60
    assert (row["good"], row["scrap"], row["total"]) == (18848, 423, 19271)
    assert row["availability"] == pytest.approx(0.8881, abs=5e-5)
    assert row["performance"] == pytest.approx(0.8611, abs=5e-5)
    assert row["quality"] == pytest.approx(0.9780, abs=5e-5)
    assert row["oee"] == pytest.approx(0.7479, abs=5e-5)
    assert row["mtbf_s"] == 373 * 60 and row["mttr_s"] == 47 * 60 and row["down_events"] == 1
    # WO1 done 15:30 before its 15:45 due, WO2 (due 15:00) still open
    assert (row["orders_due"], row["orders_on_time"], row["otd"]) == (2, 1, 0.5)

    shifts = opsbot(tmp_path, db_url, "kpi", "--from", "2026-01-05", "--to", "2026-01-06", "--every", "shift",
                    "--json")
    early, day, night = json.loads(shifts.stdout)["rows"]  # the night shift of the 4th ends at 08:00
    assert (early["shift"], day["shift"], night["shift"]) == ("N", "D", "N")
    assert early["unknown_s"] == 8 * 3600 and early["planned_s"] == 0 and early["availability"] is None
    assert day["oee"] == pytest.approx(0.7479, abs=5e-5)
    assert day["unknown_s"] == 4 * 3600 and night["unknown_s"] == 4 * 3600  # 16-20 and 20-24: no data
    assert night["period_start"] == "2026-01-05T20:00:00+08:00" and night["period_end"] == "2026-01-06T00:00:00+08:00"

    table = opsbot(tmp_path, db_url, "kpi", "--from", "2026-01-05 08:00", "--to", "2026-01-05 16:00")
    assert table.returncode == 0 and "M1 01-05 08:00" in table.stdout and "74.79%" in table.stdout

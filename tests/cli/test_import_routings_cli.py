"""`opsbot import work-orders` with operation columns and `opsbot import operations`, as a planner runs them:
separate processes, a GB18030 CSV from Excel, a real database, exit codes and the reconciled summary."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROUTED = ("work_order,material,quantity,due,released,line,seq,operation,machine,planned_quantity\r\n"
          "WO1,MAT-A,500,2026-01-06,2026-01-05 07:00,L1,10,落料,M1,\r\n"
          "WO1,MAT-A,500,2026-01-06,2026-01-05 07:00,L1,20,冲压,M2,480\r\n"
          "WO2,MAT-B,80,2026-01-07,2026-01-05 07:00,L1,10,冲压,M2,\r\n")


def opsbot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
    return subprocess.run([sys.executable, "-m", "opsbot.cli", "--config", "only-db.toml", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_routings_through_the_command(engine, db_url: str, tmp_path: Path) -> None:
    (tmp_path / "only-db.toml").write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    (tmp_path / "machines.csv").write_text("machine,name,line,ideal_cycle_time_s\nM1,冲床,L1,1\nM2,压机,L1,2\n"
                                           "M3,焊机,L2,4\n", encoding="utf-8")
    (tmp_path / "users.csv").write_text("userid,name,roles,line\nop1,张三,operator,L1\n", encoding="utf-8")
    for kind in ("machines", "users"):
        assert opsbot(tmp_path, "import", kind, f"{kind}.csv").returncode == 0
    (tmp_path / "orders.csv").write_bytes(ROUTED.encode("gb18030"))

    checked = opsbot(tmp_path, "import", "work-orders", "orders.csv", "--dry-run")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "work-orders orders.csv (GB18030): dry run" in checked.stdout
    assert "rows read 3 = loaded 0 + rejected 0 + held back 3" in checked.stdout
    loaded = opsbot(tmp_path, "import", "work-orders", "orders.csv")
    assert loaded.returncode == 0 and "rows read 3 = loaded 3 + rejected 0 + held back 0" in loaded.stdout
    again = opsbot(tmp_path, "import", "work-orders", "orders.csv")
    assert again.returncode == 0 and "rows read 3 = loaded 0 + rejected 3 + held back 0" in again.stdout
    assert "row 2: operation already in the database" in again.stdout

    (tmp_path / "ops.csv").write_text("work_order,seq,operation,machine,planned_quantity\nWO2,20,焊接,M3,\n"
                                      "WO2,30,检验,M9,\nWO2,30,包装,,0\nWO2,40,包装,M1,\n", encoding="utf-8")
    bad = opsbot(tmp_path, "import", "operations", "ops.csv")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "row 2: machine: M3 is on line L2, not on the work order's line L1" in bad.stdout
    assert "row 3: machine: unknown machine M9" in bad.stdout
    assert "row 4: planned_quantity: must be a whole number > 0" in bad.stdout
    assert "rows read 4 = loaded 0 + rejected 3 + held back 1" in bad.stdout

    (tmp_path / "change.csv").write_text("work_order,seq,operation,machine\nWO2,10,冲压,M1\n", encoding="utf-8")
    changed = opsbot(tmp_path, "import", "operations", "change.csv")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert "1 of the accepted rows changed an operation already in the database" in changed.stdout

    (tmp_path / "reports.csv").write_text("reported_at,user,work_order,operation,machine,good,scrap\n"
                                          "2026-01-05 12:00,op1,WO1,20,M2,100,1\n"
                                          "2026-01-05 12:05,op1,WO2,,M1,10,0\n", encoding="utf-8")
    reports = opsbot(tmp_path, "import", "reports", "reports.csv")
    assert reports.returncode == 0 and "loaded 2 + rejected 0" in reports.stdout, reports.stdout
    (tmp_path / "back.csv").write_text("work_order,seq,operation,machine\nWO2,10,冲压,M2\n", encoding="utf-8")
    locked = opsbot(tmp_path, "import", "operations", "back.csv")
    assert locked.returncode == 1
    assert ("row 2: operation: seq 10 of WO2 already has reports and cannot change (machine M1 -> M2)"
            in locked.stdout)

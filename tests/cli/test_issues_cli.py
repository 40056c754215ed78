"""`opsbot import issues` and `opsbot export issues` as a PM runs them: separate processes, a real database,
the row-numbered report and exit codes, then an export that opens in openpyxl."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

pytestmark = [pytest.mark.db, pytest.mark.slow]


def opsbot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
    return subprocess.run([sys.executable, "-m", "opsbot.cli", "--config", "only-db.toml", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_import_then_export_issues_through_the_command(engine, db_url: str, tmp_path: Path) -> None:
    (tmp_path / "only-db.toml").write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    (tmp_path / "users.csv").write_text("userid,name,roles\nmaint1,孙师傅,maintenance\npm1,周经理,pm\n",
                                        encoding="utf-8")
    assert opsbot(tmp_path, "import", "users", "users.csv").returncode == 0
    (tmp_path / "list.csv").write_text(
        "编号,标题,类别,状态,负责人,截止日期\n"
        "Q-2025-0007,冲床异响,设备,处理中,孙师傅,2026/5/12\n"
        ",=1+2,系统问题,新建,pm1,2026年5月20日\n"
        ",扭矩偏大,设备,搁置,王五,5月32日\n", encoding="utf-8")
    bad = opsbot(tmp_path, "import", "issues", "list.csv", "--dry-run")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "row 4: status: unknown value 搁置" in bad.stdout and "owner: unknown person 王五" in bad.stdout
    assert "due: not a date" in bad.stdout
    (tmp_path / "list.csv").write_text(
        "编号,标题,类别,状态,负责人,截止日期\n"
        "Q-2025-0007,冲床异响,设备,处理中,孙师傅,2026/5/12\n"
        ",=1+2,系统问题,新建,pm1,2026年5月20日\n", encoding="utf-8")
    loaded = opsbot(tmp_path, "import", "issues", "list.csv")
    assert loaded.returncode == 0 and "rows read 2 = loaded 2 + rejected 0 + held back 0" in loaded.stdout

    out = opsbot(tmp_path, "export", "issues", "--out", "issues.xlsx")
    assert out.returncode == 0 and "2 issues -> issues.xlsx (xlsx)" in out.stdout, out.stdout + out.stderr
    sheet = load_workbook(tmp_path / "issues.xlsx").active
    titles = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    assert titles["Q-2025-0007"] == "冲床异响" and "'=1+2" in titles.values()
    csv = opsbot(tmp_path, "export", "issues", "--format", "csv", "--out", "issues.csv", "--status", "open")
    assert csv.returncode == 0
    text = (tmp_path / "issues.csv").read_text(encoding="utf-8-sig")
    assert text.startswith("编号,标题") and "'=1+2" in text

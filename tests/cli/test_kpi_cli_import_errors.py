"""The import command's contract as a user meets it: a config with only [database], XLSX, exit codes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.db, pytest.mark.slow]


def opsbot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
    return subprocess.run([sys.executable, "-m", "opsbot.cli", "--config", "only-db.toml", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_database_only_config_xlsx_and_exit_codes(engine, db_url: str, tmp_path: Path) -> None:
    (tmp_path / "only-db.toml").write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    pd.DataFrame({"machine": ["M1", "M2"], "name": ["一号机", "二号机"], "line": ["L1", "L1"],
                  "ideal_cycle_time_s": [2, 0.5]}).to_excel(tmp_path / "machines.xlsx", index=False)
    loaded = opsbot(tmp_path, "import", "machines", "machines.xlsx")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "rows read 2 = loaded 2 + rejected 0 + held back 0" in loaded.stdout
    (tmp_path / "states.csv").write_text(
        "machine,state,start,end\nM1,Running,2026-01-05 08:00,2026-01-05 09:00\n"
        "M1,idle,2026-01-05 08:30,2026-01-05 09:30\nM3,down,2026-01-05 08:00,2026-01-05 09:00\n", encoding="utf-8")
    rejected = opsbot(tmp_path, "import", "machine-states", "states.csv")
    assert rejected.returncode == 1
    assert "row 3: overlaps the interval in row 2" in rejected.stdout
    assert "row 4: machine: unknown machine M3" in rejected.stdout
    assert "rows read 3 = loaded 0 + rejected 2 + held back 1" in rejected.stdout
    missing = opsbot(tmp_path, "import", "reports", "states.csv")
    assert missing.returncode == 2 and "missing column(s)" in missing.stderr
    empty = opsbot(tmp_path, "kpi", "--from", "2026-01-05", "--to", "2026-01-05", "--by", "line", "--json")
    assert empty.returncode == 0, empty.stderr
    (row,) = json.loads(empty.stdout)["rows"]  # the whole day, no states loaded: all unknown
    assert row["line"] == "L1" and row["unknown_s"] == 2 * 86400 and row["oee"] is None
    bad_window = opsbot(tmp_path, "kpi", "--from", "2026-01-06", "--to", "2026-01-05")
    assert bad_window.returncode == 2 and "window must end after it starts" in bad_window.stderr

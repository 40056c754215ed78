"""`opsbot export training` writes the completion matrix; `opsbot qr labels --kind training` the poster sheet."""
from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from opsbot.cli import main
from tests.bot.training.support import media_copy


def config(tmp_path: Path) -> Path:
    media = media_copy(tmp_path / "media")
    path = tmp_path / "opsbot.toml"
    path.write_text(f'[training]\nmedia_dir = "{media}"\n[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/t.db"\n'
                    '[qr]\nsecret = "a-test-secret-of-at-least-thirty-two-chars"\n', encoding="utf-8")
    return path


def test_labels_and_matrix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path)
    assert main(["qr", "labels", "--kind", "training", "--out", str(tmp_path / "labels"), "--config", str(path)]) == 0
    sheet = (tmp_path / "labels" / "labels.html").read_text(encoding="utf-8")
    assert "扫码即看" in sheet and "机加工位安全须知" in sheet and sheet.count("<svg") == 8
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    out = tmp_path / "m.xlsx"
    assert main(["export", "training", "--out", str(out), "--config", str(path)]) == 0
    header = next(load_workbook(out).active.iter_rows(values_only=True))
    assert header[:4] == ("产线", "姓名", "账号", "岗位") and "SAFE-01 机加工位安全须知" in header

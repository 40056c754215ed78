"""`opsbot review --month 2026-11 --line L1 --xlsx FILE --pdf FILE`: the summary on stdout, one sheet per section
with numbers stored as numbers, and the PDF with the page's Chinese text."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from bot.db import make_engine, make_session_factory
from opsbot.cli import main
from tests.bot.review.support import CATALOG, seed_history


def config(tmp_path: Path) -> Path:
    (tmp_path / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    path = tmp_path / "opsbot.toml"
    path.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/t.db"\n'
                    f'[training]\ncatalog = "{tmp_path}/catalog.toml"\nmedia_dir = "{tmp_path}"\n'
                    '[review]\nbaseline_start = "2026-10-01"\nbaseline_end = "2026-10-31"\n', encoding="utf-8")
    return path


async def _seed(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    try:
        await seed_history(make_session_factory(engine), tmp_path)
    finally:
        await engine.dispose()


def test_review_xlsx_has_a_sheet_per_section_with_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path)
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    asyncio.run(_seed(tmp_path))
    out, pdf = tmp_path / "review.xlsx", tmp_path / "out" / "review.pdf"
    assert main(["review", "--month", "2026-11", "--line", "L1", "--xlsx", str(out), "--pdf", str(pdf),
                 "--config", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "2026-11 月度复盘" in printed and f"PDF -> {pdf}" in printed
    text = PdfReader(pdf).pages[0].extract_text()
    assert "产线 L1" in text and "55.6%" in text
    book = load_workbook(out)
    assert book.sheetnames == ["关键指标", "停机原因", "报废原因", "设备", "问题清单", "点检", "培训", "系统使用"]
    kpis = {row[1]: row for row in book["关键指标"].iter_rows(min_row=2, values_only=True)}
    oee = kpis["oee"]
    assert isinstance(oee[2], float) and oee[2] == pytest.approx(20000 / 36000)
    assert oee[3] == pytest.approx(30000 / 43200) and oee[4] is None  # last year: an empty cell, not 0
    assert oee[9] == "变差"
    downtime = list(book["停机原因"].iter_rows(min_row=2, values_only=True))
    assert downtime[0][:3] == ("JAM", "卡料", 90)
    issues = dict(book["问题清单"].iter_rows(min_row=2, values_only=True))
    assert issues == {"本月新增": 3, "本月关闭": 1, "月末未关闭": 3, "月末超期": 2}


def test_review_refuses_a_bad_month(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--month", "11/2026", "--config", str(config(tmp_path))]) == 2
    assert "YYYY-MM" in capsys.readouterr().err

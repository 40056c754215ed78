"""`opsbot qr url|labels` and `opsbot export reports` against a real database, read back as a user would."""
from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pyzbar import pyzbar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import User
from bot.plant_calendar import PlantCalendar, default_shifts
from bot.qr import QrSigner
from bot.reports.service import ReportService
from bot.reports.settings import ReportsSettings
from opsbot.cli import main

from .seed import seed

pytestmark = pytest.mark.db
SECRET = "cli-test-qr-secret-0123456789-abcdefghijklmn"  # 32+ characters: `opsbot qr` refuses shorter


def config(tmp_path: Path, db_url: str) -> str:
    path = tmp_path / "opsbot.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n[qr]\nsecret = "{SECRET}"\n'
                    '[server]\npublic_url = "https://ops.example.com"\n', encoding="utf-8")
    return str(path)


async def opsbot(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_qr_url_prints_a_verifiable_payload(tmp_path: Path, db_url: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert await opsbot("--config", config(tmp_path, db_url), "qr", "url", "--kind", "op",
                        "--id", "WO-001", "--id", "10") == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://ops.example.com/h5/q/")
    assert QrSigner(SECRET, "https://x").verify(url).ids == ("WO-001", "10")
    assert await opsbot("--config", config(tmp_path, db_url), "qr", "url", "--kind", "op", "--id", "WO-1") == 2


async def test_labels_from_the_database_decode_back(tmp_path: Path, db_url: str,
                                                    session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed(session_factory)
    out = tmp_path / "labels"
    assert await opsbot("--config", config(tmp_path, db_url), "qr", "labels", "--kind", "op", "--line", "L1",
                        "--out", str(out)) == 0
    sheet = (out / "labels.html").read_text(encoding="utf-8")
    assert "工单 WO-001 · 工序 10" in sheet and "WO-003" not in sheet  # closed orders get no labels
    signer = QrSigner(SECRET, "https://x")
    decoded = sorted(signer.verify(symbol.data.decode()).ids for png in sorted(out.glob("*.png"))
                     for symbol in pyzbar.decode(Image.open(png)))
    assert decoded == [("WO-001", "10"), ("WO-001", "20"), ("WO-002", "10")]
    assert len(list(out.glob("*.svg"))) == 3
    machines = tmp_path / "machines"
    assert await opsbot("--config", config(tmp_path, db_url), "qr", "labels", "--kind", "machine",
                        "--out", str(machines)) == 0
    assert len(list(machines.glob("*.png"))) == 3


async def reports_for_export(sessions: async_sessionmaker[AsyncSession]) -> None:
    seeded = await seed(sessions)
    tz = ZoneInfo("Asia/Shanghai")
    CAL = PlantCalendar(tz, default_shifts())  # noqa: N806
    moments = [datetime(2026, 11, 1, 0, 30, tzinfo=UTC), datetime(2026, 11, 30, 15, 59, tzinfo=UTC),
               datetime(2026, 11, 30, 16, 1, tzinfo=UTC)]  # the last is Dec 1 in Shanghai
    for number, moment in enumerate(moments):
        async with sessions.begin() as s:
            user = await s.scalar(select(User).where(User.wecom_userid == "op1"))
            service = ReportService(s, ReportsSettings(), CAL, moment)
            result = await service.report(user, seeded.op10, 10 + number, number, "DIM" if number else None,
                                          source="chat", idempotency_key=f"e{number}")
            if number == 0:
                await service.report(user, seeded.op10, 5, 0, None, source="h5", idempotency_key="undone")
                undone = await service.report(user, seeded.op20, 6, 0, None, source="h5", idempotency_key="u2")
                await service.undo(user, undone.id)
    assert result


async def test_export_csv_has_a_bom_and_the_plant_local_period(tmp_path: Path, db_url: str,
                                                               session_factory) -> None:
    await reports_for_export(session_factory)
    out = tmp_path / "reports.csv"
    assert await opsbot("--config", config(tmp_path, db_url), "export", "reports", "--from", "2026-11-01",
                        "--to", "2026-11-30", "--format", "csv", "--out", str(out)) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:5] == ["编号", "报工时间", "班次日期", "班次", "工单"]
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(r["良品"], r["报废"], r["报废原因"], r["报工人"]) for r in body] == [
        ("10", "0", "", "张三"), ("5", "0", "", "张三"), ("11", "1", "尺寸超差", "张三")]
    assert body[0]["报工时间"] == "2026-11-01 08:30:00" and body[0]["班次"] == "白班"
    assert body[2]["班次"] == "夜班" and body[2]["状态"] == "有效"
    everything = tmp_path / "all.csv"
    await opsbot("--config", config(tmp_path, db_url), "export", "reports", "--from", "2026-11-01",
                 "--to", "2026-12-01", "--out", str(everything), "--all")
    statuses = [row[16] for row in csv.reader(io.StringIO(everything.read_text(encoding="utf-8-sig")))][1:]
    assert sorted(statuses) == ["已撤销", "有效", "有效", "有效", "有效"]


async def test_export_xlsx(tmp_path: Path, db_url: str, session_factory) -> None:
    from openpyxl import load_workbook

    await reports_for_export(session_factory)
    out = tmp_path / "reports.xlsx"
    assert await opsbot("--config", config(tmp_path, db_url), "export", "reports", "--from", "2026-11-01",
                        "--to", "2026-11-30", "--format", "xlsx", "--out", str(out)) == 0
    sheet = load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert sheet.title == "报工记录" and rows[0][0] == "编号" and len(rows) == 4
    assert [(r[4], r[11], r[12]) for r in rows[1:]] == [("WO-001", 10, 0), ("WO-001", 5, 0), ("WO-001", 11, 1)]

"""The round's rules without HTTP: limits make NG by themselves, photos are checked by their bytes, a closed
round takes nothing, an answer without its scan is 未扫码, a round done too fast is flagged; figures and export."""
from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models.patrols import PatrolAnswer, PatrolRound, PatrolVisit
from bot.patrols.errors import PatrolRefused
from bot.patrols.export import export_names, export_rows, write
from bot.patrols.figures import figures
from bot.patrols.kickoff import dispatch_due_rounds
from bot.patrols.service import PatrolService
from bot.templates import Templates
from tests.bot.patrols.support import PATROLS, SLOT_5S, seed_plant
from tests.conftest import make_settings

pytestmark = pytest.mark.db
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


async def walk(session: AsyncSession, db_url: str):  # type: ignore[no-untyped-def]
    settings = make_settings(db_url, patrols=dict(PATROLS))
    templates = Templates(settings.tz)
    users = await seed_plant(session)
    await dispatch_due_rounds(session, settings, templates, SLOT_5S)
    row = await session.scalar(select(PatrolRound).where(PatrolRound.checklist_code == "5S-L1"))
    service = PatrolService(session, settings, templates, SLOT_5S + timedelta(minutes=1))
    return settings, templates, users, row, service


async def test_limits_photos_and_the_fast_flag(session_factory: async_sessionmaker[AsyncSession], db_url: str) -> None:
    async with session_factory.begin() as session:
        settings, templates, users, row, service = await walk(session, db_url)
        lead = users["lead1"]
        with pytest.raises(PatrolRefused) as refused:
            await service.store_photo(lead, row.id, "B", "floor", "image/jpeg", b"GIF? no, text")
        assert refused.value.reason == "not_image"
        with pytest.raises(PatrolRefused) as refused:
            await service.store_photo(lead, row.id, "B", "floor", "image/jpeg", JPEG + b"\x00" * (10 << 20))
        assert refused.value.reason == "too_big" and "10 MB" in refused.value.message_zh
        with pytest.raises(PatrolRefused) as refused:
            await service.answer(lead, row.id, "B", "air", "0,6")
        assert refused.value.reason == "bad_value" and "请输入数字（MPa）" in refused.value.message_zh
        _, low = await service.answer(lead, row.id, "B", "air", "0.45")
        assert low.ng and low.issue_ref and low.issue_ref.startswith("Q-")
        with pytest.raises(PatrolRefused) as refused:
            await service.answer(users["op1"], row.id, "A", "tidy", "ok")
        assert refused.value.reason == "not_assignee"
        for checkpoint, item, value in (("A", "tidy", "ok"), ("A", "label", "ok"), ("B", "floor", "ok"),
                                        ("C", "stack", "整齐"), ("C", "exit", "ok")):
            service.now += timedelta(seconds=10)
            await service.answer(lead, row.id, checkpoint, item, value)
        visits = list(await session.scalars(select(PatrolVisit).where(PatrolVisit.round_id == row.id)))
    assert row.status == "done" and row.too_fast  # 6 answers in a minute; the checklist wants 3
    assert all(v.unscanned for v in visits)  # answered without scanning a label
    async with session_factory.begin() as session:
        late = PatrolService(session, settings, templates, row.window_end)
        with pytest.raises(PatrolRefused) as refused:
            await late.answer(lead, row.id, "A", "tidy", "ok")
        assert refused.value.reason == "closed"


async def test_figures_and_the_export(session_factory: async_sessionmaker[AsyncSession], db_url: str,
                                      tmp_path: Path) -> None:
    async with session_factory.begin() as session:
        settings, _, users, row, service = await walk(session, db_url)
        await service.answer(users["lead1"], row.id, "A", "label", "ng")
    start, end = SLOT_5S - timedelta(hours=1), SLOT_5S + timedelta(days=1)
    async with session_factory() as session:
        total, per = await figures(session, start, end)
        by_person = (await figures(session, start, end, by="person"))[1]
        names = export_names()
        rows = await export_rows(session, settings, start, end, names)
    assert (total.total, total.open, total.answers, total.ng) == (4, 4, 1, 1)
    assert [(f.name, f.total, f.ng) for f in per] == [("5S-L1", 1, 1), ("DJ-CNC", 3, 0)]
    assert {f.name for f in by_person} == {"李组长", "王操作"}
    out = tmp_path / "patrols.csv"
    assert write(out, "csv", rows, names) == 4  # one answer row, three rounds without answers
    with out.open(encoding="utf-8-sig") as handle:
        table = list(csv.reader(handle))
    assert table[0][:4] == ["巡检编号", "巡检表", "版本", "巡检表名称"]
    answered = next(r for r in table[1:] if r[12] == "标识卡齐全")
    assert answered[14] == "异常" and answered[19].startswith("Q-") and answered[17] == "是"
    assert write(tmp_path / "patrols.xlsx", "xlsx", rows, names) == 4
    async with session_factory() as session:
        assert len(list(await session.scalars(select(PatrolAnswer)))) == 1

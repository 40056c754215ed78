"""On the 1st, every manager gets last month's review: a news message opening the page, the XLSX and the PDF as
files, once per manager and month however often the job runs."""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, or_, select

from bot.models import OutboxMessage
from jobs import review_monthly
from tests.bot.review.support import NOW, review_overrides, seed_history
from tests.conftest import Stack

pytestmark = pytest.mark.db


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: NOW


@pytest.fixture
def stack_overrides(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return review_overrides(tmp_path)


async def test_each_manager_gets_news_and_file_once_per_month(stack: Stack, tmp_path: Path) -> None:
    await seed_history(stack.services.sessions, tmp_path)
    stack.sandbox.add_user("boss", "王五")
    assert await review_monthly.run(stack.services, NOW) == 1  # boss is the one manager; leads are not recipients
    news = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "news" and m.touser == ["boss"])
    article = news.payload["articles"][0]
    assert article["title"] == "全厂 2026-11 月度复盘" and article["url"].endswith("/h5/review/2026-11")
    assert "OEE" in article["description"]
    files = {}
    for suffix in (".xlsx", ".pdf"):
        file = await stack.sandbox.wait_for_message(
            lambda m, s=suffix: m.msgtype == "file" and m.touser == ["boss"]
            and stack.sandbox.state.media[m.payload["media_id"]].filename.endswith(s), timeout=30)
        files[suffix] = stack.sandbox.state.media[file.payload["media_id"]]
    assert files[".xlsx"].filename == "月度复盘-全厂-2026-11.xlsx"
    book = load_workbook(io.BytesIO(files[".xlsx"].data))
    assert book["关键指标"]["A2"].value == "OEE" and isinstance(book["关键指标"]["C2"].value, float)
    assert files[".pdf"].filename == "月度复盘-全厂-2026-11.pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(files[".pdf"].data)).pages)
    assert "全厂 · 2026-11 月度复盘" in text and "停机原因" in text
    assert await review_monthly.run(stack.services, NOW) == 0
    async with stack.services.sessions() as session:
        kinds = dict((await session.execute(  # the review's own rows: other jobs of the stack may send meanwhile
            select(OutboxMessage.msgtype, func.count()).where(or_(
                OutboxMessage.idempotency_key.startswith("review:2026-11:"),
                OutboxMessage.idempotency_key.startswith("rev:award:"))).group_by(OutboxMessage.msgtype))).tuples().all())
    assert kinds == {"news": 1, "file": 2, "template_card": 3}  # and the three award cards, once

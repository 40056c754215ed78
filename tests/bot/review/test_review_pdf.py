"""The review as a PDF: it opens, its text is the page's Chinese text with the month's figures, the three charts
are embedded images, the CJK font is embedded, and poppler renders its first page to a PNG."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from bot.kpi.scopes import Scope
from bot.review.pdf import chart_images, pdf_bytes
from bot.review.service import build_review
from bot.templates import Templates
from tests.bot.review.support import NOVEMBER, NOW, review_overrides, seed_history
from tests.conftest import make_settings

pytestmark = [pytest.mark.db, pytest.mark.slow]


def require_poppler() -> str:
    found = shutil.which("pdftoppm")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("pdftoppm is missing: CI must render the review PDF (Debian poppler-utils)")
    pytest.skip("pdftoppm (poppler-utils) not installed")


@pytest.fixture
async def document(session_factory, db_url: str, tmp_path: Path) -> bytes:
    await seed_history(session_factory, tmp_path)
    settings = make_settings(db_url, **review_overrides(tmp_path))
    async with session_factory() as session:
        review = await build_review(session, settings, Scope("line", "L1", "一号线"), NOVEMBER, NOW)
    return pdf_bytes(review, Templates(settings.tz), "测试工厂", NOW)


async def test_pdf_has_the_pages_chinese_text_charts_and_embedded_font(document: bytes) -> None:
    reader = PdfReader(io.BytesIO(document))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "测试工厂 · 产线 一号线（L1）" in text and "2026-11 月度复盘" in text
    assert "55.6%" in text and "69.4%" in text and "准时交付率" in text  # OEE this month, last month
    assert "卡料" in text and "计算说明" in text and "近 12 个月趋势" in text
    images = {image.data: image for page in reader.pages for image in page.images}.values()  # shared resources
    assert len(images) == 3  # the trend and the two Paretos
    assert all(Image.open(io.BytesIO(image.data)).width >= 600 for image in images)
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
            fonts.add(str(font["/BaseFont"]))
    assert any("Noto-Sans-CJK" in name for name in fonts), fonts


async def test_pdf_renders_to_png_with_poppler(document: bytes, tmp_path: Path) -> None:
    pdftoppm = require_poppler()
    source = tmp_path / "review.pdf"
    source.write_bytes(document)
    subprocess.run([pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "2", str(source), str(tmp_path / "page")],
                   check=True, timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2
    first = Image.open(pages[0]).convert("L")
    assert first.width > first.height  # A4 landscape
    dark = sum(1 for value in first.getdata() if value < 128)
    assert dark > 2000  # text was drawn, not a blank page


def test_chart_images_are_pngs_even_without_data() -> None:
    from types import SimpleNamespace

    from bot.review.trend import TrendPoint

    empty = SimpleNamespace(kpis=[], trend=[TrendPoint(NOVEMBER, None)], downtime=[], scrap=[],
                            scope=Scope("plant"))
    sizes = {name: Image.open(io.BytesIO(png)).size for name, png in chart_images(empty).items()}  # type: ignore[arg-type]
    assert sizes == {"trend": (800, 420), "downtime": (800, 380), "scrap": (800, 380)}

"""The trend chart: a PNG whose Chinese labels use the installed CJK font (no missing-glyph boxes)."""
from __future__ import annotations

import tomllib
import warnings

from bot.kpi.chart import cjk_font, render_trend
from bot.templates import CONTENT_DIR


def test_chinese_labels_render_with_the_cjk_font() -> None:
    font = cjk_font()
    assert font is not None, "install fonts-noto-cjk (make system-deps)"
    assert "NotoSansCJK" in font.get_file().replace("-", "")
    labels = tomllib.loads((CONTENT_DIR / "templates/kpi/chart_labels.toml").read_text(encoding="utf-8"))
    records = [{"period_start": f"2026-01-{day:02d}T00:00:00+08:00", "good": 1000 + day, "oee": 0.7,
                "availability": 0.9, "performance": 0.8, "quality": None if day == 3 else 0.97}
               for day in range(1, 8)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font" for boxes
        png = render_trend(records, labels, labels["title"].format(scope="产线 一号线", days=7), 0.85)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_empty_history_still_renders() -> None:
    labels = tomllib.loads((CONTENT_DIR / "templates/kpi/chart_labels.toml").read_text(encoding="utf-8"))
    assert render_trend([], labels, "全厂", None).startswith(b"\x89PNG")

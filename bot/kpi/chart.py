"""KPI trend chart as PNG bytes (matplotlib, Agg), with Chinese labels in Noto Sans CJK."""
from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans SC")


@lru_cache(maxsize=1)
def cjk_font() -> font_manager.FontProperties | None:
    """The installed Noto Sans CJK (Debian fonts-noto-cjk); None when absent (labels would show boxes)."""
    for family in CJK_FAMILIES:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        return font_manager.FontProperties(fname=path)
    for path in font_manager.findSystemFonts():
        if "NotoSansCJK" in path.replace("-", "").replace(" ", ""):
            return font_manager.FontProperties(fname=path)
    return None


def _percent(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce") * 100


def render_trend(records: list[dict[str, Any]], labels: dict[str, str], title: str,
                 target: float | None = None) -> bytes:
    """Daily OEE, availability, performance, quality lines over good-count bars; one record per day."""
    font = cjk_font()
    text_kw: dict[str, Any] = {"fontproperties": font} if font is not None else {}
    frame = pd.DataFrame(records)
    figure = Figure(figsize=(8, 4.5), dpi=100)
    axis = figure.add_subplot()
    if len(frame):
        days = pd.to_datetime(frame["period_start"].map(lambda s: s[:10]))
        bars = axis.twinx()
        bars.bar(days, pd.to_numeric(frame["good"]), color="#d9e6f2", width=0.6, label=labels["good"])
        bars.set_ylabel(labels["axis_count"], **text_kw)
        axis.set_zorder(bars.get_zorder() + 1)
        axis.patch.set_visible(False)
        for key, style in (("oee", "-o"), ("availability", "--"), ("performance", ":"), ("quality", "-.")):
            axis.plot(days, _percent(frame[key]), style, label=labels[key], linewidth=2 if key == "oee" else 1.2)
        axis.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    if target is not None:
        axis.axhline(target * 100, color="#555555", linewidth=1, linestyle="--", label=labels["target"])
    axis.set_ylim(0, 110)
    axis.set_ylabel(labels["axis_ratio"], **text_kw)
    axis.set_title(title, **text_kw)
    if axis.get_legend_handles_labels()[0]:
        legend = axis.legend(loc="lower left", fontsize=8, prop=font)
        for text in legend.get_texts() if font is not None else []:
            text.set_fontproperties(font)
    axis.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()

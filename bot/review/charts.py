"""The review's chart images (PNG): the 12-month trend and the two Paretos. The H5 page serves them behind the
page's own permission and the PDF embeds the same bytes, so phone, screen and paper show one picture."""
from __future__ import annotations

import io
import tomllib
from pathlib import Path
from typing import Any

from bot.kpi.chart import cjk_font
from bot.review.paretos import Bar
from bot.review.trend import TrendPoint
from bot.templates import CONTENT_DIR

CHARTS = ("trend", "downtime", "scrap")
TREND_LINES = (("oee", "-o", 2.2), ("availability", "--", 1.2), ("performance", ":", 1.2),
               ("quality", "-.", 1.2), ("otd", "-s", 1.4))


def chart_words(content_dir: Path = CONTENT_DIR) -> dict[str, Any]:
    return tomllib.loads((content_dir / "templates" / "review" / "charts.toml").read_text(encoding="utf-8"))


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _png(figure: Any) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _text_kw() -> dict[str, Any]:
    font = cjk_font()
    return {"fontproperties": font} if font is not None else {}


def _legend(axis: Any, **options: Any) -> None:
    font = cjk_font()
    if axis.get_legend_handles_labels()[0]:
        axis.legend(prop=font, fontsize=8, **options)


def trend_png(points: list[TrendPoint], words: dict[str, Any], scope_name: str, target: float | None) -> bytes:
    """OEE with A/P/Q and OTD per month, in percent; a month without data is a gap in the lines, not a zero."""
    labels, kw = words["trend"], _text_kw()
    figure = _figure(8, 4.2)
    axis = figure.add_subplot()
    xs = list(range(len(points)))
    for kpi, style, width in TREND_LINES:
        ys = [float("nan") if p.value(kpi) is None else p.value(kpi) * 100 for p in points]  # type: ignore[operator]
        axis.plot(xs, ys, style, label=labels[kpi], linewidth=width, markersize=4)
    if target is not None:
        axis.axhline(target * 100, color="#555555", linewidth=1, linestyle="--", label=labels["target"])
    for x, point in zip(xs, points, strict=True):
        if point.record is None:
            axis.text(x, 4, labels["no_data"], ha="center", fontsize=7, color="#999999", rotation=90, **kw)
    axis.set_xticks(xs, [p.label[2:] for p in points])
    axis.set_ylim(0, 110)
    axis.set_ylabel(labels["axis"], **kw)
    axis.set_title(labels["title"].format(scope=scope_name), **kw)
    axis.grid(alpha=0.3)
    _legend(axis, loc="lower left", ncol=3)
    return _png(figure)


def pareto_png(bars: list[Bar], words: dict[str, Any], which: str) -> bytes:
    """Bars largest first with the cumulative share of the whole month as a line (the Pareto reading)."""
    labels, kw = words[which], _text_kw()
    figure = _figure(8, 3.8)
    axis = figure.add_subplot()
    if not bars:
        axis.text(0.5, 0.5, labels["empty"], ha="center", va="center", transform=axis.transAxes, **kw)
        axis.set_axis_off()
    else:
        xs = list(range(len(bars)))
        axis.bar(xs, [b.value for b in bars], color="#576b95")
        axis.set_xticks(xs, [b.name for b in bars], rotation=20 if len(bars) > 5 else 0)
        for tick in axis.get_xticklabels():
            tick.set(**kw)
        axis.set_ylabel(labels["axis"], **kw)
        share = axis.twinx()
        share.plot(xs, [b.cumulative * 100 for b in bars], "-o", color="#e6a23c", markersize=4)
        share.set_ylim(0, 105)
        share.set_ylabel(labels["cumulative"], **kw)
    axis.set_title(labels["title"], **kw)
    return _png(figure)

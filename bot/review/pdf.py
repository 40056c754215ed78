"""The review as a PDF: the page's own sections in a print template, the chart images embedded as data URIs,
rendered by WeasyPrint with Noto Sans CJK (subset and embedded, so the file reads the same on any machine)."""
from __future__ import annotations

import asyncio
import base64
import logging
from datetime import datetime
from typing import Any

from bot.review.charts import chart_words, pareto_png, trend_png
from bot.review.service import Review
from bot.templates import Templates

PDF_TYPE = "application/pdf"
# WeasyPrint logs every layout step at INFO and each screen-only CSS property it skips (overflow-x) as a warning.
logging.getLogger("weasyprint").setLevel(logging.ERROR)


def scope_label(review: Review) -> str:
    return "全厂" if review.scope.kind == "plant" else (review.scope.name or review.scope.code)


def chart_images(review: Review, words: dict[str, Any] | None = None) -> dict[str, bytes]:
    """The three charts of a built review as PNG bytes (what the page's chart route serves, one by one)."""
    words = words or chart_words()
    target = next((k.target for k in review.kpis if k.kpi == "oee"), None)
    return {"trend": trend_png(review.trend, words, scope_label(review), target),
            "downtime": pareto_png(review.downtime, words, "downtime"),
            "scrap": pareto_png(review.scrap, words, "scrap")}


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def pdf_bytes(review: Review, templates: Templates, plant: str, now: datetime) -> bytes:
    """Blocking (charts and layout take a second or two): call it through asyncio.to_thread."""
    from weasyprint import HTML

    charts = {name: data_uri(png) for name, png in chart_images(review).items()}
    html = templates.render("review/print.html.j2", r=review, plant=plant, now=now, charts=charts)
    return bytes(HTML(string=html).write_pdf())


async def render_pdf(review: Review, templates: Templates, plant: str, now: datetime) -> bytes:
    return await asyncio.to_thread(pdf_bytes, review, templates, plant, now)

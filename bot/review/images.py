"""One chart of a review, fetching only what that chart needs (the page asks for three images after the HTML;
building the whole review three more times would triple the page's cost)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from bot.kpi.scopes import Scope
from bot.review.charts import chart_words, pareto_png, trend_png
from bot.review.paretos import downtime_names
from bot.review.service import downtime_bars, line_id_of, load_month, month_window, scrap_bars
from bot.review.trend import monthly_trend
from bot.settings import Settings


async def chart_png(session: AsyncSession, settings: Settings, scope: Scope, first: date, now: datetime,
                    name: str) -> Callable[[], bytes]:
    """The data is read here, in the request's session; the returned call draws (blocking: run it in a thread)."""
    words = chart_words()
    if name == "trend":
        points = await monthly_trend(session, settings, scope, first, now)
        label = "全厂" if scope.kind == "plant" else (scope.name or scope.code)
        return partial(trend_png, points, words, label, settings.feature("review").target("oee"))
    window = month_window(settings, "this", first)
    if name == "downtime":
        inputs = await load_month(session, settings, window, now)
        bars = downtime_bars(settings, inputs.frames if inputs else None, window, now, scope,
                             await downtime_names(session))
        return partial(pareto_png, bars, words, "downtime")
    return partial(pareto_png, await scrap_bars(session, settings, window, await line_id_of(session, scope)), words,
                   "scrap")

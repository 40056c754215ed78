"""`opsbot kpi --from … --to …`: KPIs from the database as a table or JSON, every figure with its inputs."""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from datetime import timedelta

import pandas as pd
from sqlalchemy.exc import DBAPIError

from bot.kpi import BY, EVERY, FIGURES, KpiInputError, to_json_records

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RATIOS = ("availability", "performance", "quality", "oee", "first_pass_yield", "otd", "output_vs_plan")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("kpi", help="compute KPIs (OEE, MTBF, MTTR, FPY, OTD) for a window")
    parser.add_argument("--from", dest="start", required=True, help="start (ISO 8601; no offset = plant time)")
    parser.add_argument("--to", dest="end", required=True,
                        help="end, exclusive (a date alone is its midnight; equal to --from's date: that day)")
    parser.add_argument("--by", choices=BY, default="machine")
    parser.add_argument("--every", choices=[e for e in EVERY if e], default=None)
    parser.add_argument("--micro-stop-threshold", type=float, default=None, metavar="SECONDS",
                        help="override [kpi] micro_stop_threshold_s")
    parser.add_argument("--json", action="store_true", help="JSON: window, parameters and one record per row")
    parser.set_defaults(func=run)


def parse_instant(text: str, tz: str) -> pd.Timestamp:
    """An ISO 8601 instant; without an offset it is plant-local wall time."""
    stamp = pd.Timestamp(text)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert("UTC")


def window(start_text: str, end_text: str, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, end = parse_instant(start_text, tz), parse_instant(end_text, tz)
    if _DATE.match(end_text.strip()) and end <= start and end_text.strip() == start_text.strip()[:10]:
        end = parse_instant((pd.Timestamp(end_text) + timedelta(days=1)).date().isoformat(), tz)
    return start, end


def _cell(name: str, value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if name in RATIOS:
        return f"{float(value) * 100:.2f}%"  # type: ignore[arg-type]
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def render_table(frame: pd.DataFrame, by: str, tz: str, width: int = 5) -> str:
    """Figures down, one column per (group, period), in blocks of `width` columns so a terminal holds them."""
    records = to_json_records(frame)
    if not records:
        return "no rows"
    heads = []
    for record in records:
        start = pd.Timestamp(record["period_start"]).tz_convert(tz).strftime("%m-%d %H:%M")
        heads.append(" ".join(str(part) for part in (record[by], start, record["shift"] or "") if part))
    cells = pd.DataFrame({head: [_cell(name, record[name]) for name in FIGURES]
                          for head, record in zip(heads, records, strict=True)}, index=list(FIGURES))
    blocks = [cells.iloc[:, i:i + width].to_string() for i in range(0, cells.shape[1], width)]
    return "\n\n".join(blocks)


async def run(args: argparse.Namespace) -> int:
    from bot.db import make_engine, make_session_factory, utcnow
    from bot.kpi.service import kpi_settings, kpis_from_db, shifts_of
    from bot.settings import load_settings

    settings = load_settings(args.config, needs={"database"})
    tz = settings.plant.timezone
    try:
        start, end = window(args.start, args.end, tz)
    except ValueError as exc:
        print(f"error: bad --from/--to: {exc}", file=sys.stderr)
        return 2
    threshold = (kpi_settings(settings).micro_stop_threshold_s if args.micro_stop_threshold is None
                 else args.micro_stop_threshold)
    engine = make_engine(settings.database.url)
    try:
        async with make_session_factory(engine)() as session:
            frame = await kpis_from_db(session, settings, start=start.to_pydatetime(), end=end.to_pydatetime(),
                                       by=args.by, every=args.every, now=utcnow(), micro_stop_threshold_s=threshold)
    except KpiInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DBAPIError as exc:
        print(f"error: cannot read the database (run `opsbot db upgrade` or an import first): {exc.orig}",
              file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    if args.json:
        document = {"from": start.tz_convert(tz).isoformat(), "to": end.tz_convert(tz).isoformat(),
                    "by": args.by, "every": args.every, "timezone": tz, "micro_stop_threshold_s": threshold,
                    "shifts": [list(s) for s in shifts_of(settings)], "rows": to_json_records(frame)}
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(f"KPIs {start.tz_convert(tz).isoformat()} to {end.tz_convert(tz).isoformat()} "
              f"by {args.by}" + (f" every {args.every}" if args.every else ""))
        print(render_table(frame, args.by, tz))
    return 0

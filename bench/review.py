"""Benchmark of the monthly review at plant scale: 200 machines, one month (November 2026) with 2 M state
intervals, 1 M reports, 20 k issues and 10 k patrol rounds in a SQLite file.

    .venv/bin/python -m bench.review [--machines 200] [--intervals 2000000] [--reports 1000000] [--keep DIR]
                                     [--database postgresql+asyncpg://root@127.0.0.1:5432/bench_review]

The data is generated with numpy and bulk inserts into a SQLite file (timed on its own); with `--database` the
same rows are copied into that PostgreSQL database (its tables are dropped and made again) and measured there.
Each measurement runs in a fresh child process so its peak RSS (resource.getrusage) is its own: the baseline is
one plain KPI engine call for the plant and the month (`kpis_from_db`, what any KPI page pays); then
`build_review` for the plant (targets: 5 s, 1.5 GB) and its PDF (target: 10 s). Figures are printed as ratios
against the targets and the baseline.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
START = np.datetime64("2026-10-31T16:00:00", "s")  # 1 November, 00:00 in Shanghai, as UTC
SPAN_S = 30 * 86400
LOCAL = np.timedelta64(8 * 3600, "s")
STATES = np.array(["running", "idle", "down", "setup", "planned_stop", "unknown"], dtype=object)
STATE_P = [0.70, 0.10, 0.12, 0.05, 0.02, 0.01]
REASONS = np.array(["MECH", "ELEC", "TOOL", "MAT", "PROG", "OTHER", None], dtype=object)


def stamps(seconds: np.ndarray) -> list[str]:
    """SQLite's DateTime text (UTC, microseconds) for seconds after START."""
    text = np.datetime_as_string(START + seconds.astype("timedelta64[s]"), unit="us")
    return [t.replace("T", " ") for t in text.tolist()]


def generate(path: Path, machines: int, intervals: int, reports: int, issues: int, rounds: int) -> dict[str, int]:
    rng = np.random.default_rng(15)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-400000")  # 400 MB: the inserts stay in memory
    # indexes are dropped for the bulk insert and built once afterwards (several times faster than maintaining them)
    indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name "
                         "IN ('machine_states', 'work_reports', 'issues', 'patrol_rounds')").fetchall()
    for name, _sql in indexes:
        db.execute(f"DROP INDEX {name}")
    lines = max(1, machines // 20)
    created = "2026-10-01 00:00:00.000000"
    db.execute("INSERT INTO plants (id, code, name, timezone) VALUES (1, 'B', '基准工厂', 'Asia/Shanghai')")
    db.executemany("INSERT INTO lines (id, plant_id, code, name) VALUES (?, 1, ?, ?)",
                   [(i, f"L{i:02d}", f"{i}号线") for i in range(1, lines + 1)])
    line_of = np.arange(machines) % lines + 1
    db.executemany("INSERT INTO machines (id, line_id, code, name, ideal_cycle_time_s) VALUES (?, ?, ?, ?, ?)",
                   [(m + 1, int(line_of[m]), f"M{m:03d}", f"设备{m:03d}", 0.5 + (m % 5) * 0.25)
                    for m in range(machines)])
    operators = 2 * machines
    users = [(u + 1, f"op{u}", f"操作工{u}", '["operator"]', int(u % lines + 1)) for u in range(operators)]
    users += [(operators + i + 1, f"lead{i}", f"班长{i}", '["team_lead"]', i + 1) for i in range(lines)]
    users += [(operators + lines + 1, "boss", "厂长", '["manager"]', None)]
    db.executemany("INSERT INTO users (id, wecom_userid, name, roles, line_id, is_seed, active, created_at) "
                   f"VALUES (?, ?, ?, ?, ?, 0, 1, '{created}')", users)
    # one order a day per line, an operation per machine of the line
    days = 30
    orders = [(line - 1) * days + d + 1 for line in range(1, lines + 1) for d in range(days)]
    due = stamps(np.array([d * 86400 + 12 * 3600 for _line in range(lines) for d in range(days)]))
    late = rng.random(len(orders)) < 0.1
    done = stamps(np.array([d * 86400 + 12 * 3600 for _line in range(lines) for d in range(days)])
                  + np.where(late, 7200, -3600))
    db.executemany("INSERT INTO work_orders (id, code, line_id, quantity, status, due_at, completed_at) "
                   "VALUES (?, ?, ?, 1000, 'closed', ?, ?)",
                   [(o, f"WO{o:05d}", (o - 1) // days + 1, due[i], done[i]) for i, o in enumerate(orders)])
    op_id = {}
    ops = []
    for m in range(machines):
        for d in range(days):
            op_id[(m, d)] = len(ops) + 1
            ops.append((len(ops) + 1, int(line_of[m] - 1) * days + d + 1, (m // lines + 1) * 10, "加工", m + 1))
    db.executemany("INSERT INTO operations (id, work_order_id, seq, name, machine_id, planned_quantity) "
                   "VALUES (?, ?, ?, ?, ?, 1000)", ops)
    # back-to-back state intervals per machine filling the month
    per = intervals // machines
    weights = rng.exponential(1.0, (machines, per))
    edges = np.floor(np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True) * SPAN_S).astype(np.int64)
    begin = np.concatenate([np.zeros((machines, 1), np.int64), edges[:, :-1]], axis=1).ravel()
    state = STATES[rng.choice(len(STATES), begin.size, p=STATE_P)]
    reason = np.where(state == "down", REASONS[rng.integers(0, len(REASONS), begin.size)], None)
    machine = np.repeat(np.arange(machines) + 1, per)
    b, e = stamps(begin), stamps(edges.ravel())
    db.executemany("INSERT INTO machine_states (machine_id, state, start_at, end_at, reason_code, source) "
                   "VALUES (?, ?, ?, ?, ?, 'opcua')",
                   zip(machine.tolist(), state.tolist(), b, e, reason.tolist(), strict=True))
    # reports: random machine and instant, the day's operation, an operator of the line
    at = rng.integers(0, SPAN_S, reports)
    who = rng.integers(0, machines, reports)
    local = START + at.astype("timedelta64[s]") + LOCAL
    hour = (local - local.astype("datetime64[D]")).astype(np.int64) // 3600
    shift_day = (local.astype("datetime64[D]") - np.where(hour < 8, 1, 0).astype("timedelta64[D]"))
    day_index = np.clip((shift_day - np.datetime64("2026-11-01")).astype(np.int64), 0, days - 1)
    good, scrap = rng.integers(0, 60, reports), rng.binomial(3, 0.1, reports)
    status = np.array(["confirmed", "undone", "rejected"], dtype=object)[rng.choice(3, reports, p=[.97, .02, .01])]
    source = np.array(["h5", "chat", "import"], dtype=object)[rng.choice(3, reports, p=[.6, .3, .1])]
    user = (who % lines) + lines * rng.integers(0, operators // lines, reports) + 1
    created_at, days_text = stamps(at), np.datetime_as_string(shift_day, unit="D").tolist()
    db.executemany(
        "INSERT INTO work_reports (operation_id, work_order_id, machine_id, line_id, user_id, good, scrap, "
        "reason_code, shift_day, shift_code, source, status, idempotency_key, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((op_id[(int(w), int(d))], int(line_of[w] - 1) * days + int(d) + 1, int(w) + 1, int(line_of[w]), int(u),
          int(g), int(s), "DIM" if s else None, dt, "D" if 8 <= h < 20 else "N", src, st, f"b{i}", c, c)
         for i, (w, d, u, g, s, dt, h, src, st, c) in enumerate(zip(
             who, day_index, user, good, scrap, days_text, hour, source, status, created_at, strict=True))))
    picked = rng.choice(reports, reports // 100, replace=False) + 1
    db.executemany("INSERT INTO work_report_changes (report_id, kind, status, requested_by, requested_at) "
                   "VALUES (?, 'correction', 'applied', 1, '2026-11-20 00:00:00.000000')",
                   [(int(r),) for r in picked])
    # issues over the year, a third of them in November
    opened = rng.integers(-300 * 86400, SPAN_S, issues)
    closed_after = rng.integers(3600, 20 * 86400, issues)
    state_i = np.array(["new", "in_progress", "closed", "closed", "rejected"], dtype=object)[
        rng.integers(0, 5, issues)]
    o_text, c_text = stamps(opened), stamps(opened + closed_after)
    db.executemany(
        "INSERT INTO issues (number, year, seq, title, description, category, priority, source, status, owner_id, "
        "line_id, due_on, escalation_level, created_at, updated_at, resolved_at, closed_at) "
        "VALUES (?, 2026, ?, ?, '', '设备', 'medium', 'chat', ?, ?, ?, ?, 0, ?, ?, ?, ?)",
        [(f"Q-{i:06d}", i, f"问题{i}", st, int(i % operators) + 1, int(i % lines) + 1, c_text[i][:10], o_text[i],
          o_text[i], c_text[i] if st in ("closed", "rejected") else None,
          c_text[i] if st in ("closed", "rejected") else None) for i, st in enumerate(state_i.tolist())])
    window = rng.integers(0, SPAN_S - 7200, rounds)
    w0, w1, w2, w3 = stamps(window), stamps(window + 3600), stamps(window + 7200), stamps(window + 1800)
    status_r = np.array(["done", "done", "done", "missed", "skipped"], dtype=object)[rng.integers(0, 5, rounds)]
    db.executemany(
        "INSERT INTO patrol_rounds (id, checklist_code, version, scope_key, slot, line_id, assignees, window_start, "
        "due_at, window_end, status, finished_at, finished_by, too_fast, card_sent, created_at) "
        "VALUES (?, 'C1', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1, ?)",
        [(i + 1, f"line:L{i % lines + 1:02d}", f"s{i}", i % lines + 1, json.dumps([f"op{i % operators}"]), w0[i],
          w1[i], w2[i], st, w3[i] if st == "done" else None, (i % operators) + 1 if st == "done" else None, w0[i])
         for i, st in enumerate(status_r.tolist())])
    db.executemany("INSERT INTO patrol_answers (round_id, checkpoint, item, value, ng, answered_by, answered_at) "
                   "VALUES (?, 'P', ?, 'OK', ?, 1, '2026-11-10 00:00:00.000000')",
                   [(r + 1, f"i{k}", int(rng.random() < 0.05)) for r in range(rounds) if status_r[r] == "done"
                    for k in range(4)])
    for _name, sql in indexes:
        db.execute(sql)
    db.commit()
    db.close()
    return {"machine_states": int(begin.size), "work_reports": reports, "issues": issues, "patrol_rounds": rounds}


COPIED = ("plants", "lines", "machines", "users", "work_orders", "operations", "machine_states", "work_reports",
          "work_report_changes", "issues", "patrol_rounds", "patrol_answers")


async def copy_to_postgres(path: Path, url: str) -> dict[str, int]:
    """The SQLite file's rows into a fresh schema at `url` (COPY, values typed by the models' columns)."""
    from datetime import date

    import asyncpg
    from sqlalchemy import JSON, Boolean, Date, DateTime

    import bot.models  # noqa: F401  (the tables)
    from bot.db import Base, make_engine

    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    source = sqlite3.connect(path)
    target = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    counts = {}
    try:
        for name in COPIED:
            table = Base.metadata.tables[name]
            cursor = source.execute(f"SELECT * FROM {name}")
            columns = [d[0] for d in cursor.description]
            convert = []
            for column in columns:
                kind = table.columns[column].type
                if isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
                    convert.append(lambda v: None if v is None else datetime.fromisoformat(v).replace(tzinfo=UTC))
                elif isinstance(kind, Date):
                    convert.append(lambda v: None if v is None else date.fromisoformat(v))
                elif isinstance(kind, Boolean):
                    convert.append(lambda v: None if v is None else bool(v))
                elif isinstance(kind, JSON):
                    convert.append(lambda v: v)
                else:
                    convert.append(None)
            counts[name] = 0
            while rows := cursor.fetchmany(200_000):
                records = [tuple(v if f is None else f(v) for f, v in zip(convert, row, strict=True)) for row in rows]
                await target.copy_records_to_table(name, records=records, columns=columns)
                counts[name] += len(records)
        await target.execute("ANALYZE")
    finally:
        await target.close()
        source.close()
    return counts


async def already_copied(path: Path, url: str) -> bool:
    """The PostgreSQL database holds as many rows of each table as the file (a rerun with --keep)."""
    import asyncpg

    target = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        with closing(sqlite3.connect(path)) as source:
            for name in COPIED:
                theirs = await target.fetchval(f"SELECT count(*) FROM {name}")
                if theirs != source.execute(f"SELECT count(*) FROM {name}").fetchone()[0]:
                    return False
        return True
    except asyncpg.UndefinedTableError:
        return False
    finally:
        await target.close()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(path: Path, what: str, database: str | None = None) -> dict[str, float]:
    """Runs in a child: the baseline engine call, or the review and its PDF."""
    from datetime import date

    from bot.db import make_engine, make_session_factory
    from bot.kpi.scopes import Scope
    from bot.kpi.service import kpis_from_db
    from bot.review.pdf import render_pdf
    from bot.review.service import build_review
    from bot.templates import Templates
    from tests.conftest import make_settings

    url = database or f"sqlite+aiosqlite:///{path}"
    settings = make_settings(url, kpi={"micro_stop_threshold_s": 120})
    engine = make_engine(url)
    out: dict[str, float] = {}
    async with make_session_factory(engine)() as session:
        start, end = settings.calendar.month_bounds(date(2026, 11, 1))
        began = time.perf_counter()
        if what == "baseline":
            frame = await kpis_from_db(session, settings, start=start, end=end, by="plant", now=NOW)
            out["seconds"], out["oee"] = time.perf_counter() - began, float(frame["oee"].iloc[0])
        else:
            review = await build_review(session, settings, Scope("plant"), date(2026, 11, 1), NOW)
            out["seconds"] = time.perf_counter() - began
            out["oee"] = float(review.records["this"]["oee"])
            out["review_peak_mb"] = peak_mb()
            began = time.perf_counter()
            pdf = await render_pdf(review, Templates(settings.tz), "基准工厂", NOW)
            out["pdf_seconds"], out["pdf_kb"] = time.perf_counter() - began, len(pdf) / 1024
    await engine.dispose()
    out["peak_mb"] = peak_mb()
    return out


def child(*args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-m", "bench.review", *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--machines", type=int, default=200)
    parser.add_argument("--intervals", type=int, default=2_000_000)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10_000)
    parser.add_argument("--keep", help="a folder for the SQLite file (kept; reused when it exists)")
    parser.add_argument("--child", choices=["baseline", "review"])
    parser.add_argument("--db")
    parser.add_argument("--database", help="a PostgreSQL URL to copy the generated rows into and measure on")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(Path(args.db), args.child, args.database))))
        return
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-review-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "review.db"
    if not path.exists():
        from bot.migrate import ensure_schema

        asyncio.run(ensure_schema(f"sqlite+aiosqlite:///{path}"))
        began = time.perf_counter()
        try:
            counts = generate(path, args.machines, args.intervals, args.reports, args.issues, args.rounds)
        except BaseException:
            path.unlink()  # never leave a half-made file to be reused
            raise
        print(f"generated {counts} in {time.perf_counter() - began:.1f} s ({path.stat().st_size / 2**20:.0f} MB)")
    where = []
    if args.database:
        began = time.perf_counter()
        if asyncio.run(already_copied(path, args.database)):
            print("PostgreSQL already holds these rows (--keep): reused")
        else:
            counts = asyncio.run(copy_to_postgres(path, args.database))
            print(f"copied {sum(counts.values())} rows to PostgreSQL in {time.perf_counter() - began:.1f} s")
        where = ["--database", args.database]
    base = child("--child", "baseline", "--db", str(path), *where)
    review = child("--child", "review", "--db", str(path), *where)
    assert abs(base["oee"] - review["oee"]) < 1e-9, (base["oee"], review["oee"])  # the same month, the same figure
    print(f"baseline  kpis_from_db (plant, month)  {base['seconds']:6.2f} s   peak {base['peak_mb']:6.0f} MB")
    print(f"review    build_review (plant, month)  {review['seconds']:6.2f} s   peak {review['review_peak_mb']:6.0f} MB"
          f"   = {review['seconds'] / base['seconds']:.2f}x baseline time, "
          f"{review['review_peak_mb'] / base['peak_mb']:.2f}x baseline RSS")
    print(f"          vs target 5 s / 1536 MB       {review['seconds'] / 5:6.2f}x     "
          f"{review['review_peak_mb'] / 1536:.2f}x")
    print(f"pdf       render_pdf                  {review['pdf_seconds']:6.2f} s   {review['pdf_kb']:.0f} KB"
          f"   = {review['pdf_seconds'] / 10:.2f}x target 10 s, "
          f"{review['pdf_seconds'] / base['seconds']:.2f}x baseline")


if __name__ == "__main__":
    main()

"""Peak memory of a big history import: a generated reports file (CSV in GB18030, or XLSX) checked and loaded.

    .venv/bin/python -m bench.imports [--rows 400000] [--format csv|xlsx|both] [--dry-run]

Each run is its own child process, so its peak RSS (ru_maxrss) is its own. The baseline, measured in the same
run, is a child that does everything but with a one-row file: the interpreter, pandas, SQLAlchemy and the
masters. The figure that matters is the growth over it per row read.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MACHINES, USERS, ORDERS = 50, 500, 2000


def write_masters(folder: Path) -> dict[str, Path]:
    machines = ["machine,name,line,ideal_cycle_time_s"] + [f"M{i},冲压机{i},L{i % 5},2.0" for i in range(MACHINES)]
    users = ["userid,name,roles,line"] + [f"u{i},操作工{i},operator,L{i % 5}" for i in range(USERS)]
    orders = ["work_order,material,quantity,due,released"] + [
        f"WO{i},MAT-{i % 40},100000,2026-03-01,2025-12-01 08:00" for i in range(ORDERS)]
    paths = {}
    for kind, lines in (("machines", machines), ("users", users), ("work-orders", orders)):
        paths[kind] = folder / f"{kind}.csv"
        paths[kind].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def report_lines(rows: int) -> list[list[object]]:
    """Distinct reports over January 2026, every 6 s, spread over users, orders and machines."""
    import pandas as pd

    start = pd.Timestamp("2026-01-01 00:00")
    out: list[list[object]] = []
    for i in range(rows):
        moment = (start + pd.Timedelta(seconds=6 * i)).strftime("%Y-%m-%d %H:%M:%S")
        out.append([moment, f"u{i % USERS}", f"WO{i % ORDERS}", "", f"M{i % MACHINES}", i % 97, i % 3])
    return out


def write_reports(folder: Path, rows: int, fmt: str, encoding: str = "gb18030") -> Path:
    header = ["reported_at", "user", "work_order", "operation", "machine", "good", "scrap"]
    body = report_lines(rows)
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("报工")
        sheet.append(header)
        for row in body:
            sheet.append(row)
        path = folder / f"reports-{rows}.xlsx"
        book.save(path)
        return path
    path = folder / f"reports-{rows}.csv"
    with path.open("w", encoding=encoding, newline="") as handle:  # GB18030: what Excel in China saves
        handle.write(",".join(header) + "\r\n")
        for row in body:
            handle.write(",".join(map(str, row)) + "\r\n")
    return path


async def _import(folder: Path, reports: Path, dry_run: bool) -> dict[str, object]:
    from bot.db import make_engine, make_session_factory, utcnow
    from bot.imports import run_import
    from bot.migrate import ensure_schema
    from bot.reports.settings import ShiftSettings

    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await ensure_schema(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    shifts = [ShiftSettings("D", "白班", "08:00", "20:00"), ShiftSettings("N", "夜班", "20:00", "08:00")]
    args = {"tz": "Asia/Shanghai", "shifts": shifts, "plant_name": "bench", "now": utcnow()}
    try:
        for kind, path in write_masters(folder).items():
            await run_import(sessions, kind, path, **args)
        began = time.perf_counter()
        summary = await run_import(sessions, "reports", reports, dry_run=dry_run, **args)
        elapsed = time.perf_counter() - began
    finally:
        await engine.dispose()
    return {"rows_read": summary.rows_read, "rows_loaded": summary.rows_loaded,
            "rejected": summary.rows_rejected, "seconds": elapsed}


def child(file: str, dry_run: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(_import(Path(tmp), Path(file), dry_run))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(file: Path, dry_run: bool) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.imports", "--child", str(file)] + (["--dry-run"] if dry_run else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--format", choices=("csv", "xlsx", "both"), default="both")
    parser.add_argument("--dry-run", action="store_true", help="check only, do not load")
    parser.add_argument("--encoding", default="gb18030", help="of the CSV file")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.dry_run)
        return
    formats = ["csv", "xlsx"] if args.format == "both" else [args.format]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for fmt in formats:
            baseline = measure(write_reports(folder, 1, fmt, args.encoding), args.dry_run)
            big_file = write_reports(folder, args.rows, fmt, args.encoding)
            big = measure(big_file, args.dry_run)
            growth = big["peak_rss_mb"] - baseline["peak_rss_mb"]
            print(f"{fmt}: {args.rows:,} rows, {big_file.stat().st_size / 2**20:.1f} MiB file, "
                  f"{'dry run' if args.dry_run else 'loaded'} {big['rows_loaded']:,}, rejected {big['rejected']:,}")
            print(f"  peak RSS {big['peak_rss_mb']:.0f} MB vs baseline {baseline['peak_rss_mb']:.0f} MB "
                  f"(x{big['peak_rss_mb'] / baseline['peak_rss_mb']:.2f}); growth {growth:.0f} MB = "
                  f"{growth * 2**20 / args.rows:.0f} B/row; {big['seconds']:.1f} s "
                  f"({args.rows / big['seconds']:,.0f} rows/s)")


if __name__ == "__main__":
    main()

"""`opsbot equipment poll|status|simulate` and `opsbot export machine-states`."""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.settings import Settings, load_settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    equipment = sub.add_parser("equipment", help="OPC UA equipment: poll, status, simulator")
    eq_sub = equipment.add_subparsers(dest="equipment_command", required=True)
    poll = eq_sub.add_parser("poll", help="read every configured endpoint (--once: one read, printed)")
    poll.add_argument("--once", action="store_true", help="read once, print, store nothing")
    poll.add_argument("--json", action="store_true", help="with --once: JSON output")
    poll.set_defaults(func=run_poll)
    status = eq_sub.add_parser("status", help="each machine's current state and since when")
    status.add_argument("--line", help="only this line code")
    status.set_defaults(func=run_status)
    simulate = eq_sub.add_parser("simulate", help="run the OPC UA plant simulator for the configured machines")
    simulate.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    simulate.add_argument("--cycle-time", type=float, default=3.0, help="seconds per part")
    simulate.add_argument("--seed", type=int, default=1)
    simulate.set_defaults(func=run_simulate)
    export = export_parsers(sub)
    states = export.add_parser("machine-states", help="machine state intervals as CSV or Excel")
    states.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD[THH:MM] plant time, inclusive")
    states.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD[THH:MM] plant time (a date: whole day)")
    states.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    states.add_argument("--out", help="file to write (default: stdout for csv)")
    states.set_defaults(func=run_export_states)


def export_parsers(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """The shared `opsbot export` group: reuse it when another feature has created it already."""
    existing = sub.choices.get("export")
    if existing is None:
        existing = sub.add_parser("export", help="export data as CSV or Excel")
        existing.add_subparsers(dest="export_command", required=True)
    for action in existing._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("`export` parser has no subcommands")


def _settings(args: argparse.Namespace, needs: set[str] | None = None) -> Settings:
    settings = load_settings(args.config, needs=needs or set())
    if not settings.feature("equipment").machines:
        raise SystemExit("config error: equipment.machines: no machines configured ([[equipment.machines]])")
    return settings


def run_poll(args: argparse.Namespace) -> int:
    settings = _settings(args, {"database"} if not args.once else set())
    if args.once:
        from bot.equipment.probe import poll_once, render_text

        report = asyncio.run(poll_once(settings.feature("equipment")))
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str) if args.json else render_text(report))
        return 0 if all(e["ok"] for e in report["endpoints"]) else 1
    return asyncio.run(_poll_forever(settings))


async def _poll_forever(settings: Settings) -> int:
    """A standalone collector process: stores intervals and raises alerts (the bot's sender delivers them)."""
    from bot.equipment.cards import Notifier
    from bot.equipment.runtime import EquipmentRuntime
    from opsbot.app import build_services

    services = build_services(settings)
    equipment = settings.feature("equipment")
    runtime = EquipmentRuntime(services.sessions, equipment, Notifier(services.templates, equipment),
                               services.clock, leases=settings.feature("leases"))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await runtime.start()
    print(f"replica {runtime.leases.replica if runtime.leases else '-'}: collecting endpoints "
          f"{', '.join(runtime.owned) or 'none yet'} (leases spread them over replicas); Ctrl-C to stop", flush=True)
    await stop.wait()
    await runtime.stop()
    await services.engine.dispose()  # type: ignore[union-attr]
    return 0


def run_status(args: argparse.Namespace) -> int:
    return asyncio.run(_status(load_settings(args.config, needs={"database"}), args.line))


async def _status(settings: Settings, line: str | None) -> int:
    from bot.equipment.status import endpoint_owners, machine_status, state_names
    from opsbot.app import build_services

    services = build_services(settings)
    equipment = settings.feature("equipment")
    codes = [m.code for m in equipment.machines] or None
    async with services.sessions() as session:
        rows = await machine_status(session, line, codes)
        owners = await endpoint_owners(session, [e.name for e in equipment.endpoint_configs()], services.clock())
    await services.engine.dispose()  # type: ignore[union-attr]
    names = state_names(services.templates.content_dir)
    print(f"{'line':<6} {'machine':<10} {'state':<14} {'since':<17} {'reason':<8} alert")
    for r in rows:
        since = services.templates.local(r.since) if r.since else "-"
        state = f"{r.state} {names.get(r.state, '')}"
        print(f"{r.line_code:<6} {r.machine_code:<10} {state:<14} {since:<17} {r.reason or '-':<8} "
              f"{r.alert_status or '-'}")
    if owners:
        print(f"\n{'endpoint':<12} {'collected by':<40} {'token':<6} last renewed")
    for o in owners:
        renewed = services.templates.local(o.renewed_at, "%Y-%m-%d %H:%M:%S") if o.renewed_at else "-"
        owner = (o.owner or "nobody") + ("" if o.valid or o.owner is None else " (lease expired)")
        print(f"{o.endpoint:<12} {owner:<40} {o.token or '-':<6} {renewed}")
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    from bot.equipment.probe import simulate

    return asyncio.run(simulate(_settings(args).feature("equipment"), speed=args.speed,
                                cycle_time_s=args.cycle_time, seed=args.seed))


def parse_local(text: str, tz: ZoneInfo, *, end: bool) -> datetime:
    """A plant-local date (a whole day; `end` means its end) or date and time, as UTC."""
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date() + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"error: {text!r} is not a date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def run_export_states(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, needs={"database"})
    start, end = parse_local(args.start, settings.tz, end=False), parse_local(args.end, settings.tz, end=True)
    if end <= start:
        raise SystemExit("error: --to must be after --from")
    if args.format == "xlsx" and not args.out:
        raise SystemExit("error: --format xlsx needs --out FILE.xlsx")
    count = asyncio.run(_export(settings, start, end, args.format, args.out))
    if args.out:
        print(f"{count} intervals written to {args.out}", file=sys.stderr)
    return 0


async def _export(settings: Settings, start: datetime, end: datetime, fmt: str, out: str | None) -> int:
    from bot.equipment.export import write_intervals
    from bot.equipment.status import interval_rows
    from opsbot.app import build_services

    services = build_services(settings)
    async with services.sessions() as session:
        rows = await interval_rows(session, start, end, services.clock())
    await services.engine.dispose()  # type: ignore[union-attr]
    write_intervals(rows, settings.tz, fmt, out)
    return len(rows)


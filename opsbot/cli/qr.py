"""`opsbot qr url` (one label's payload) and `opsbot qr labels` (a printable sheet from the database)."""
from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.settings import Settings, load_settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    qr = sub.add_parser("qr", help="QR labels")
    qr_sub = qr.add_subparsers(dest="qr_command", required=True)
    url = qr_sub.add_parser("url", help="print the URL a label carries")
    url.add_argument("--kind", required=True, help="op, machine, training or patrol")
    url.add_argument("--id", action="append", required=True, dest="ids",
                     help="one per id field, in order (op: work order code, then operation seq)")
    url.add_argument("--expires-hours", type=float, help="the label stops working after this many hours")
    url.set_defaults(func=run_url)
    labels = qr_sub.add_parser("labels", help="write labels.html (A4) plus PNG/SVG per label")
    labels.add_argument("--kind", required=True, choices=["op", "machine", "patrol", "training"])
    labels.add_argument("--line", help="only this line code")
    labels.add_argument("--out", required=True, help="output directory")
    labels.set_defaults(func=run_labels)


def signer_for(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.qr import QrSigner

    return QrSigner(settings.qr.secret, settings.server.base_url)


def run_url(args: argparse.Namespace) -> int:
    from bot.qr import QrPayload

    settings = load_settings(args.config, needs={"qr"})
    expires = datetime.now(UTC) + timedelta(hours=args.expires_hours) if args.expires_hours else None
    try:
        print(signer_for(settings).url(QrPayload(args.kind, tuple(args.ids), expires)))
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


async def run_labels(args: argparse.Namespace) -> int:
    from bot.db import make_engine, make_session_factory
    from bot.reports.labels import labels_from_database
    from bot.templates import Templates

    settings = load_settings(args.config, needs={"database", "qr"})
    if args.kind == "training":  # from the catalog, not the database
        return _write(args, *_training_labels(settings, args.line), Templates(settings.tz))
    engine = make_engine(settings.database.url)
    try:
        async with make_session_factory(engine)() as session:
            templates = Templates(settings.tz)
            if args.kind == "patrol":  # checkpoint labels come from the checklists (content/patrols)
                from bot.patrols.labels import patrol_labels

                labels = [label for _, label in await patrol_labels(
                    session, signer_for(settings), templates, settings.feature("patrols"), args.line)]
                title = templates.render("patrols/labels_title.txt.j2", plant=settings.plant.name,
                                         line=args.line or "")
            else:
                labels, title = await labels_from_database(session, signer_for(settings), templates, args.kind,
                                                           args.line, settings.plant.name)
    finally:
        await engine.dispose()
    return _write(args, labels, title, templates)


def _training_labels(settings: Settings, line: str | None):  # type: ignore[no-untyped-def]
    from bot.templates import Templates
    from bot.training.catalog import parse_catalog
    from bot.training.labels import training_labels

    training = settings.feature("training")
    catalog = parse_catalog(training.catalog_path, training.media_path)
    return training_labels(signer_for(settings), Templates(settings.tz), catalog, settings.plant.name, line)


def _write(args: argparse.Namespace, labels, title: str, templates) -> int:  # type: ignore[no-untyped-def]
    if not labels:
        print("error: nothing to print (no matching work orders, machines or training items)", file=sys.stderr)
        return 1
    from bot.qr import write_labels

    written = write_labels(labels, Path(args.out), title=title, templates=templates)
    print(f"{len(labels)} labels: {written[0]} (+ PNG/SVG per label in {args.out})")
    return 0

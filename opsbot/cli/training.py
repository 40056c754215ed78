"""`opsbot training check` (catalog + media, one line per problem), `opsbot training media` (makes the demo's
clips), `opsbot training release CODE` (ends a trial early) and `opsbot export training` (the matrix)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.settings import Settings, load_settings
from opsbot.cli.reports import export_group


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    training = sub.add_parser("training", help="training videos (培训)")
    tsub = training.add_subparsers(dest="training_command", required=True)
    check = tsub.add_parser("check", help="validate the catalog and its media files")
    check.set_defaults(func=run_check)
    media = tsub.add_parser("media", help="make the demo's small MP4 clips and covers in the media folder")
    media.set_defaults(func=run_media)
    release = tsub.add_parser("release", help="release an item in trial to everyone now")
    release.add_argument("code")
    release.set_defaults(func=run_release)
    export = export_group(sub).add_parser("training", help="training completion (members × items)")
    export.add_argument("--format", choices=["csv", "xlsx"], help="default: from the --out suffix, else xlsx")
    export.add_argument("--by", choices=["matrix", "role", "line"], default="matrix")
    export.add_argument("--line", help="only this line code")
    export.add_argument("--out", required=True, help="file to write")
    export.set_defaults(func=run_export)


def _catalog(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.training.catalog import parse_catalog

    training = settings.feature("training")
    return parse_catalog(training.catalog_path, training.media_path)


def run_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    catalog = _catalog(settings)
    for problem in catalog.problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"{len(catalog.items)} items, {len(catalog.problems)} problems ({settings.feature('training').catalog_path})")
    return 1 if catalog.problems else 0


def run_media(args: argparse.Namespace) -> int:
    from bot.training.media import ensure_demo_media

    folder = load_settings(args.config).feature("training").media_path
    made = ensure_demo_media(folder)
    print(f"{len(made)} files made in {folder}" if made else f"demo media already in {folder}")
    return 0


async def run_release(args: argparse.Namespace) -> int:
    from bot.db import make_engine, make_session_factory, utcnow
    from bot.templates import Templates
    from bot.training.assignment import Assignments
    from bot.training.trial import Trials

    settings = load_settings(args.config, needs={"database"})
    catalog, training = _catalog(settings), settings.feature("training")
    engine = make_engine(settings.database.url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            templates, now, base = Templates(settings.tz), utcnow(), settings.server.base_url
            item = await Trials(session, training, catalog, templates, base, now).release(args.code, None)
            if item is None:
                print(f"error: no item {args.code} in the catalog", file=sys.stderr)
                return 1
            steps = await Assignments(session, training, catalog, templates, base, now).assign()
    finally:
        await engine.dispose()
    print(f"{item.code} v{item.version} released to everyone; {steps} required assignments made")
    return 0


async def run_export(args: argparse.Namespace) -> int:
    from bot.db import make_engine, make_session_factory
    from bot.tabular import write_csv, write_xlsx
    from bot.templates import CONTENT_DIR
    from bot.training.export import export_rows, names

    settings = load_settings(args.config, needs={"database"})
    out = Path(args.out)
    fmt = args.format or ("csv" if out.suffix.lower() == ".csv" else "xlsx")
    words = names(CONTENT_DIR)
    engine = make_engine(settings.database.url)
    try:
        async with make_session_factory(engine)() as session:
            header, rows = await export_rows(session, _catalog(settings), settings.feature("training"), args.by,
                                             words, args.line)
    finally:
        await engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        write_xlsx(out, header, rows, sheet=words["sheet"])
    else:
        write_csv(out, header, rows)
    print(f"{len(rows)} rows ({args.by}) -> {out} ({fmt})")
    return 0

"""Jinja2 rendering of everything a user reads; templates live in content/ so a plant can edit wording."""
from __future__ import annotations

import tomllib
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.wecom_markdown import md_escape, md_finalize

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
MARKDOWN_SUFFIX = ".md.j2"


class Templates:
    def __init__(self, tz: ZoneInfo, content_dir: Path = CONTENT_DIR) -> None:
        self.tz = tz
        self.content_dir = content_dir
        self.env = self._environment(autoescape=select_autoescape(enabled_extensions=("html", "html.j2")))
        # *.md.j2 (WeCom markdown) renders in its own environment, so that every value - also in the macros and
        # partials it imports or includes - is escaped for markdown; the templates' own markup stays.
        self.md_env = self._environment(autoescape=True, finalize=md_finalize)

    def _environment(self, **options: Any) -> Environment:
        env = Environment(
            loader=FileSystemLoader(self.content_dir / "templates"),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # no stat() per render; edited templates apply on restart
            **options,
        )
        env.filters["local"] = self.local
        env.filters["hm"] = lambda dt: self.local(dt, "%H:%M")
        env.filters["md"] = md_escape  # for markdown built inside a JSON template (e.g. demo/showcase.json.j2)
        return env

    def local(self, dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """Shows a stored UTC time in the plant's timezone, the only time a user should ever see."""
        return "" if dt is None else dt.astimezone(self.tz).strftime(fmt)

    def render(self, name: str, **context: Any) -> str:
        env = self.md_env if name.endswith(MARKDOWN_SUFFIX) else self.env
        return str(env.get_template(name).render(**context)).strip()

    @cached_property
    def help_entries(self) -> dict[str, dict[str, str]]:
        """Help lines per route name, from every content/templates/<feature>/help.toml."""
        entries: dict[str, dict[str, str]] = {}
        for path in sorted((self.content_dir / "templates").glob("*/help.toml")):
            entries.update(tomllib.loads(path.read_text(encoding="utf-8")))
        return entries

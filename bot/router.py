"""Declarative routing: each handlers/<feature>.py fills a Router; the app includes them in a visible order."""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.menu import SAY_PREFIX
from bot.people import may

if TYPE_CHECKING:
    from bot.context import Context, Reply
    from bot.models import User
    from bot.web.h5 import H5Handler

Handler = Callable[["Context"], Awaitable["Reply | None"]]
Roles = Iterable[str] | None


@dataclass(frozen=True)
class Route:
    kind: str  # command, text, image, scan, button, menu, event
    key: str
    handler: Handler
    name: str
    roles: frozenset[str] | None = None
    state: str | None = None
    pattern: re.Pattern[str] | None = None
    seed_only: bool = False


@dataclass(frozen=True)
class H5Route:
    method: str
    path: str
    handler: H5Handler
    name: str
    roles: frozenset[str] | None = None
    public: bool = False
    seed_only: bool = False


@dataclass
class Router:
    """One per feature module; decorators only record routes, nothing global happens at import."""

    name: str
    routes: list[Route] = field(default_factory=list)
    h5_routes: list[H5Route] = field(default_factory=list)

    def _add(self, kind: str, key: str, roles: Roles, state: str | None = None,
             pattern: re.Pattern[str] | None = None, seed_only: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(kind, key, handler, f"{self.name}.{handler.__name__}",
                                     frozenset(roles) if roles is not None else None, state, pattern, seed_only))
            return handler
        return register

    def command(self, *words: str, roles: Roles = None, seed_only: bool = False) -> Callable[[Handler], Handler]:
        """A message whose first word is one of `words` (case-insensitive); the rest is `ctx.args`."""
        def register(handler: Handler) -> Handler:
            for word in words:
                self._add("command", word.lower(), roles, seed_only=seed_only)(handler)
            return handler
        return register

    def text(self, pattern: str, *, roles: Roles = None, state: str | None = None,
             seed_only: bool = False) -> Callable[[Handler], Handler]:
        """Free text matching `pattern`; with `state`, only while the user's conversation is in that state."""
        return self._add("text", pattern, roles, state, re.compile(pattern), seed_only)

    def image(self, *, roles: Roles = None, state: str | None = None,
              seed_only: bool = False) -> Callable[[Handler], Handler]:
        """A photo the member sent (`ctx.inbound.media_id`); with `state`, only while the conversation is in it."""
        return self._add("image", "image", roles, state, seed_only=seed_only)

    def scan(self, kind: str, *, roles: Roles = None, seed_only: bool = False) -> Callable[[Handler], Handler]:
        """A scanned opsbot QR of `kind`, already verified; the payload is `ctx.qr`."""
        return self._add("scan", kind, roles, seed_only=seed_only)

    def button(self, prefix: str, *, roles: Roles = None, seed_only: bool = False) -> Callable[[Handler], Handler]:
        """A template-card button or submit whose key starts with `prefix` (the longest prefix wins)."""
        return self._add("button", prefix, roles, seed_only=seed_only)

    def menu(self, key: str, *, roles: Roles = None, seed_only: bool = False) -> Callable[[Handler], Handler]:
        return self._add("menu", key, roles, seed_only=seed_only)

    def event(self, name: str, *, roles: Roles = None) -> Callable[[Handler], Handler]:
        return self._add("event", name, roles)

    def h5(self, method: str, path: str, *, roles: Roles = None, public: bool = False,
           seed_only: bool = False) -> Callable[[H5Handler], H5Handler]:
        """An H5 page; the user is known through WeCom OAuth unless `public`; `seed_only` for 种子用户 (试用)."""
        def register(handler: H5Handler) -> H5Handler:
            self.h5_routes.append(H5Route(method.upper(), path, handler, f"{self.name}.{handler.__name__}",
                                          frozenset(roles) if roles is not None else None, public, seed_only))
            return handler
        return register

    def scan_page(self, kind: str, *, roles: Roles = None,
                  seed_only: bool = False) -> Callable[[H5Handler], H5Handler]:
        """The H5 page that a QR of `kind` opens when scanned with WeCom's own scanner (`ctx.qr` is set)."""
        return self.h5("GET", f"{SCAN_PAGE_PREFIX}{kind}", roles=roles, seed_only=seed_only)


SCAN_PAGE_PREFIX = "qr:"


@dataclass(frozen=True)
class Match:
    route: Route
    regex: re.Match[str] | None = None
    args: str = ""


class Dispatcher:
    """Finds the route for an inbound message; order of inclusion decides ties, as in aiogram."""

    def __init__(self, routers: list[Router]) -> None:
        self.routers = routers
        self.routes = [r for router in routers for r in router.routes]
        self.h5_routes = [r for router in routers for r in router.h5_routes]
        self._commands = {r.key: r for r in reversed(self.routes) if r.kind == "command"}
        self._by_kind: dict[str, list[Route]] = {}
        for r in self.routes:
            self._by_kind.setdefault(r.kind, []).append(r)
        self._visible: dict[tuple[frozenset[str], bool], list[Route]] = {}

    def match_text(self, text: str, state_name: str | None) -> Match | None:
        text = text.strip()
        if state_name:
            for r in self._by_kind.get("text", []):
                if r.state == state_name and r.pattern and (m := r.pattern.fullmatch(text)):
                    return Match(r, m)
        first, _, rest = text.partition(" ")
        if (r := self._commands.get(first.lower())) is not None:
            return Match(r, None, rest.strip())
        for r in self._by_kind.get("text", []):
            if r.state is None and r.pattern and (m := r.pattern.fullmatch(text)):
                return Match(r, m)
        return None

    def match_media(self, kind: str, state_name: str | None) -> Match | None:
        """A photo (or other media message): the route waiting in the user's state first, then a stateless one."""
        routes = self._by_kind.get(kind, [])
        waiting = [r for r in routes if state_name and r.state == state_name] or [r for r in routes if r.state is None]
        return Match(waiting[0]) if waiting else None

    def match_key(self, kind: str, key: str) -> Match | None:
        if kind == "button":
            candidates = [r for r in self._by_kind.get("button", []) if key.startswith(r.key)]
            return Match(max(candidates, key=lambda r: len(r.key))) if candidates else None
        for r in self._by_kind.get(kind, []):
            if r.key == key:
                return Match(r)
        if kind == "menu" and key.startswith(SAY_PREFIX):  # a menu button that stands for typed words
            return self.match_text(key.removeprefix(SAY_PREFIX), None)
        return None

    @staticmethod
    def allowed(route: Route | H5Route, user: User) -> bool:
        return may(user, route.roles, seed_only=route.seed_only)

    def visible_routes(self, user: User) -> list[Route]:
        """What `帮助` lists: the same for everyone with the same roles and seed flag, so computed once per
        combination (routes never change while the process runs; a plant has a handful of combinations)."""
        key = (frozenset(user.roles), bool(user.is_seed))
        cached = self._visible.get(key)
        if cached is None:
            seen: set[str] = set()
            cached = []
            for r in self.routes:
                if r.name not in seen and self.allowed(r, user):
                    seen.add(r.name)
                    cached.append(r)
            self._visible[key] = cached
        return list(cached)

    def describe(self) -> list[dict[str, Any]]:
        return [{"kind": r.kind, "key": r.key, "name": r.name} for r in self.routes]

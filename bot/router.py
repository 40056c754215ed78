"""Declarative routing: each handlers/<feature>.py fills a Router; the app includes them in a visible order."""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.context import Context, Reply
    from bot.web.h5 import H5Handler

Handler = Callable[["Context"], Awaitable["Reply | None"]]
Roles = Iterable[str] | None


@dataclass(frozen=True)
class Route:
    kind: str  # command, text, scan, button, menu, event
    key: str
    handler: Handler
    name: str
    roles: frozenset[str] | None = None
    state: str | None = None
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class H5Route:
    method: str
    path: str
    handler: H5Handler
    name: str
    roles: frozenset[str] | None = None
    public: bool = False


@dataclass
class Router:
    """One per feature module; decorators only record routes, nothing global happens at import."""

    name: str
    routes: list[Route] = field(default_factory=list)
    h5_routes: list[H5Route] = field(default_factory=list)

    def _add(self, kind: str, key: str, roles: Roles, state: str | None = None,
             pattern: re.Pattern[str] | None = None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(kind, key, handler, f"{self.name}.{handler.__name__}",
                                     frozenset(roles) if roles is not None else None, state, pattern))
            return handler
        return register

    def command(self, *words: str, roles: Roles = None) -> Callable[[Handler], Handler]:
        """A message whose first word is one of `words` (case-insensitive); the rest is `ctx.args`."""
        def register(handler: Handler) -> Handler:
            for word in words:
                self._add("command", word.lower(), roles)(handler)
            return handler
        return register

    def text(self, pattern: str, *, roles: Roles = None, state: str | None = None) -> Callable[[Handler], Handler]:
        """Free text matching `pattern`; with `state`, only while the user's conversation is in that state."""
        return self._add("text", pattern, roles, state, re.compile(pattern))

    def scan(self, kind: str, *, roles: Roles = None) -> Callable[[Handler], Handler]:
        """A scanned opsbot QR of `kind`, already verified; the payload is `ctx.qr`."""
        return self._add("scan", kind, roles)

    def button(self, prefix: str, *, roles: Roles = None) -> Callable[[Handler], Handler]:
        """A template-card button or submit whose key starts with `prefix` (the longest prefix wins)."""
        return self._add("button", prefix, roles)

    def menu(self, key: str, *, roles: Roles = None) -> Callable[[Handler], Handler]:
        return self._add("menu", key, roles)

    def event(self, name: str, *, roles: Roles = None) -> Callable[[Handler], Handler]:
        return self._add("event", name, roles)

    def h5(self, method: str, path: str, *, roles: Roles = None,
           public: bool = False) -> Callable[[H5Handler], H5Handler]:
        """An H5 page; the user is known through WeCom OAuth unless `public`."""
        def register(handler: H5Handler) -> H5Handler:
            self.h5_routes.append(H5Route(method.upper(), path, handler, f"{self.name}.{handler.__name__}",
                                          frozenset(roles) if roles is not None else None, public))
            return handler
        return register

    def scan_page(self, kind: str, *, roles: Roles = None) -> Callable[[H5Handler], H5Handler]:
        """The H5 page that a QR of `kind` opens when scanned with WeCom's own scanner (`ctx.qr` is set)."""
        return self.h5("GET", f"{SCAN_PAGE_PREFIX}{kind}", roles=roles)


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

    def match_key(self, kind: str, key: str) -> Match | None:
        if kind == "button":
            candidates = [r for r in self._by_kind.get("button", []) if key.startswith(r.key)]
            return Match(max(candidates, key=lambda r: len(r.key))) if candidates else None
        for r in self._by_kind.get(kind, []):
            if r.key == key:
                return Match(r)
        return None

    def allowed(self, route: Route | H5Route, roles: list[str]) -> bool:
        if route.roles is None:
            return True
        return "admin" in roles or bool(route.roles & set(roles))

    def visible_routes(self, roles: list[str]) -> list[Route]:
        seen: set[str] = set()
        result = []
        for r in self.routes:
            if r.name not in seen and self.allowed(r, roles):
                seen.add(r.name)
                result.append(r)
        return result

    def describe(self) -> list[dict[str, Any]]:
        return [{"kind": r.kind, "key": r.key, "name": r.name} for r in self.routes]

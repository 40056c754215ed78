"""Typed keys of what the assembly stores on the aiohttp application, for the core's own pages to read."""
from __future__ import annotations

from aiohttp import web

from bot.context import Services

SERVICES = web.AppKey("services", Services)

"""Malformed HTTP from the internet is the client's fault: one warning line, not an ERROR with a traceback.

aiohttp answers a request line or header it cannot parse (e.g. over 8 KB) with 400 itself, but logs it at
ERROR with a traceback on `aiohttp.server`, so any unauthenticated client could fill the log and page the
on-call. This filter turns those records into a short warning; real server errors are left alone.
"""
from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

LOGGER = "aiohttp.server"


class MalformedRequestFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 400) < 500:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = f"refused malformed HTTP request ({type(exc).__name__}): {str(exc.message)[:120]}"
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


def quiet_malformed_requests() -> None:
    """Installs the filter once per process (every app built in it shares the logger)."""
    logger = logging.getLogger(LOGGER)
    if not any(isinstance(f, MalformedRequestFilter) for f in logger.filters):
        logger.addFilter(MalformedRequestFilter())

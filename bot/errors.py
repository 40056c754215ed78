"""One error pipeline for handlers and jobs: log with context, count, never crash the caller."""
from __future__ import annotations

import logging
from collections import Counter

log = logging.getLogger("opsbot.errors")
error_counts: Counter[str] = Counter()


def report_error(where: str, exc: BaseException, **context: object) -> None:
    error_counts[where] += 1
    details = " ".join(f"{k}={v!r}" for k, v in context.items())
    log.error("%s failed: %s %s", where, exc, details, exc_info=exc)

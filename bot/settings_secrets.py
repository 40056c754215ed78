"""Refuses guessable signing secrets: a known or short secret lets anyone sign an H5 login cookie or a QR label."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

MIN_CHARS = 32
MIN_DISTINCT_CHARS = 10  # "aaaa…" or "1234…" is typed, not generated
MAKE_ONE = "python -c \"import secrets; print(secrets.token_urlsafe(32))\""
DEMO_SESSION_SECRET = "demo-session-secret-not-for-production"
DEMO_QR_SECRET = "demo-qr-secret-not-for-production"
DEMO_SECRETS = frozenset({DEMO_SESSION_SECRET, DEMO_QR_SECRET})
# Every value that was ever published in the source, the example config or the docs: public, so never a secret.
KNOWN_SECRETS = DEMO_SECRETS | frozenset({
    "change-me-session-secret", "change-me-long-random", "change-me-at-least-16-characters",
    "change-me-to-a-random-secret-of-32-characters-or-more", "change-me-to-another-random-secret-of-32-characters",
})
_PLACEHOLDER = re.compile(
    r"change[-_ .]?me|replace[-_ .]?me|placeholder|your[-_ .]?secret|not[-_ .]for[-_ .]production", re.IGNORECASE)
# (section, field, environment variable, the demo's own value, what it signs)
SIGNING_SECRETS = (
    ("server", "session_secret", "OPSBOT_SERVER_SESSION_SECRET", DEMO_SESSION_SECRET, "the H5 login cookie"),
    ("qr", "secret", "OPSBOT_QR_SECRET", DEMO_QR_SECRET, "QR labels"),
)


def weakness(value: str) -> str | None:
    """Why a secret is guessable, or None when it looks generated."""
    if not value:
        return "missing"
    if value in KNOWN_SECRETS or _PLACEHOLDER.search(value):
        return "a published placeholder, not a secret"
    if len(value) < MIN_CHARS:
        return f"only {len(value)} characters, at least {MIN_CHARS} needed"
    if len(set(value)) < MIN_DISTINCT_CHARS:
        return "too few different characters to be random"
    return None


def secret_problems(settings: Settings, needs: set[str] | frozenset[str]) -> list[str]:
    """One line per weak signing secret of the sections the command uses; the demo's values pass only in the demo.

    `needs` containing "demo" means the command is `opsbot demo`, which always talks to its own sandbox."""
    problems = []
    for section, name, env, demo_value, signs in SIGNING_SECRETS:
        if section not in needs:
            continue
        value = getattr(getattr(settings, section), name)
        if value == demo_value:
            if "demo" in needs:
                continue
            problems.append(f"{section}.{name}: this is the demo's value (config/demo.toml), so anyone can sign "
                            f"{signs}; to try the demo run `opsbot demo`, for a real plant make a secret with "
                            f"{MAKE_ONE} and put it here or in {env}")
            continue
        why = weakness(value)
        if why is not None:
            problems.append(f"{section}.{name}: {why}; it signs {signs}, so make one with {MAKE_ONE} "
                            f"and put it here or in the environment variable {env}")
    return problems

"""Checklist versions: the files as they are now become numbered versions, and a round keeps the one it was made
with, so editing a checklist never rewrites what was done under the old one."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models.patrols import PatrolChecklistVersion
from bot.patrols.definitions import Checklist, DefinitionError, load_checklists, parse_checklist

_loaded: dict[Path, tuple[float, list[Checklist]]] = {}
_versions: dict[tuple[str, int, str], Checklist] = {}  # versions never change: parse each once per process


def current_checklists(folder: Path) -> list[Checklist]:
    """The checklists on disk, re-read when a file changed; a broken edit keeps refusing with its problems."""
    stamp = max((p.stat().st_mtime for p in folder.glob("*.toml")), default=0.0) if folder.is_dir() else 0.0
    cached = _loaded.get(folder)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    found, problems = load_checklists(folder)
    if problems:
        raise DefinitionError(problems)
    _loaded[folder] = (stamp, found)
    return found


def insert_ignoring_conflict(session: AsyncSession, model: Any, keys: list[str]) -> Any:
    """An INSERT that skips a row whose unique key exists (also one a concurrent transaction is adding)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing(index_elements=keys)
    return insert(model)


async def version_of(session: AsyncSession, checklist: Checklist, now: datetime) -> int:
    """The version number of this content, made on first sight (two replicas agree: the digest is unique)."""
    known = await session.scalar(select(PatrolChecklistVersion.version).where(
        PatrolChecklistVersion.code == checklist.code, PatrolChecklistVersion.digest == checklist.digest))
    if known is not None:
        return int(known)
    for _ in range(3):
        latest = await session.scalar(select(func.max(PatrolChecklistVersion.version)).where(
            PatrolChecklistVersion.code == checklist.code))
        statement = insert_ignoring_conflict(session, PatrolChecklistVersion, ["code", "digest"]).values(
            code=checklist.code, version=int(latest or 0) + 1, digest=checklist.digest, definition=checklist.raw,
            created_at=now)
        await session.execute(statement)
        known = await session.scalar(select(PatrolChecklistVersion.version).where(
            PatrolChecklistVersion.code == checklist.code, PatrolChecklistVersion.digest == checklist.digest))
        if known is not None:
            return int(known)
    raise RuntimeError(f"checklist {checklist.code}: could not record its version")


async def checklist_at(session: AsyncSession, code: str, version: int) -> Checklist:
    """The checklist as it was in `version` (a round is always answered against its own version)."""
    row = await session.scalar(select(PatrolChecklistVersion).where(
        PatrolChecklistVersion.code == code, PatrolChecklistVersion.version == version))
    if row is None:
        raise LookupError(f"checklist {code} v{version} unknown")
    key = (code, version, row.digest)
    if key not in _versions:
        _versions[key] = parse_checklist(row.definition)
    return _versions[key]

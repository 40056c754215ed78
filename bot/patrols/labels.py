"""Printable checkpoint labels (QR kind `patrol`): one per checkpoint, per machine for per-machine checklists."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.patrols.dispatch import targets_of
from bot.patrols.service import checkpoint_qr_id
from bot.patrols.settings import PatrolsSettings
from bot.patrols.versions import current_checklists
from bot.qr import Label, QrPayload, QrSigner, make_label
from bot.templates import Templates


async def patrol_labels(session: AsyncSession, signer: QrSigner, templates: Templates, settings: PatrolsSettings,
                        line_code: str | None = None) -> list[tuple[QrPayload, Label]]:
    """(payload, label) per checkpoint, in checklist order."""
    labels: list[tuple[QrPayload, Label]] = []
    for checklist in current_checklists(settings.path()):
        machine_scope = checklist.scope in ("machine", "machine_type")
        for target in await targets_of(session, checklist, settings):
            if line_code and checklist.scope != "plant" and not target.key.startswith(("line:" + line_code,
                                                                                       "machine:" + line_code)):
                continue
            machine = target.key.removeprefix("machine:") if machine_scope else None
            for cp in checklist.checkpoints:
                name = f"{checklist.name} · {cp.name}" + (f" · {machine}" if machine else "")
                payload = QrPayload("patrol", (checkpoint_qr_id(checklist.code, cp.code, machine),))
                labels.append((payload, make_label(signer, payload, name=name, templates=templates)))
    return labels

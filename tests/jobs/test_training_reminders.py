"""Required training for a new 质检员 on a simulated clock: assigned once, reminded once before the due time,
escalated once to the line's team lead after it; a new version assigns it again."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import OutboxMessage
from bot.models.training import TrainingAssignment
from jobs import training_reminders
from tests.bot.training.support import Clock, media_copy, training_overrides
from tests.conftest import Stack
from tests.handlers.training_support import release_all, seed_plant

pytestmark = pytest.mark.db
DAY = 86400


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stack_overrides(tmp_path: Path) -> dict[str, dict[str, Any]]:
    return training_overrides(media_copy(tmp_path / "media"))


async def texts(stack: Stack, prefix: str) -> list[OutboxMessage]:
    async with stack.services.sessions() as session:
        key = OutboxMessage.idempotency_key
        rows = await session.scalars(select(OutboxMessage).where(
            key.like(f"{prefix}%") if prefix.endswith(":") else key == prefix))
        return list(rows)


async def test_new_qc_is_assigned_reminded_and_escalated_once_each(stack: Stack, clock: Clock) -> None:
    lines = await seed_plant(stack)
    await release_all(stack)
    await training_reminders.run(stack.services, clock())
    assert not [m for m in await texts(stack, "trn:assign:") if "qc1" in m.target["touser"]]
    await stack.add_user("qc1", "质检孙", ["qc"], line_id=lines["L1"])  # a new 质检员 (import or admin)
    clock.advance(60)
    await training_reminders.run(stack.services, clock())
    async with stack.services.sessions() as session:
        [assignment] = (await session.scalars(select(TrainingAssignment).where(
            TrainingAssignment.code == "QC-01"))).all()
    assert (assignment.due_at - clock()).total_seconds() == pytest.approx(5 * DAY)
    [assigned] = [m for m in await texts(stack, "trn:assign:") if m.target["touser"] == ["qc1"]]
    assert "首件检验要点" in assigned.payload["content"]

    clock.advance(3 * DAY)  # two days before: nothing yet (24 h before by default)
    await training_reminders.run(stack.services, clock())
    assert await texts(stack, f"trn:remind:{assignment.id}") == []
    clock.advance(DAY + 3600)
    for _ in range(2):
        await training_reminders.run(stack.services, clock())
        clock.advance(600)
    [reminder] = await texts(stack, f"trn:remind:{assignment.id}")
    assert reminder.target["touser"] == ["qc1"] and reminder.priority == 2
    assert await texts(stack, f"trn:escalate:{assignment.id}") == []

    clock.advance(DAY)  # overdue
    for _ in range(3):
        await training_reminders.run(stack.services, clock())
        clock.advance(600)
    [escalation] = await texts(stack, f"trn:escalate:{assignment.id}")
    assert escalation.target["touser"] == ["lead1"] and escalation.priority == 1
    assert "质检孙" in escalation.payload["content"]
    assert len(await texts(stack, f"trn:remind:{assignment.id}")) == 1
    await stack.sandbox.wait_for_message(lambda m: "lead1" in m.touser and "质检孙" in str(m.payload))


async def test_a_new_version_assigns_again(stack: Stack, clock: Clock, tmp_path: Path) -> None:
    from bot.training import catalog as catalog_module

    lines = await seed_plant(stack)
    await stack.add_user("qc1", "质检孙", ["qc"], line_id=lines["L1"])
    await release_all(stack)
    await training_reminders.run(stack.services, clock())
    settings = stack.services.settings.feature("training")
    changed = tmp_path / "catalog.toml"
    changed.write_text(settings.catalog_path.read_text(encoding="utf-8").replace(
        'code = "QC-01"\ntitle = "首件检验要点"', 'code = "QC-01"\ntitle = "首件检验要点（新版）"').replace(
        "version = 2\nrequired = { qc = 5 }", "version = 3\nrequired = { qc = 5 }"), encoding="utf-8")
    settings.catalog = str(changed)
    assert catalog_module.load_catalog(changed, settings.media_path).items["QC-01"].version == 3
    await release_all(stack)
    await training_reminders.run(stack.services, clock())
    async with stack.services.sessions() as session:
        versions = sorted(a.version for a in await session.scalars(select(TrainingAssignment).where(
            TrainingAssignment.code == "QC-01")))
    assert versions == [2, 3]

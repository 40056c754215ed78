"""The scheduled side in real time: the poll job starts the collectors under the app's scheduler, a stopped
machine becomes a card in the sandbox; the escalation job is a no-op without equipment."""
from __future__ import annotations

from typing import Any

import pytest

from integrations.opcua.simulator import PlantSimulator
from jobs import JOBS, andon_escalation, equipment_poll
from tests.bot.equipment.support import equipment_config, intervals, seed_machines
from tests.conftest import Stack, eventually

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture
def stack_overrides(sim: PlantSimulator) -> dict[str, Any]:
    # The scheduler may start the collectors before the test has seeded the machines: they are found again.
    return {"equipment": {**equipment_config(sim, threshold_s=0.5), "master_data_recheck_s": 0.2},
            "jobs": {"equipment_poll": {"interval_s": 0.2}, "andon_escalation": {"enabled": False}}}


def test_jobs_are_registered() -> None:
    assert {"equipment_poll", "andon_escalation"} <= {job.name for job in JOBS}


async def test_poll_job_runs_collectors_that_raise_an_alert(stack: Stack, sim: PlantSimulator) -> None:
    lines = await seed_machines(stack.services.sessions)
    await stack.add_user("wang", "王师傅", ["maintenance"], line_id=lines["L1"])
    await sim.fail("L1-M1", alarm=105)
    try:
        card = await stack.sandbox.wait_for_message(lambda m: m.msgtype == "template_card", timeout=15)
        assert card.touser == ["wang"] and "L1-M1" in card.payload["main_title"]["desc"]
        runtime = stack.services.equipment
        assert runtime is not None and runtime.running
        await equipment_poll.run(stack.services, stack.services.clock())  # a later firing changes nothing
        assert len(runtime.collectors) == 1
        await eventually(lambda: intervals(stack.services.sessions, "L1-M2"))
        assert [s for s, _, _ in await intervals(stack.services.sessions, "L1-M1")] == ["down"]
    finally:
        runtime = stack.services.equipment
        if runtime is not None:
            await runtime.stop()


async def test_escalation_job_without_alerts_does_nothing(stack: Stack) -> None:
    result = await andon_escalation.run(stack.services, stack.services.clock())
    assert (result.raised, result.escalated, result.cancelled) == (0, 0, 0)

"""The simulated plant is deterministic per seed and behaves like machines: parts, scrap, stops."""

from __future__ import annotations

import random

import pytest

from integrations.opcua.sim_model import DOWN, IDLE, PLANNED_STOP, RUNNING, MachineModel
from integrations.opcua.simulator import STATE_CODES, PlantSimulator, SimMachine, default_machines


def run_for(seed: str, seconds: float, step: float = 1.0) -> tuple[MachineModel, set[int]]:
    model = MachineModel(SimMachine("M", cycle_time_s=2.0, mtbf_s=300, mttr_s=60), random.Random(seed))
    seen: set[int] = set()
    for _ in range(int(seconds / step)):
        model.advance(step)
        seen.add(model.state)
    return model, seen


def test_same_seed_same_plant_and_tick_size_does_not_matter() -> None:
    coarse, _ = run_for("1:M", 3600, step=10)
    fine, seen = run_for("1:M", 3600, step=0.5)
    other, _ = run_for("2:M", 3600, step=10)
    assert (coarse.good, coarse.scrap, coarse.state) == (fine.good, fine.scrap, fine.state)
    assert (other.good, other.scrap) != (coarse.good, coarse.scrap)
    assert {RUNNING, IDLE, DOWN} <= seen
    assert 600 < fine.total < 1800  # at most one part per 2 s, less while idle or down
    assert 0 < fine.scrap < fine.total * 0.1


def test_manual_states_hold_until_changed() -> None:
    model = MachineModel(SimMachine("M", mtbf_s=0, idle_rate=0), random.Random(1))
    model.advance(10)
    assert (model.state, model.good + model.scrap) == (RUNNING, 5)
    model.set_state(DOWN, alarm=205)
    model.advance(10_000)
    assert (model.state, model.alarm, model.total) == (DOWN, 205, 5)
    model.set_state(PLANNED_STOP)
    model.advance(100)
    assert (model.state, model.alarm) == (PLANNED_STOP, 0)
    model.repair()
    model.advance(4)
    assert (model.state, model.total) == (RUNNING, 7)


def test_node_ids_forms_and_extra_tags() -> None:
    sim = PlantSimulator(default_machines(4), extra_tags_per_machine=2, speed=0)
    assert [m.code for m in default_machines(4)] == ["L1-M1", "L1-M2", "L1-M3", "L2-M1"]
    assert sim.node_ids("L2-M1") == {
        "state": "ns=2;s=L2-M1.State",
        "good": "ns=2;s=L2-M1.Good",
        "scrap": "ns=2;s=L2-M1.Scrap",
        "total": "ns=2;s=L2-M1.Total",
        "alarm": "ns=2;s=L2-M1.Alarm",
        "temperature": "ns=2;s=L2-M1.Temperature",
        "x001": "ns=2;s=L2-M1.X001",
        "x002": "ns=2;s=L2-M1.X002",
    }
    assert sim.node_ids("L1-M1", form="nsu")["good"] == "nsu=urn:opsbot:sim;s=L1-M1.Good"
    assert (
        sim.node_ids("L1-M1", form="path")["state"]
        == "nsu=urn:opsbot:sim;path=Objects/2:Plant/2:L1-M1/2:State"
    )
    assert STATE_CODES[3] == "down"
    with pytest.raises(KeyError):
        sim.node_ids("nope")

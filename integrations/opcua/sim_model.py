"""The simulated machine: a small, seeded, event-driven model advanced by tick(seconds)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

RUNNING, IDLE, DOWN, PLANNED_STOP, SETUP = 1, 2, 3, 4, 5
ALARMS = (101, 102, 105, 110, 120, 130, 205, 310)
_EPSILON = 1e-9


@dataclass
class SimMachine:
    """What a simulated machine is like; times in seconds."""

    code: str
    cycle_time_s: float = 2.0
    scrap_rate: float = 0.02
    mtbf_s: float = 600
    mttr_s: float = 120
    idle_rate: float = 0.05  # chance, after each part, of waiting for material for a few cycles


@dataclass
class MachineModel:
    """Live state of one machine; held states (set by hand) stay until changed by hand."""

    spec: SimMachine
    rng: random.Random
    state: int = RUNNING
    alarm: int = 0
    good: int = 0
    scrap: int = 0
    temperature: float = 25.0
    held: bool = False
    part_progress_s: float = 0.0
    time_to_failure_s: float = field(default=math.inf)
    remaining_s: float = 0.0  # of an automatic idle or repair

    def __post_init__(self) -> None:
        # Noise draws its own stream, so events do not depend on how time is cut into ticks.
        self._noise = random.Random(self.rng.random())
        self.time_to_failure_s = self._sample_failure()

    @property
    def total(self) -> int:
        return self.good + self.scrap

    def advance(self, seconds: float) -> None:
        """Move the machine forward in time, event by event."""
        left = seconds
        while left > _EPSILON and not self.held:
            if self.state == RUNNING:
                left -= self._run(left)
            else:
                step = min(left, self.remaining_s)
                self.remaining_s -= step
                left -= step
                if self.remaining_s <= _EPSILON:
                    self._resume(sample_failure=self.state == DOWN)
        self._drift_temperature(seconds)

    def set_state(self, state: int, alarm: int = 0) -> None:
        """Hold a state chosen by hand (running resumes automatic behaviour)."""
        if state == RUNNING:
            self._resume(sample_failure=True)
            self.alarm = alarm
            return
        self.state, self.alarm, self.held = state, alarm, True

    def repair(self) -> None:
        """End a failure (or any held state) and start running."""
        self._resume(sample_failure=True)

    def _run(self, left: float) -> float:
        """Run until the next part, failure or the end of the tick; returns the time used."""
        step = min(left, self.spec.cycle_time_s - self.part_progress_s, self.time_to_failure_s)
        self.part_progress_s += step
        self.time_to_failure_s -= step
        if self.time_to_failure_s <= _EPSILON:
            self.state, self.alarm = DOWN, self.rng.choice(ALARMS)
            self.remaining_s = self.rng.expovariate(1 / self.spec.mttr_s) if self.spec.mttr_s > 0 else 0.0
            self.part_progress_s = 0.0
        elif self.part_progress_s >= self.spec.cycle_time_s - _EPSILON:
            self.part_progress_s = 0.0
            if self.rng.random() < self.spec.scrap_rate:
                self.scrap += 1
            else:
                self.good += 1
            if self.rng.random() < self.spec.idle_rate:
                self.state = IDLE
                self.remaining_s = self.rng.uniform(2, 10) * self.spec.cycle_time_s
        return step

    def _resume(self, *, sample_failure: bool) -> None:
        self.state, self.alarm, self.held, self.remaining_s = RUNNING, 0, False, 0.0
        if sample_failure:
            self.time_to_failure_s = self._sample_failure()

    def _sample_failure(self) -> float:
        return self.rng.expovariate(1 / self.spec.mtbf_s) if self.spec.mtbf_s > 0 else math.inf

    def _drift_temperature(self, seconds: float) -> None:
        target = 65.0 if self.state == RUNNING else 25.0
        self.temperature += (target - self.temperature) * (1 - math.exp(-seconds / 120))
        self.temperature = round(self.temperature + self._noise.uniform(-0.05, 0.05), 2)

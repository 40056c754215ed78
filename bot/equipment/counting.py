"""Pure per-machine reading of one ReadCycle: the state it shows and the parts made since the last read."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.equipment.settings import EquipmentSettings, MachineSettings
from integrations.opcua import ReadCycle, counter_delta, map_state

COUNTER_KEYS = ("good", "total", "scrap")
_KIND_RANK = {"normal": 0, "wrap": 1, "reset": 2}


@dataclass(frozen=True)
class MachineReading:
    """What one cycle says about one machine; `counters` is None when they cannot be trusted this cycle."""

    state: str
    raw_state: str | None
    reason_code: str | None
    counters: dict[str, int] | None
    extras: dict[str, Any]


@dataclass(frozen=True)
class Parts:
    good: int
    scrap: int
    kind: str  # normal, wrap, reset


def read_machine(cycle: ReadCycle, machine: MachineSettings, settings: EquipmentSettings) -> MachineReading:
    """An unreachable endpoint or a bad/unmapped state tag is `unknown`, never running or down."""
    prefix = f"{machine.code}/"
    values = {key.removeprefix(prefix): v for key, v in cycle.values.items() if key.startswith(prefix)}
    extras = {k.removeprefix("extra."): (v.value if v.good else None) for k, v in values.items()
              if k.startswith("extra.")}
    state_tag = values.get("state")
    if not cycle.ok or state_tag is None or not state_tag.good:
        return MachineReading("unknown", None, None, None, extras)
    raw = state_tag.value
    state = map_state(raw, machine.state_map)
    alarm = values.get("alarm")
    reason = settings.reason_for_alarm(alarm.value) if alarm is not None and alarm.good else None
    counters: dict[str, int] | None = {}
    for key in COUNTER_KEYS:
        if key not in machine.tags:
            continue
        tag = values.get(key)
        if tag is None or not tag.good or isinstance(tag.value, bool) or not isinstance(tag.value, int | float):
            counters = None
            break
        counters[key] = int(tag.value)  # type: ignore[index]
    if alarm is not None and alarm.good:
        extras["alarm"] = alarm.value
    return MachineReading(state, None if raw is None else str(raw), reason if state == "down" else None,
                          counters or None, extras)


def parts_between(previous: dict[str, int] | None, current: dict[str, int],
                  counter_max: int) -> Parts | None:
    """Good and scrap made between two counter readings; None when there is nothing to compare with (or a
    glitch), so the caller keeps its previous reading."""
    deltas: dict[str, int] = {}
    kinds: list[str] = []
    for key, value in current.items():
        delta, kind = counter_delta(None if previous is None else previous.get(key), value, counter_max)
        if kind in ("first", "invalid"):
            return None
        deltas[key] = delta
        kinds.append(kind)
    if "good" in deltas and "scrap" in deltas:
        good, scrap = deltas["good"], deltas["scrap"]
    elif "good" in deltas:
        good, scrap = deltas["good"], max(0, deltas.get("total", 0) - deltas["good"])
    else:
        scrap = deltas.get("scrap", 0)
        good = max(0, deltas.get("total", 0) - scrap)
    return Parts(good, scrap, max(kinds, key=_KIND_RANK.__getitem__, default="normal"))

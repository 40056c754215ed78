"""Points the equipment feature at the demo's OPC UA simulator when the config names no machines itself."""
from __future__ import annotations

from typing import Any

from bot.settings import Settings

ENDPOINT_NAME = "demo-plant"
COUNTER_TAGS = ("state", "good", "total", "scrap", "alarm")


def wire_equipment(settings: Settings, simulator: Any, endpoint_url: str, codes: list[str]) -> bool:
    """Fills [equipment] endpoints and machines from the simulator; False when the config already has some."""
    try:
        from bot.equipment.settings import EquipmentSettings, MachineSettings
    except ImportError:
        return False
    equipment = settings.feature("equipment")
    if not isinstance(equipment, EquipmentSettings) or equipment.machines or equipment.endpoints:
        return False
    equipment.endpoints = [{"name": ENDPOINT_NAME, "url": endpoint_url, "interval_s": 1.0}]
    for code in codes:
        nodes = simulator.node_ids(code, form="nsu")
        equipment.machines.append(MachineSettings(
            code=code, endpoint=ENDPOINT_NAME, tags={key: nodes[key] for key in COUNTER_TAGS},
            extra={"temperature": nodes["temperature"]}, output="both"))
    problems = equipment.validate()
    if problems:
        raise SystemExit("error: cannot wire the demo machines to the OPC UA simulator: " + "; ".join(problems))
    return True

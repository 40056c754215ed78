"""[demo] settings: what `opsbot demo` starts beside the bot and the sandbox."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DemoSettings:
    seed: bool = True
    opcua: bool = True
    opcua_host: str = "127.0.0.1"
    opcua_port: int = 4840
    simulator_speed: float = 1.0

    def validate(self) -> list[str]:
        problems = []
        if not 0 <= self.opcua_port <= 65535:
            problems.append(f"opcua_port: {self.opcua_port} is not a TCP port")
        if self.simulator_speed < 0:
            problems.append("simulator_speed: must not be negative")
        return problems

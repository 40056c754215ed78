"""`[equipment]` in the config: OPC UA endpoints, machines and their tags, andon thresholds and recipients."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrations.opcua.config import EndpointConfig, TagRef, parse_endpoints, parse_node_ref

STATES = ("running", "idle", "down", "planned_stop", "setup", "unknown")
TAG_KEYS = ("state", "good", "total", "scrap", "alarm")
UINT32_MAX = 4_294_967_295
OUTPUTS = ("counters", "reports", "both")  # where a machine's output counts for the KPIs come from


def _default_state_map() -> dict[str, str]:
    return {"1": "running", "2": "idle", "3": "down", "4": "planned_stop", "5": "setup"}


@dataclass
class MachineSettings:
    """One machine: its master-data code, the endpoint that serves it and the node of each tag."""

    code: str = ""
    endpoint: str = ""
    tags: dict[str, str] = field(default_factory=dict)  # state, good, total, scrap, alarm
    extra: dict[str, str] = field(default_factory=dict)  # temperature, spindle load… (shown, not stored)
    state_map: dict[str, str] = field(default_factory=_default_state_map)
    counter_max: int = UINT32_MAX
    # counters: KPIs count the PLC's parts; reports: people's reports; both: counters, plus a per-shift
    # reconciliation of reported vs counted to the team leads. Empty: both with counter tags, else reports.
    output: str = ""

    def output_source(self) -> str:
        """The output source in force; a machine without counter tags can only be judged by its reports."""
        if self.output:
            return self.output
        return "both" if {"good", "total", "scrap"} & set(self.tags) else "reports"

    def validate(self) -> list[str]:
        problems = []
        if not self.code:
            problems.append("code: required, the machine code from master data")
        if not self.endpoint:
            problems.append("endpoint: required, the name of one of [[equipment.endpoints]]")
        for key in sorted(set(self.tags) - set(TAG_KEYS)):
            problems.append(f"tags.{key}: unknown tag (known: {', '.join(TAG_KEYS)}; others go in extra)")
        if "state" not in self.tags:
            problems.append("tags.state: required, the node holding the machine state")
        counters = {"good", "total", "scrap"} & set(self.tags)
        if counters and len(counters) < 2:
            problems.append("tags: give two of good, total, scrap (or none) so good and scrap can be told apart")
        for key, node in [*self.tags.items(), *(("extra." + k, v) for k, v in self.extra.items())]:
            try:
                parse_node_ref(node)
            except ValueError as exc:
                problems.append(f"tags.{key}: {exc}")
        for raw, state in self.state_map.items():
            if state not in STATES:
                problems.append(f"state_map.{raw}: {state!r} is not one of {', '.join(STATES)}")
        if self.counter_max < 1:
            problems.append("counter_max: must be positive (4294967295 for a UInt32 counter)")
        if self.output and self.output not in OUTPUTS:
            problems.append(f"output: one of {', '.join(OUTPUTS)}, got {self.output!r}")
        elif self.output in ("counters", "both") and not counters:
            problems.append(f"output: {self.output!r} needs counter tags (two of good, total, scrap)")
        return problems

    def tag_refs(self) -> list[TagRef]:
        """Tags keyed "<code>/<key>" so one endpoint can serve many machines."""
        refs = [TagRef(f"{self.code}/{key}", node) for key, node in self.tags.items()]
        return refs + [TagRef(f"{self.code}/extra.{key}", node) for key, node in self.extra.items()]


@dataclass
class LineRecipients:
    """Who hears about a stopped machine on one line; empty lists fall back to roles on that line."""

    line: str = ""
    maintenance: list[str] = field(default_factory=list)
    team_leads: list[str] = field(default_factory=list)
    managers: list[str] = field(default_factory=list)
    webhook_key: str = ""  # the line's group robot; robots cannot take buttons, so they get markdown


@dataclass
class ReasonSettings:
    code: str = ""
    name: str = ""


def _default_reasons() -> list[ReasonSettings]:
    return [ReasonSettings("MECH", "机械故障"), ReasonSettings("ELEC", "电气故障"),
            ReasonSettings("TOOL", "刀具/模具"), ReasonSettings("MAT", "缺料/来料"),
            ReasonSettings("PROG", "程序/参数"), ReasonSettings("OTHER", "其他")]


@dataclass
class AndonSettings:
    threshold_s: float = 120.0  # down this long before maintenance is called
    min_gap_s: float = 600.0  # at most one alert per machine in this window (flapping)
    recover_s: float = 300.0  # an untaken alert is cancelled after the machine ran this long
    escalate_after_min: list[float] = field(default_factory=lambda: [10.0, 20.0])  # team lead, manager

    def validate(self) -> list[str]:
        problems = []
        if self.threshold_s < 0 or self.min_gap_s < 0 or self.recover_s < 0:
            problems.append("threshold_s, min_gap_s, recover_s: must not be negative")
        if len(self.escalate_after_min) > 2 or any(m <= 0 for m in self.escalate_after_min):
            problems.append("escalate_after_min: up to two positive minutes (team lead, then manager)")
        elif self.escalate_after_min != sorted(self.escalate_after_min):
            problems.append("escalate_after_min: must increase (team lead first, then manager)")
        return problems


@dataclass
class EquipmentSettings:
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    machines: list[MachineSettings] = field(default_factory=list)
    lines: list[LineRecipients] = field(default_factory=list)
    andon: AndonSettings = field(default_factory=AndonSettings)
    reasons: list[ReasonSettings] = field(default_factory=_default_reasons)
    alarm_reasons: dict[str, str] = field(default_factory=dict)  # PLC alarm code -> reason code
    stale_after_s: float = 30.0  # a longer silence (bot stopped) is recorded as unknown time
    master_data_recheck_s: float = 30.0  # how often configured machines missing from master data are looked for

    def validate(self) -> list[str]:
        _, problems = parse_endpoints(self.endpoints, where="endpoints")
        raw_names = {str(e.get("name")) for e in self.endpoints if isinstance(e, dict) and e.get("name")}
        seen: set[str] = set()
        for i, machine in enumerate(self.machines):
            if machine.endpoint and machine.endpoint not in raw_names:
                problems.append(f"machines[{i}].endpoint: no endpoint named {machine.endpoint!r} "
                                f"(known: {', '.join(sorted(raw_names)) or 'none'})")
            if machine.code in seen:
                problems.append(f"machines[{i}].code: duplicate machine {machine.code!r}")
            seen.add(machine.code)
        codes = [r.code for r in self.reasons]
        if not self.reasons or len(set(codes)) != len(codes) or not all(r.code and r.name for r in self.reasons):
            problems.append("reasons: at least one, each with a unique code and a name")
        if self.master_data_recheck_s <= 0:
            problems.append("master_data_recheck_s: must be positive")
        for alarm, code in self.alarm_reasons.items():
            if code not in codes:
                problems.append(f"alarm_reasons.{alarm}: {code!r} is not a code in reasons")
        lines = [r.line for r in self.lines]
        if len(set(lines)) != len(lines) or not all(lines):
            problems.append("lines: each needs a unique line code")
        return problems

    def endpoint_configs(self) -> list[EndpointConfig]:
        """Endpoints that serve at least one machine (validated at start, so parsing cannot fail here)."""
        endpoints, _ = parse_endpoints(self.endpoints, where="endpoints")
        used = {m.endpoint for m in self.machines}
        return [e for e in endpoints if e.name in used]

    def machines_of(self, endpoint: str) -> list[MachineSettings]:
        return [m for m in self.machines if m.endpoint == endpoint]

    def recipients(self, line_code: str) -> LineRecipients:
        return next((r for r in self.lines if r.line == line_code), LineRecipients(line=line_code))

    def reason_name(self, code: str | None) -> str:
        return next((r.name for r in self.reasons if r.code == code), code or "")

    def reason_for_alarm(self, alarm: Any) -> str | None:
        """The reason code a PLC alarm stands for; an unmapped alarm is kept as "ALM<code>"."""
        if alarm in (None, 0, "", "0", False):
            return None
        key = str(int(alarm)) if isinstance(alarm, float) and alarm.is_integer() else str(alarm)
        return self.alarm_reasons.get(key, f"ALM{key}")

"""What a round and a checkpoint look like to the member: plain data the cards, chat and H5 pages render."""
from __future__ import annotations

from dataclasses import dataclass, field

from bot.models.patrols import PatrolAnswer, PatrolRound, PatrolVisit
from bot.patrols.definitions import Checklist, Checkpoint, Item

STATUS_NAMES = {"open": "待巡检", "started": "进行中", "done": "已完成", "missed": "漏检", "skipped": "已跳过"}
CLOSED = ("done", "missed", "skipped")


@dataclass
class ItemState:
    item: Item
    answer: PatrolAnswer | None = None


@dataclass
class CheckpointView:
    round: PatrolRound
    checklist: Checklist
    checkpoint: Checkpoint
    visit: PatrolVisit | None
    items: list[ItemState]
    issue_statuses: dict[str, str] = field(default_factory=dict)

    @property
    def next_item(self) -> ItemState | None:
        return next((s for s in self.items if s.answer is None), None)

    @property
    def done(self) -> bool:
        return self.next_item is None

    @property
    def ng_count(self) -> int:
        return sum(1 for s in self.items if s.answer is not None and s.answer.ng)


@dataclass
class RoundView:
    round: PatrolRound
    checklist: Checklist
    scope_name: str
    checkpoints: list[CheckpointView]
    assignee_names: list[str] = field(default_factory=list)

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.round.status, self.round.status)

    @property
    def closed(self) -> bool:
        return self.round.status in CLOSED

    @property
    def done_checkpoints(self) -> int:
        return sum(1 for c in self.checkpoints if c.done)

    @property
    def answered(self) -> int:
        return sum(1 for c in self.checkpoints for s in c.items if s.answer is not None)

    @property
    def total(self) -> int:
        return sum(len(c.items) for c in self.checkpoints)

    @property
    def ng_answers(self) -> list[tuple[CheckpointView, ItemState]]:
        return [(c, s) for c in self.checkpoints for s in c.items if s.answer is not None and s.answer.ng]

    @property
    def unscanned(self) -> int:
        return sum(1 for c in self.checkpoints if c.visit is not None and c.visit.unscanned)

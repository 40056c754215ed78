"""`[patrols]` in the config: where the checklists live, the reminder and escalation ladder, machine types."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.templates import CONTENT_DIR

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # WeCom's image limit is 10 MB; a bigger upload is refused before storing


@dataclass
class PatrolsSettings:
    folder: str = ""  # the checklists' folder; empty: content/patrols
    remind_before_min: int = 15  # first reminder this long before due
    lead_after_min: int = 30  # after due + this, the team lead of the scope's line
    manager_after_min: int = 60  # after due + this, the managers
    lead_role: str = "team_lead"
    manager_role: str = "manager"
    machine_types: dict[str, list[str]] = field(default_factory=dict)  # type -> machine codes
    max_photo_bytes: int = MAX_PHOTO_BYTES
    jssdk_url: str = ""  # WeCom's JS-SDK script for the H5 form (photos, scan); empty: the sandbox's in the demo
    catch_up_min: int = 120  # a dispatcher started late still creates rounds whose slot began this long ago

    def path(self) -> Path:
        return Path(self.folder) if self.folder else CONTENT_DIR / "patrols"

    def validate(self) -> list[str]:
        from bot.patrols.definitions import load_checklists

        problems = [f"{name}: minutes must not be negative" for name in
                    ("remind_before_min", "lead_after_min", "manager_after_min", "catch_up_min")
                    if getattr(self, name) < 0]
        if self.manager_after_min < self.lead_after_min:
            problems.append("manager_after_min: must not come before lead_after_min")
        if not 0 < self.max_photo_bytes <= MAX_PHOTO_BYTES:
            problems.append(f"max_photo_bytes: 1..{MAX_PHOTO_BYTES}")
        if self.folder and not self.path().is_dir():
            problems.append(f"folder: {self.folder} is not a folder")
        problems.extend(f"checklist {problem}" for problem in load_checklists(self.path())[1])
        return problems

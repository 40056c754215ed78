"""Why a training page or action was refused: `reason` for code and logs, `message_zh` for the member."""
from __future__ import annotations

from typing import Literal

Reason = Literal["unknown", "not_for_you", "in_trial", "broken", "no_view", "bad_input"]
MESSAGES: dict[str, str] = {
    "unknown": "没有这个培训内容，请确认二维码或编号。",
    "not_for_you": "此培训不适用于您的岗位。",
    "in_trial": "此培训正在种子用户试用中，发布后即可观看。",
    "broken": "此培训的视频文件暂不可用，请联系管理员。",
    "no_view": "播放记录已失效，请重新打开页面。",
    "bad_input": "数据无效。",
}


class TrainingRefused(Exception):
    def __init__(self, reason: Reason, status: int = 403) -> None:
        self.reason: Reason = reason
        self.status = status
        self.message_zh = MESSAGES[reason]
        super().__init__(reason)

"""All tables; importing this package registers every model on `Base.metadata` (Alembic and tests rely on it)."""
from bot.models.cards import SentCard  # noqa: F401 - cards we may replace
from bot.models.core import Line, Machine, Material, Operation, Plant, Role, User, WorkOrder, WorkOrderStatus
from bot.models.equipment import CounterDelta, DowntimeAlert, MachineState  # noqa: F401 - equipment tables
from bot.models.infra import ApiToken, ConversationState, InboundEvent, JobRun, OutboxMessage, SendQuota
from bot.models.issues import Issue, IssueCounter, IssueEvent, IssuePhoto  # noqa: F401 - issue list
from bot.models.kpi import KpiBreach  # noqa: F401 - kpi tables
from bot.models.patrols import PatrolAnswer, PatrolPhoto, PatrolRound, PatrolVisit  # noqa: F401 - patrol tables
from bot.models.replicas import CollectorLease, ReplicaHeartbeat  # noqa: F401 - replicas sharing one database
from bot.models.reports import ReportChange, WorkReport  # noqa: F401 - reports tables
from bot.models.review import ReviewAward  # noqa: F401 - monthly recognition
from bot.models.training import TrainingAssignment, TrainingProgress, TrainingRating, TrainingVersion, TrainingView  # noqa: F401, E501 - training tables

__all__ = [
    "ApiToken", "ConversationState", "InboundEvent", "JobRun", "Line", "Machine", "Material", "Operation",
    "OutboxMessage", "Plant", "Role", "SendQuota", "User", "WorkOrder", "WorkOrderStatus",
]

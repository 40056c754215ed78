"""All tables; importing this package registers every model on `Base.metadata` (Alembic and tests rely on it)."""
from bot.models.core import Line, Machine, Material, Operation, Plant, Role, User, WorkOrder, WorkOrderStatus
from bot.models.equipment import CounterDelta, DowntimeAlert, MachineState  # noqa: F401 - equipment tables
from bot.models.infra import ApiToken, ConversationState, InboundEvent, JobRun, OutboxMessage
from bot.models.kpi import KpiBreach, KpiChartRequest  # noqa: F401 - kpi tables
from bot.models.reports import ReportChange, WorkReport  # noqa: F401 - reports tables

__all__ = [
    "ApiToken", "ConversationState", "InboundEvent", "JobRun", "Line", "Machine", "Material", "Operation",
    "OutboxMessage", "Plant", "Role", "User", "WorkOrder", "WorkOrderStatus",
]

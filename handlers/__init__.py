"""Feature routers, included in this order (the first route that matches wins)."""
from handlers import equipment as equipment_handlers
from handlers import equipment_h5, issues_h5, kpi_h5, patrols_h5, reports_h5, review_h5, training_h5
from handlers import help as help_handlers
from handlers import issues as issues_handlers
from handlers import issues_cards as issues_card_handlers
from handlers import kpi as kpi_handlers
from handlers import patrols as patrols_handlers
from handlers import reports as reports_handlers
from handlers import review as review_handlers
from handlers import training as training_handlers

ROUTERS = [help_handlers.router, reports_handlers.router, reports_h5.router, equipment_handlers.router,
           equipment_h5.router, kpi_handlers.router, kpi_h5.router, training_handlers.router, training_h5.router,
           patrols_handlers.router, patrols_h5.router, issues_handlers.router, issues_card_handlers.router,
           issues_h5.router, review_handlers.router, review_h5.router]

"""Feature routers, included in this order (the first route that matches wins)."""
from handlers import equipment as equipment_handlers
from handlers import help as help_handlers
from handlers import kpi as kpi_handlers
from handlers import reports as reports_handlers
from handlers import reports_h5

ROUTERS = [help_handlers.router, reports_handlers.router, reports_h5.router, equipment_handlers.router,
           kpi_handlers.router]

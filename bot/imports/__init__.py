"""History import (CSV/XLSX) for machines, users, work orders, reports and machine states."""
from bot.imports.parsing import ImportFileError
from bot.imports.service import KINDS, ImportSummary, run_import

__all__ = ["KINDS", "ImportFileError", "ImportSummary", "run_import"]

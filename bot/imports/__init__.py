"""History import (CSV/XLSX) for machines, users, work orders, reports and machine states."""
from bot.imports.parsing import ImportFileError
from bot.imports.reading import DEFAULT_MAX_BYTES
from bot.imports.service import KINDS, ImportSummary, run_import

__all__ = ["DEFAULT_MAX_BYTES", "KINDS", "ImportFileError", "ImportSummary", "run_import"]

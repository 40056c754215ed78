"""Work reporting (扫码报工): quantities reported against work-order operations, with undo and approvals."""

"""The house style `./dev test` enforces (tests/unit/test_house_style.py): ruff lint and format, the type
checker, the import layers.

ruff lints and formats the whole repository (pyproject.toml [tool.ruff] excludes the virtual
environments and installed tools); docs/operations.md, "House style", gives the commands.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STYLE_SCOPE = ["."]

# The type checker covers the whole core and every function module, with no module excepted.
TYPED = [
    "shared/src/finance_core",
    "functions/adapters",
    "functions/aggregations",
    "functions/alerts",
    "functions/analytics_sink",
    "functions/collaboration",
    "functions/ingestion",
    "functions/operations",
    "functions/realtime_processor",
    "functions/reports",
    "functions/trends",
    "functions/main.py",
]

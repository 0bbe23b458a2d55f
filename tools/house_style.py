"""The house style `./dev test` enforces (tests/unit/test_house_style.py): ruff lint and format, the type
checker, the import layers.

ruff runs on STYLE_SCOPE only for now: the files written or rewritten since the style was
enforced. The rest of the repository follows once parallel work has landed; then the scope
becomes the whole repository (docs/operations.md, "House style", gives the commands).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STYLE_SCOPE = [
    "bench/bench_metric_values.py",
    "bench/bench_recovery.py",
    "functions/adapters/errors.py",
    "functions/adapters/logs.py",
    "functions/adapters/origin.py",
    "functions/adapters/preconditions.py",
    "functions/adapters/rate_limits.py",
    "functions/adapters/retry.py",
    "functions/adapters/sweeps.py",
    "functions/aggregations/lag.py",
    "functions/analytics_sink/metrics.py",
    "functions/alerts/channels/delivery.py",
    "functions/alerts/channels/smtp.py",
    "functions/alerts/channels/webhook.py",
    "functions/collaboration/comments.py",
    "functions/collaboration/triggers.py",
    "functions/ingestion/manual_entries.py",
    "functions/ingestion/triggers.py",
    "functions/operations",
    "functions/realtime_processor/outbox.py",
    "shared/src/finance_core/dimensions.py",
    "shared/src/finance_core/health.py",
    "shared/src/finance_core/metric_rows.py",
    "tests/integration/test_dimensions.py",
    "tests/integration/test_operations.py",
    "tests/integration/test_structured_logs.py",
    "tests/unit/test_dimensions.py",
    "tests/unit/test_house_style.py",
    "tests/unit/test_metric_rows.py",
    "tests/unit/test_monitoring_terraform.py",
    "tests/unit/test_structured_logging.py",
    "tests/web/test_kpi_definitions.py",
    "tools/demo/metrics.py",
    "tools/house_style.py",
    "tools/maintenance.py",
]

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

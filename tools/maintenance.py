"""Operator commands that run the functions' own code against a stack: reconciliation."""

from __future__ import annotations

import sys

from tools.stack.config import ROOT, StackConfig


def functions_path() -> None:
    """Make the functions' packages importable (they are a flat source tree, as deployed)."""
    path = str(ROOT / "functions")
    if path not in sys.path:
        sys.path.insert(0, path)


def reconcile_command(config: StackConfig, org_id: str, period: str | None) -> int:
    """Run reconciliation for an org and print what it repaired."""
    config.apply_client_env()
    functions_path()
    from datetime import timedelta

    from aggregations.triggers import reconciler

    report = reconciler().reconcile(org_id, period, settle=timedelta(seconds=5))
    print(report.summary())
    return 0 if not report.skipped else 2

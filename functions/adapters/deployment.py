"""Deployment options per function family: service account, CPU, memory and instances (docs/deploy.md).

The families and their least-privilege service accounts are declared in infra/terraform/locals.tf;
tests/unit/test_deployment_options.py keeps the two in agreement.
"""

from __future__ import annotations

from typing import Any

from firebase_functions import params

# Warm instances on the hot path only (docs/deploy.md: a Python cold start costs ~1 s of imports).
HOT_MIN_INSTANCES = params.IntParam(
    "HOT_MIN_INSTANCES", default=0, description="Minimum warm instances of the hot-path functions (1 in production)."
)

SERVICE_ACCOUNTS = {
    "ingestion": "fn-ingestion@",
    "realtime": "fn-realtime@",
    "analytics_sink": "fn-analytics-sink@",
    "alerts": "fn-alerts@",
    "scheduled": "fn-scheduled@",
    "reports": "fn-reports@",
    "access": "fn-access@",
}


def _account(family: str) -> str:
    # "name@" is completed with the project by firebase-tools at deploy time.
    return SERVICE_ACCOUNTS[family]


def hot_path(family: str, **overrides: Any) -> dict[str, Any]:
    """Event functions between a published event and the dashboard: warm, concurrent, 1 vCPU."""
    options: dict[str, Any] = {
        "service_account": _account(family),
        "memory": 512,
        "cpu": 1,
        "concurrency": 40,
        "min_instances": HOT_MIN_INSTANCES,
        "max_instances": 50,
    }
    options.update(overrides)
    return options


def background(family: str, **overrides: Any) -> dict[str, Any]:
    """Event functions off the hot path (analytics, alerts, collaboration): scale from zero."""
    options: dict[str, Any] = {
        "service_account": _account(family),
        "memory": 512,
        "cpu": 1,
        "concurrency": 20,
        "max_instances": 20,
    }
    options.update(overrides)
    return options


def scheduled(family: str, **overrides: Any) -> dict[str, Any]:
    """Scheduled jobs: one instance at a time is enough."""
    options: dict[str, Any] = {
        "service_account": _account(family),
        "memory": 512,
        "max_instances": 1,
        "timeout_sec": 300,
    }
    options.update(overrides)
    return options

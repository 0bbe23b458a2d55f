"""Monitoring as code (infra/terraform/monitoring.tf), checked offline: the metrics read fields the functions
really log, the alert policies the operators need exist with their runbooks, thresholds match the health
document's, SLOs and notification channels come from variables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
from finance_core.health import BACKLOG_AGE_LIMIT_SECONDS, LAG_P99_LIMIT_MS
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "infra" / "terraform"
_PLAIN = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


@pytest.fixture(scope="module")
def monitoring() -> dict[str, dict[str, Any]]:
    with (TF / "monitoring.tf").open() as handle:
        tree = hcl2.load(handle, serialization_options=_PLAIN)
    resources: dict[str, dict[str, Any]] = {}
    for block in tree["resource"]:
        for rtype, named in block.items():
            resources.setdefault(rtype, {}).update(named)
    return resources


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _code_strings() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "functions").rglob("*.py") if "venv" not in p.parts)


def test_every_log_field_a_metric_reads_is_one_the_functions_write(monitoring):
    code = _code_strings()
    text = (TF / "monitoring.tf").read_text()
    fields = set(re.findall(r"jsonPayload\.([a-z_]+)", text))
    assert {
        "function",
        "outcome",
        "latency_ms",
        "lag_ms",
        "backlog_age_seconds",
        "reconciliation_keys_repaired",
        "orgs_failed",
    } <= fields
    missing = [f for f in sorted(fields) if f'"{f}"' not in code and f"{f}=" not in code]
    assert not missing, f"monitoring.tf reads log fields no function writes: {missing}"
    assert len(monitoring["google_logging_metric"]) >= 6


def test_the_alert_policies_of_the_issue_exist_with_a_runbook_that_exists(monitoring):
    policies = monitoring["google_monitoring_alert_policy"]
    assert re.search(r"runbook\s*=\s*var\.runbook_url", (TF / "monitoring.tf").read_text())
    for name in (
        "dead_letters_waiting",
        "lag_p99",
        "function_errors",
        "reconciliation_drift",
        "backlog_age",
        "sweep_failures",
        "slo_burn",
    ):
        assert name in policies, name
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.strip("# ").lower()).replace(" ", "-")
        for h in (ROOT / "docs" / "operations.md").read_text().splitlines()
        if h.startswith("#")
    }
    for name, body in policies.items():
        content = _first(body["documentation"])["content"]
        anchor = re.search(r"\$\{local\.runbook\}#([a-z0-9-]+)", content)
        assert anchor and anchor.group(1) in headings, f"{name}: runbook anchor {anchor} not in docs/operations.md"
        assert body["notification_channels"] == "${local.monitoring_channels}"


def test_thresholds_are_the_health_documents(monitoring):
    policies = monitoring["google_monitoring_alert_policy"]
    lag = _first(_first(policies["lag_p99"]["conditions"])["condition_threshold"])
    assert lag["threshold_value"] == LAG_P99_LIMIT_MS and "change_lag" in lag["filter"]
    backlog = _first(_first(policies["backlog_age"]["conditions"])["condition_threshold"])
    assert backlog["threshold_value"] == BACKLOG_AGE_LIMIT_SECONDS
    errors = _first(_first(policies["function_errors"]["conditions"])["condition_threshold"])
    assert "denominator_filter" in errors and 0 < errors["threshold_value"] < 1
    dead = _first(_first(policies["dead_letters_waiting"]["conditions"])["condition_threshold"])
    assert "num_undelivered_messages" in dead["filter"] and "dead_letter_hold_subscriptions" in dead["filter"]


def test_the_slo_is_events_on_the_dashboard_within_one_second(monitoring):
    slo = monitoring["google_monitoring_slo"]["dashboard_within_1s"]
    cut = _first(_first(slo["request_based_sli"])["distribution_cut"])
    assert _first(cut["range"])["max"] == 1000 and "change_lag" in cut["distribution_filter"]
    assert slo["goal"] == "${var.slo_goals.dashboard_within_1s}"
    with (TF / "variables.tf").open() as handle:
        variables = {
            k: v for block in hcl2.load(handle, serialization_options=_PLAIN)["variable"] for k, v in block.items()
        }
    assert variables["slo_goals"]["default"]["dashboard_within_1s"] == 0.999
    assert {"alert_notification_emails", "alert_notification_channels"} <= set(variables)


def test_the_dashboard_charts_the_metrics(monitoring):
    body = monitoring["google_monitoring_dashboard"]["pipeline"]["dashboard_json"]
    for metric in ("change_lag", "backlog_age", "invocations", "invocation_latency", "reconciliation_drift"):
        assert f"google_logging_metric.{metric}.name" in body, metric

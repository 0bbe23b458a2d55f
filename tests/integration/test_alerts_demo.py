"""The demo org's rules on the demo history loaded through the pipeline: the live engine ends where the data says."""

from __future__ import annotations

import time

import pytest

from tests.integration.test_alerts import alerts_of
from tests.support import seed_org, wait_for_events
from tools.demo.alert_rules import demo_alert_rules
from tools.stack.seed import demo_records, publish_batches, record_event, records_batches, wait_for_changes

pytestmark = pytest.mark.emulators

# What the data set holds (tests/unit/test_alert_inputs.py finds the same by replaying the rules):
# the three injected anomalies, the two months they pull the group margin under 65 %, March's
# marketing spike over budget, and January's seasonal dip in the net income forecast.
EXPECTED_ACTIVE = {
    ("gross-margin-floor", "2025-07"),
    ("gross-margin-floor", "2026-06"),
    ("opex-over-budget", "2026-03"),
    ("net-income-forecast", "2026-10"),
    ("product-revenue-drop-us-west", "2025-07"),
    ("marketing-anomaly-eu-central", "2026-03"),
    ("hosting-cost-spike-us-east", "2026-06"),
}


def _settled(db, org_id: str, quiet_seconds: float = 10.0, timeout: float = 300.0) -> list[dict]:
    last, since, deadline = None, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        docs = alerts_of(db, org_id)
        stamp = sorted((d["fingerprint"], d["count"], d["status"]) for d in docs)
        if stamp != last:
            last, since = stamp, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            return docs
        time.sleep(1)
    raise AssertionError(f"the alerts of {org_id} did not settle within {timeout:.0f}s")


def test_the_demo_history_through_the_pipeline_leaves_exactly_the_alerts_the_data_calls_for(stack, db, org_id):
    seed_org(db, org_id, all_periods_open=True, rules=demo_alert_rules())
    rows = demo_records()
    # As ./dev demo and ./dev seed load it: records.batch messages.
    publish_batches(stack.config, records_batches(org_id, [record_event(org_id, row) for row in rows], "history"))
    wait_for_events(db, org_id, len(rows), timeout=900)
    wait_for_changes(db, org_id, len(rows), timeout=900)
    alerts = _settled(db, org_id)
    active = {(a["rule_id"], a["period"]) for a in alerts if a["status"] == "active"}
    transient = sorted((a["rule_id"], a["period"]) for a in alerts if a["status"] == "resolved")
    print(
        f"\nactive alerts after the demo history: {sorted(active)}\n"
        f"raised and resolved while months were half loaded: {transient}"
    )
    assert active == EXPECTED_ACTIVE
    by_rule = {(a["rule_id"], a["period"]): a for a in alerts}
    assert by_rule[("gross-margin-floor", "2026-06")]["severity"] == "critical"
    assert "forecast at" in by_rule[("net-income-forecast", "2026-10")]["description"]
    assert by_rule[("gross-margin-floor", "2026-06")]["details"] is None
    # Anomaly alerts show their likelihood and what was expected, for dashboards to draw.
    drop = by_rule[("product-revenue-drop-us-west", "2025-07")]
    assert drop["threshold"] == 0.999 and 0.999 <= drop["current_value"] <= 1.0
    assert drop["details"]["likelihood"] == drop["current_value"] and drop["details"]["deviation"] < 0
    assert drop["details"]["expected"] > 0 and drop["details"]["episode"] in {"surprise", "change"}
    assert "likelihood 0.99" in drop["description"]

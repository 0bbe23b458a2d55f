"""KPI definitions and alert rules on them of the demo organisation (organizations/{org}/metric_definitions)."""

from __future__ import annotations

from typing import Any

from finance_core.metric_library import library, with_requirements
from google.cloud import firestore

# Library KPIs a CFO of the demo group watches (the demo chart tags cash, receivables, payables,
# debt and the subscription revenue, which the balance-sheet and recurring KPIs select).
LIBRARY_KPIS = [
    "revenue_ytd",
    "revenue_growth_yoy_pct",
    "opex_ratio_pct",
    "cash_position",
    "net_burn",
    "runway_months",
    "dso_days",
    "current_ratio",
    "debt_to_equity",
    "mrr",
    "arr",
]
# One metric of the org's own: the cash left once the suppliers are paid. (Burn and runway are the
# cash forecast's, docs/kpis.md: an own formula of them would show a second runway.)
CUSTOM = {
    "cash_after_payables": {
        "label": "Cash after payables",
        "expression": 'cash_position - closing(tagged("payable"))',
        "unit": "money",
        "direction": "higher_is_better",
        "description": "Cash left once the payables are paid; below zero the cash does not cover what the "
        "group owes its suppliers.",
    },
}


def demo_metric_definitions() -> dict[str, dict[str, Any]]:
    """metric_id -> definition document: the library KPIs above (with what they read), then the custom one."""
    entries = library()
    found = {metric_id: dict(entries[metric_id]) for metric_id in with_requirements(LIBRARY_KPIS, entries)}
    return found | CUSTOM


def demo_metric_alert_rules() -> list[dict[str, Any]]:
    """Alert rules on defined metrics (dashboard-only, like the other demo rules)."""
    return [
        {
            # Judged on the 13-week cash forecast's runway, the one the cards show (docs/alerts.md).
            "rule_id": "runway-below-six-months",
            "name": "Group runway below six months",
            "type": "absolute",
            "severity": "critical",
            "target": {"entity_id": "_all", "metric": "runway_months"},
            "direction": "below",
            "threshold": "6",
            "cooldown_seconds": 3600,
            "channels": [],
        },
        {
            "rule_id": "cash-floor",
            "name": "Group cash below 4,500,000.00",
            "type": "absolute",
            "severity": "warning",
            "target": {"entity_id": "_all", "metric": "cash_position"},
            "direction": "below",
            "threshold_minor": 450_000_000,
            "cooldown_seconds": 3600,
            "channels": [],
        },
    ]


def write_demo_metrics(db: firestore.Client, org_id: str) -> int:
    """Write the demo's KPI definitions and the alert rules on them; returns how many documents."""
    org = db.collection("organizations").document(org_id)
    batch = db.batch()
    definitions = demo_metric_definitions()
    for metric_id, body in definitions.items():
        batch.set(org.collection("metric_definitions").document(metric_id), body)
    rules = demo_metric_alert_rules()
    for rule in rules:
        batch.set(org.collection("alert_rules").document(rule["rule_id"]), rule)
    batch.commit()
    return len(definitions) + len(rules)

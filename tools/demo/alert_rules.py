"""Alert rules of the demo organisation (documents of organizations/{org}/alert_rules)."""

from __future__ import annotations

from typing import Any

ENTITIES = ("us-east", "us-west", "eu-central")

# The demo is dashboard-only: no rule names a channel, so alerts show in the dashboard's alert
# list (alerts/{id}) and nothing is sent anywhere. Add channel ids to `channels` (and documents
# to notification_channels) to try webhooks or e-mail; see docs/alerts.md.
DASHBOARD_ONLY: list[str] = []

# Anomaly rules per account family, all at the default likelihood threshold (0.999: a month
# rarer than one in a thousand for that account; docs/alerts.md). Product revenue: only drops
# matter. Marketing: any surprise. Hosting: cost spikes.
ANOMALY_WATCHES = (
    ("product-revenue-drop", "4100", "Product revenue", "drop"),
    ("marketing-anomaly", "6200", "Marketing", "any"),
    ("hosting-cost-spike", "5200", "Hosting and delivery", "spike"),
)
ANOMALY_THRESHOLD = 0.999


def demo_alert_rules() -> list[dict[str, Any]]:
    """The demo org's rules; the alert engine validates them with the core's rule models."""
    rules: list[dict[str, Any]] = [
        {
            "rule_id": "gross-margin-floor",
            "name": "Group gross margin below 65%",
            "type": "absolute",
            "severity": "critical",
            "target": {"entity_id": "_all", "metric": "gross_margin_pct"},
            "direction": "below",
            "threshold_pct": "65",
            "cooldown_seconds": 3600,
            "channels": DASHBOARD_ONLY,
        },
        {
            "rule_id": "opex-over-budget",
            "name": "Group operating expenses over budget by more than 5%",
            "type": "variance",
            "severity": "warning",
            "target": {"entity_id": "_all", "metric": "opex"},
            "threshold_pct": "5",
            "direction": "unfavourable",
            "comparison_scenario": "budget",
            "channels": DASHBOARD_ONLY,
        },
        {
            "rule_id": "revenue-decline",
            "name": "Group revenue declining three months in a row",
            "type": "trend",
            "severity": "warning",
            "target": {"entity_id": "_all", "metric": "revenue"},
            "direction": "decline",
            "mode": "consecutive",
            "periods": 3,
            "channels": DASHBOARD_ONLY,
        },
        {
            "rule_id": "net-income-forecast",
            "name": "Group net income forecast below 1,250,000 USD",
            "type": "forecast",
            "severity": "info",
            "target": {"entity_id": "_all", "metric": "net_income"},
            "direction": "below",
            "threshold_minor": 125_000_000,
            "horizon_periods": 3,
            "channels": DASHBOARD_ONLY,
        },
    ]
    for slug, account_id, label, direction in ANOMALY_WATCHES:
        for entity_id in ENTITIES:
            rules.append(
                {
                    "rule_id": f"{slug}-{entity_id}",
                    "name": f"{label} anomaly in {entity_id}",
                    "type": "anomaly",
                    "severity": "warning",
                    "target": {"entity_id": entity_id, "account_id": account_id},
                    "direction": direction,
                    "threshold": ANOMALY_THRESHOLD,
                    "channels": DASHBOARD_ONLY,
                }
            )
    return rules

"""A daily anomaly rule through the real pipeline: dated records, the streaming detector, one alert per unusual day.

Thirteen weeks of daily revenue with a weekly pattern end yesterday (the evaluator's day in
progress is today's). A correction turns one day into a spike: the rule raises one alert for that
day and none for the others. The spike's change delivered again (its message published twice
more, and the same events republished) leaves the alert as it was: same count, same applied changes.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from google.cloud import pubsub_v1

from tests.integration.test_alerts import (
    MARKER_ACCOUNT,
    MARKER_ENTITY,
    MARKER_RULE,
    PIPELINE_WAIT,
    alerts_of,
    change_messages,
    exact_count,
    expense,
    marker_rule,
    wait_alerts,
)
from tests.support import event, publish, wait_for_events, wait_until
from tools.stack.seed import demo_reference, publish_batches, records_batches, write_reference

pytestmark = pytest.mark.emulators

DAYS = 91
RULE = "daily-revenue"


def day_amount(day: date) -> str:
    """About 1,000.00 on weekdays and 200.00 at weekends, the same for a day whenever it is asked."""
    rng = random.Random(day.toordinal())
    base = 1000 if day.weekday() < 5 else 200
    return f"{base * rng.uniform(0.9, 1.1):.2f}"


def daily_rule() -> dict[str, Any]:
    return {
        "rule_id": RULE,
        "name": "Unusual daily product revenue",
        "type": "anomaly",
        "grain": "day",
        # Stricter than the detector's default (0.84 per season, which on 13 weeks of this noise
        # alarms about once in 22 weeks): a test must not depend on the day it runs.
        "threshold": 0.99,
        "severity": "warning",
        "target": {"entity_id": "us-east", "account_id": "4100"},
        "channels": [],
    }


def processed_after(stack, db, org_id: str, number: int) -> None:
    """A new marker line (the `number`th) evaluated: what was published before it has been too."""

    def marker_count() -> int:
        alerts = alerts_of(db, org_id, markers=True)
        return next((exact_count(db, org_id, a) for a in alerts if a["rule_id"] == MARKER_RULE), 0)

    before = marker_count()
    line = expense(org_id, f"marker-{number}", "1.00", entity=MARKER_ENTITY, account=MARKER_ACCOUNT)
    publish(stack, [line])
    wait_until(lambda: marker_count() > before, PIPELINE_WAIT, what=f"marker {number} to be evaluated")


def test_one_alert_for_the_unusual_day_and_none_again_when_its_change_is_redelivered(stack, db, org_id):
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in range(DAYS, 0, -1)]
    spike = today - timedelta(days=4)
    months = sorted({d.isoformat()[:7] for d in days} | {today.isoformat()[:7]})
    reference = dict(demo_reference(), members=[], periods={m: {"status": "open"} for m in months})
    write_reference(db, org_id, reference, [daily_rule(), marker_rule()])

    def line(day: date, version: int = 1, amount: str | None = None) -> dict[str, Any]:
        body = event(
            org_id, f"sales-{day.isoformat()}", version, period=day.isoformat()[:7], amount=amount or day_amount(day)
        )
        body["record"]["date"] = day.isoformat()
        return body

    history = [line(day) for day in days]
    publish_batches(stack.config, records_batches(org_id, history, "daily", lines=50))
    wait_for_events(db, org_id, len(history), timeout=300)
    processed_after(stack, db, org_id, 1)
    assert not [a for a in alerts_of(db, org_id) if a["status"] == "active"], "a steady pattern raises nothing"

    correction = line(spike, 2, str(5 * Decimal(day_amount(spike))))
    publish(stack, [correction])

    def only_the_spike(docs: list[dict[str, Any]]) -> bool:
        active = [a for a in docs if a["rule_id"] == RULE and a["status"] == "active"]
        return [a["period"] for a in active] == [spike.isoformat()]

    wait_alerts(db, org_id, only_the_spike, "one alert, for the spike's day")
    processed_after(stack, db, org_id, 2)
    [alert] = [a for a in alerts_of(db, org_id) if a["rule_id"] == RULE and a["status"] == "active"]
    assert alert["title"].endswith(f"on {spike.isoformat()}"), alert["title"]
    assert "typical deviations above" in alert["description"], alert["description"]
    before = {a["fingerprint"]: (a["status"], a["count"], a["applied_change_ids"]) for a in alerts_of(db, org_id)}

    # Redelivery: the spike's change message twice more, and the same event again.
    data = change_messages(db, org_id)[correction["event_id"]]
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(stack.config.project_id, "financial-record-changes")
    for _ in range(2):
        publisher.publish(topic, data, org_id=org_id).result(timeout=30)
    publish(stack, [correction])
    processed_after(stack, db, org_id, 3)
    after = {a["fingerprint"]: (a["status"], a["count"], a["applied_change_ids"]) for a in alerts_of(db, org_id)}
    assert after == before
    # Every change the alert counted, counted once.
    ids = alert["applied_change_ids"]
    assert ids and len(set(ids)) == len(ids)
    assert all(a["rule_id"] in (RULE, MARKER_RULE) for a in alerts_of(db, org_id, markers=True))

"""End-to-end smoke test: events published to Pub/Sub reach Firestore through the real function triggers."""

from __future__ import annotations

import pytest

from tests.support import aggregate, event, publish, seed_org, wait_for_events, wait_until

pytestmark = pytest.mark.emulators


def test_published_events_become_records_and_an_aggregate(stack, db, org_id):
    seed_org(db, org_id)
    publish(
        stack,
        [
            event(org_id, "inv-1", 1, amount="1000.00"),
            event(org_id, "inv-2", 1, amount="250.50", account="4200"),
            event(org_id, "cost-1", 1, amount="400.25", account="5100"),
        ],
    )
    counters = wait_for_events(db, org_id, 3)
    assert counters["counts"]["applied"] == 3
    view = wait_until(
        lambda: (doc := aggregate(db, org_id, "us-east__2026-10__actual")) and doc.get("record_count") == 3 and doc,
        what="the aggregate written by on_record_written",
    )
    assert view["accounts"] == {"4100": 100000, "4200": 25050, "5100": 40025}
    assert view["rollups"] == {"4000": 125050, "5000": 40025}
    assert view["metrics"]["gross_profit"] == 125050 - 40025
    record = db.document(f"organizations/{org_id}/financial_records/inv-2").get().to_dict()
    assert (
        record["amount"] == "250.50" and record["amount_minor"] == 25050 and record["reporting_amount_minor"] == 25050
    )

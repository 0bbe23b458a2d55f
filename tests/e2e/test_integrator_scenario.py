"""The integrator scenario through the real triggers: every event accounted for, aggregates exact to the cent."""

from __future__ import annotations

import pytest
from finance_core.accounts import ChartOfAccounts
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import aggregate_drift, data_quality, wait_until

pytestmark = pytest.mark.emulators


def test_every_delivery_is_applied_stale_duplicate_or_rejected_with_a_reason(integrator_scenario, db):
    scenario, _ = integrator_scenario
    counters = data_quality(db, scenario.org_id)
    counts = counters["counts"]
    assert counters["total"] == scenario.org_deliveries == sum(counts.values())
    assert counts["applied"] + counts["stale"] == len(scenario.valid_event_ids)
    assert counts["rejected"] == len(scenario.invalid_event_ids)
    assert counts["duplicate"] == scenario.org_deliveries - len(scenario.valid_event_ids) - len(
        scenario.invalid_event_ids
    )
    assert counts["duplicate"] > 0 and counts["stale"] > 0
    # Every valid event (applied or stale) is remembered by its record or tombstone, and nothing else is.
    seen = set()
    for collection in ("financial_records", "deleted_records"):
        for snap in db.collection(f"organizations/{scenario.org_id}/{collection}").stream():
            seen |= set(snap.to_dict().get("seen_event_ids") or ())
    assert seen == scenario.valid_event_ids
    errors = {s.id: s.to_dict() for s in db.collection(f"organizations/{scenario.org_id}/ingestion_errors").stream()}
    assert set(errors) == scenario.invalid_event_ids
    assert all(e["reason"] and e["raw"] and e["received_at"] for e in errors.values())
    assert sum(counters["rejected_by_reason"].values()) == counts["rejected"]
    assert len(counters["rejected_by_reason"]) >= 6, counters["rejected_by_reason"]
    broken_json = [
        d
        for d in db.collection("ingestion_errors").where(filter=FieldFilter("code", "==", "invalid_json")).stream()
        if scenario.org_id in d.get("raw")
    ]
    assert broken_json, "messages without a readable org are kept in the global ingestion_errors"


def test_the_final_records_are_the_highest_versions(integrator_scenario, db):
    scenario, _ = integrator_scenario
    stored = {s.id: s.to_dict() for s in db.collection(f"organizations/{scenario.org_id}/financial_records").stream()}
    assert set(stored) == set(scenario.final_records)
    for record_id, expected in scenario.final_records.items():
        got = stored[record_id]
        assert {k: got[k] for k in expected} == expected, record_id


def test_aggregates_equal_the_ground_truth_to_the_minor_unit(integrator_scenario, db):
    scenario, reference = integrator_scenario
    expected = scenario.expected_totals(reference["fx_rates"])
    chart = ChartOfAccounts.from_documents({a["account_id"]: a for a in reference["accounts"]})

    def current():
        docs = {s.id: s.to_dict() for s in db.collection(f"organizations/{scenario.org_id}/aggregates").stream()}
        got = {
            tuple(doc_id.split("__")): {
                "accounts": {k: int(v) for k, v in d.get("accounts", {}).items() if int(v) != 0},
                "record_count": d.get("record_count", 0),
            }
            for doc_id, d in docs.items()
        }
        got = {k: v for k, v in got.items() if v["record_count"] or v["accounts"]}
        return (got, docs) if got == expected else None

    try:
        got, docs = wait_until(current, timeout=300, what="the aggregates to match the ground truth")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{aggregate_drift(db, scenario.org_id, expected)}") from None
    assert len(got) >= 40
    for doc in docs.values():
        accounts = {k: int(v) for k, v in doc.get("accounts", {}).items()}
        assert doc.get("rollups", {}) == chart.rollups(accounts)
        metrics = doc["metrics"]
        assert metrics["gross_profit"] == metrics["revenue"] - metrics["cogs"]
        assert metrics["ebitda"] == metrics["gross_profit"] - metrics["opex"]

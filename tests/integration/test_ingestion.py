"""Ingestion through the real ingest_financial_event trigger: versions, duplicates, deletes, rejections."""

from __future__ import annotations

import json

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import data_quality, event, publish, raw, seed_org, wait_for_events, wait_until

pytestmark = pytest.mark.emulators


def _record(db, org_id, record_id):
    snap = db.document(f"organizations/{org_id}/financial_records/{record_id}").get()
    return snap.to_dict() if snap.exists else None


def _error(db, org_id, doc_id):
    snap = db.document(f"organizations/{org_id}/ingestion_errors/{doc_id}").get()
    return snap.to_dict() if snap.exists else None


def test_highest_version_wins_whatever_the_arrival_order(stack, db, org_id):
    seed_org(db, org_id)
    publish(stack, [event(org_id, "je-1", 3, amount="300.00")])
    wait_for_events(db, org_id, 1)
    publish(stack, [event(org_id, "je-1", 1, amount="100.00"), event(org_id, "je-1", 2, amount="200.00")])
    counters = wait_for_events(db, org_id, 3)
    assert counters["counts"] == {"applied": 1, "stale": 2, "duplicate": 0, "rejected": 0}
    record = _record(db, org_id, "je-1")
    assert (record["version"], record["amount"], record["amount_minor"]) == (3, "300.00", 30000)


def test_a_duplicate_event_id_changes_nothing_and_is_counted(stack, db, org_id):
    seed_org(db, org_id)
    first = event(org_id, "je-2", 1, amount="10.00", event_id="erp-42")
    publish(stack, [first])
    wait_for_events(db, org_id, 1)
    publish(stack, [first, first])
    counters = wait_for_events(db, org_id, 3)
    assert counters["counts"]["applied"] == 1 and counters["counts"]["duplicate"] == 2
    assert _record(db, org_id, "je-2")["version"] == 1


def test_a_delete_leaves_a_tombstone_that_a_late_older_upsert_cannot_resurrect(stack, db, org_id):
    seed_org(db, org_id)
    publish(stack, [event(org_id, "je-3", 1, amount="50.00")])
    wait_for_events(db, org_id, 1)
    publish(stack, [event(org_id, "je-3", 4, delete=True)])
    wait_for_events(db, org_id, 2)
    assert _record(db, org_id, "je-3") is None
    publish(stack, [event(org_id, "je-3", 2, amount="70.00")])
    counters = wait_for_events(db, org_id, 3)
    assert counters["counts"]["stale"] == 1
    assert _record(db, org_id, "je-3") is None
    tombstone = db.document(f"organizations/{org_id}/deleted_records/je-3").get().to_dict()
    assert tombstone["version"] == 4
    # A newer version re-creates the record and clears the tombstone.
    publish(stack, [event(org_id, "je-3", 5, amount="80.00")])
    wait_for_events(db, org_id, 4)
    assert _record(db, org_id, "je-3")["amount"] == "80.00"
    assert not db.document(f"organizations/{org_id}/deleted_records/je-3").get().exists


def test_foreign_currency_is_converted_with_the_period_rate(stack, db, org_id):
    reference = seed_org(db, org_id)
    publish(stack, [event(org_id, "eu-1", 1, entity="eu-central", amount="1000.00", currency="EUR")])
    wait_for_events(db, org_id, 1)
    record = _record(db, org_id, "eu-1")
    rate = reference["fx_rates"]["2026-10"]["EUR"]
    from decimal import ROUND_HALF_EVEN, Decimal

    expected = int((Decimal("1000.00") * Decimal(rate) * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    assert record["currency"] == "EUR" and record["amount_minor"] == 100000
    assert record["reporting_amount_minor"] == expected and record["reporting_currency"] == "USD"


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (
            lambda org: {**event(org, "bad-1", 1), "record": {**event(org, "bad-1", 1)["record"], "amount": 12.5}},
            "invalid_event",
            "decimal string",
        ),
        (lambda org: event(org, "bad-2", 1, account="9999"), "unknown_account", "not in the chart of accounts"),
        (lambda org: event(org, "bad-3", 1, account="4000"), "summary_account", "summary account"),
        (lambda org: event(org, "bad-4", 1, entity="atlantis"), "unknown_entity", "does not exist"),
        (lambda org: event(org, "bad-5", 1, period="2025-03"), "period_closed", "closed"),
        (lambda org: event(org, "bad-6", 1, period="2031-01"), "unknown_period", "not set up"),
        (lambda org: event(org, "bad-7", 1, currency="GBP"), "missing_fx_rate", "no FX rate"),
        (lambda org: event(org, "bad-8", 1, currency="JPY", amount="10.5"), "invalid_amount", "more decimals than JPY"),
        (lambda org: {**event(org, "bad-9", 1), "version": 0}, "invalid_event", "version"),
        (lambda org: {**event(org, "bad-10", 1), "colour": "red"}, "invalid_event", "colour"),
    ],
)
def test_invalid_events_are_stored_with_a_readable_reason(stack, db, org_id, body, code, words):
    seed_org(db, org_id)
    message = body(org_id)
    publish(stack, [message])
    counters = wait_for_events(db, org_id, 1)
    assert counters["counts"]["rejected"] == 1 and counters["rejected_by_reason"] == {code: 1}
    error = _error(db, org_id, message["event_id"])
    assert error["code"] == code and words in error["reason"], error["reason"]
    assert json.loads(error["raw"]) == message
    assert _record(db, org_id, message["record_id"]) is None


def test_unparseable_messages_and_unknown_orgs_land_in_the_global_errors(stack, db, org_id):
    publish(stack, [b"{not json", raw(event(org_id, "ghost-1", 1))])
    errors = wait_until(
        lambda: (
            (
                docs := [
                    d.to_dict()
                    for d in db.collection("ingestion_errors")
                    .where(filter=FieldFilter("org_id", "==", org_id))
                    .stream()
                ]
            )
            and docs
        ),
        what="the unknown org's rejection",
    )
    assert errors[0]["code"] == "unknown_org" and org_id in errors[0]["reason"]
    bad_json = wait_until(
        lambda: [
            d.to_dict() for d in db.collection("ingestion_errors").stream() if d.to_dict().get("raw") == "{not json"
        ],
        what="the bad JSON rejection",
    )
    assert bad_json[0]["code"] == "invalid_json" and "not valid JSON" in bad_json[0]["reason"]


def test_manual_entries_follow_the_same_validation_and_get_a_status(stack, db, org_id):
    seed_org(db, org_id)
    entries = db.collection(f"organizations/{org_id}/manual_entries")
    good = {
        "record_id": "man-1",
        "entity_id": "us-west",
        "account_id": "6200",
        "period": "2026-10",
        "scenario": "actual",
        "amount": "1234.56",
        "currency": "USD",
        "memo": "accrual",
        "created_by": "demo-editor",
    }
    entries.document("entry-1").set(good)
    entries.document("entry-2").set({**good, "record_id": "man-2", "period": "2025-02"})
    accepted = wait_until(
        lambda: (d := entries.document("entry-1").get().to_dict()).get("status") and d, what="the manual entry's status"
    )
    rejected = wait_until(
        lambda: (d := entries.document("entry-2").get().to_dict()).get("status") and d,
        what="the closed-period entry's status",
    )
    assert accepted["status"] == "accepted" and accepted["reason"] is None
    assert rejected["status"] == "rejected" and "closed" in rejected["reason"]
    record = _record(db, org_id, "man-1")
    assert record["version"] == 1 and record["source"] == "manual" and record["amount_minor"] == 123456
    # A second entry for the same line replaces it with the next version.
    entries.document("entry-3").set({**good, "amount": "1000.00"})
    wait_until(
        lambda: (r := _record(db, org_id, "man-1")) and r["version"] == 2 and r, what="the corrected manual entry"
    )
    assert _record(db, org_id, "man-1")["amount"] == "1000.00"
    assert data_quality(db, org_id)["counts"]["applied"] == 2

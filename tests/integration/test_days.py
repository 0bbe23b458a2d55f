"""Booking dates through the real pipeline: daily totals in Firestore and BigQuery equal the ledger, day by day.

A shuffled stream (batches and single events, redeliveries, versions that move a record between
days, between months, that drop its date, deletes) goes through the functions. The expected
totals per (entity | _all, day, scenario) are computed here from the events alone (highest version
per record, deletes remove it), not by the backend's code. Reconciliation then repairs a damaged
day in a shard and in a readable document.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from adapters.reference_store import ReferenceStore
from aggregations.derived import DerivedDocuments
from aggregations.reconcile import Reconciler
from aggregations.store import AggregateStore
from finance_core.aggregates import AggregateDelta, AggregateKey

from tests.bigquery_checks import cents, rows
from tests.support import event, publish, seed_org, wait_for_events, wait_until
from tools.stack.provision import bigquery_client
from tools.stack.seed import publish_batches, records_batches

pytestmark = pytest.mark.emulators

SHARDS = 8  # AGGREGATE_SHARDS of the local stack
# (entity, 'YYYY-MM-DD', scenario) -> account -> cents, and -> records
Daily = dict[tuple[str, str, str], dict[str, Any]]


def dated(body: dict[str, Any], day: str | None) -> dict[str, Any]:
    if day is not None:
        body["record"]["date"] = day
    return body


def dated_stream(org_id: str, seed: int = 24) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = [
        # Moves from the 5th to the 20th, then to November the 2nd.
        dated(event(org_id, "moved", 1, amount="1000.00"), "2026-10-05"),
        dated(event(org_id, "moved", 2, amount="1234.56"), "2026-10-20"),
        dated(event(org_id, "moved", 3, amount="1234.56", period="2026-11"), "2026-11-02"),
        # Drops its date in version 2: it counts for the month only.
        dated(event(org_id, "undated", 1, amount="50.00"), "2026-10-07"),
        event(org_id, "undated", 2, amount="60.00"),
        dated(event(org_id, "deleted", 1, amount="70.00"), "2026-10-09"),
        event(org_id, "deleted", 2, delete=True),
        # A new amount on the same day: the day's record count does not move (an empty map of
        # day counts must not reach the shard); a zero amount: no account moves, a record does.
        dated(event(org_id, "same-day", 1, amount="100.00"), "2026-10-07"),
        dated(event(org_id, "same-day", 2, amount="150.00"), "2026-10-07"),
        dated(event(org_id, "zero", 1, amount="0.00"), "2026-10-07"),
    ]
    for number in range(50):
        versions = rng.randint(1, 3)
        for version in range(1, versions + 1):
            if version == versions and versions > 1 and rng.random() < 0.2:
                events.append(event(org_id, f"r{number}", version, delete=True))
                continue
            period = rng.choice(["2026-10", "2026-11"])
            day = None if rng.random() < 0.2 else f"{period}-{rng.randint(1, 30):02d}"
            body = event(
                org_id,
                f"r{number}",
                version,
                entity=rng.choice(["us-east", "us-west"]),
                account=rng.choice(["4100", "5100", "6100"]),
                period=period,
                amount=f"{Decimal(rng.randint(-20_000, 500_000)) / 100:.2f}",
            )
            events.append(dated(body, day))
    events += [dict(e) for e in rng.sample(events, len(events) // 6)]  # redeliveries
    rng.shuffle(events)
    # The same-day correction first in the batched half, in order: applied as a change, not a creation.
    ordered = [e for e in events if e["record_id"] == "same-day"]
    ordered.sort(key=lambda e: e["version"])
    return ordered + [e for e in events if e["record_id"] != "same-day"]


def ground_truth(events: list[dict[str, Any]]) -> Daily:
    latest: dict[str, dict[str, Any]] = {}
    for body in events:
        current = latest.get(body["record_id"])
        if current is None or body["version"] > current["version"]:
            latest[body["record_id"]] = body
    totals: Daily = defaultdict(lambda: {"accounts": defaultdict(int), "record_count": 0})
    for body in latest.values():
        record = body.get("record")
        if record is None or "date" not in record:
            continue
        for entity in (record["entity_id"], "_all"):
            key = (entity, record["date"], record["scenario"])
            totals[key]["accounts"][record["account_id"]] += int(Decimal(record["amount"]) * 100)
            totals[key]["record_count"] += 1
    return clean(totals)


def clean(totals: Daily) -> Daily:
    cleaned = {
        key: {"accounts": {a: m for a, m in t["accounts"].items() if m}, "record_count": t["record_count"]}
        for key, t in totals.items()
    }
    return {key: t for key, t in cleaned.items() if t["record_count"] or t["accounts"]}


def firestore_days(db, org_id: str) -> Daily:
    """The daily totals the readable aggregates show, keyed like the ground truth."""
    found: Daily = {}
    for snap in db.collection(f"organizations/{org_id}/aggregates").stream():
        doc = snap.to_dict() or {}
        for day, body in (doc.get("days") or {}).items():
            found[(doc["entity_id"], f"{doc['period']}-{day}", doc["scenario"])] = {
                "accounts": {a: int(v) for a, v in (body.get("accounts") or {}).items()},
                "record_count": int(body.get("record_count") or 0),
            }
    return clean(found)


def bigquery_days(client, org_id: str) -> Daily:
    totals: Daily = defaultdict(lambda: {"accounts": defaultdict(int), "record_count": 0})
    sql = "SELECT * FROM `{ds}.financial_records_latest` WHERE org_id = @org AND booking_date IS NOT NULL"
    for r in rows(client, sql, org_id):
        for entity in (r["entity_id"], "_all"):
            key = (entity, r["booking_date"].isoformat(), r["scenario"])
            totals[key]["accounts"][r["account_id"]] += cents(r["reporting_amount"])
            totals[key]["record_count"] += 1
    return clean(totals)


def test_a_dated_stream_ends_exact_per_day_in_firestore_and_bigquery_and_reconciliation_repairs_a_day(
    stack, db, org_id
):
    seed_org(db, org_id, all_periods_open=True)
    events = dated_stream(org_id)
    expected = ground_truth(events)
    assert expected[("us-east", "2026-11-02", "actual")]["accounts"].get("4100", 0) >= 0, "the moved record's day"
    outside = dated(event(org_id, "outside", 1, event_id="outside"), "2026-11-05")
    batched, single = events[: len(events) // 2], events[len(events) // 2 :]
    publish_batches(stack.config, records_batches(org_id, [*batched, outside], "days", lines=25))
    publish(stack, single)
    wait_for_events(db, org_id, len(events) + 1, timeout=180)
    errors = [d.to_dict() for d in db.collection(f"organizations/{org_id}/ingestion_errors").stream()]
    assert any("is not inside period 2026-10" in e["reason"] for e in errors), errors

    try:
        wait_until(lambda: firestore_days(db, org_id) == expected, timeout=180, what="the days to equal the truth")
    except AssertionError:
        got = firestore_days(db, org_id)
        differing = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
        pytest.fail(f"{len(differing)} days differ, e.g. " + "; ".join(
            f"{k}: expected {expected.get(k)}, got {got.get(k)}" for k in differing[:5]))  # fmt: skip
    moved = db.document(f"organizations/{org_id}/financial_records/moved").get().to_dict()
    assert moved["date"] == "2026-11-02" and moved["period"] == "2026-11"
    undated = db.document(f"organizations/{org_id}/financial_records/undated").get().to_dict()
    assert undated["date"] is None, "a version without a date clears the stored one"

    client = bigquery_client(stack.config)
    wait_until(
        lambda: bigquery_days(client, org_id) == expected, timeout=180, what="the BigQuery days to equal the truth"
    )

    # Reconciliation: a bogus day in a shard and a damaged day in a readable document are repaired, once.
    store = AggregateStore(db, SHARDS)
    key = AggregateKey("_all", "2026-10", "actual")
    bogus = AggregateDelta({}, 0, {"13": {"4100": 999, "5100": -999}}, {"13": 1})
    store.apply_once(org_id, "bogus-day-change", {key: bogus})
    damaged = AggregateKey("us-east", "2026-11", "actual")
    view = db.document(f"organizations/{org_id}/aggregates/{damaged.doc_id}")
    view.update({"days": {"01": {"accounts": {"4100": 1}, "record_count": 1, "totals_by_type": {}}}})
    reconciler = Reconciler(db, ReferenceStore(db), store, DerivedDocuments(db))
    report = reconciler.reconcile(org_id, "2026-10", settle=timedelta(0))
    assert key.doc_id in report.shard_repairs, report.summary()
    report = reconciler.reconcile(org_id, "2026-11", settle=timedelta(0))
    assert damaged.doc_id in report.view_repairs, report.summary()
    assert firestore_days(db, org_id) == expected
    assert reconciler.reconcile(org_id, "2026-10", settle=timedelta(0)).repaired == 0

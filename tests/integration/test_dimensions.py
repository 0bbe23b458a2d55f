"""Record dimensions through the real pipeline: per-value aggregates in Firestore and BigQuery equal the ledger.

A shuffled stream (batches and single events, versions, redeliveries, a record moving between
values, one dropping its dimension, deletes) goes to an org that declares two dimensions. The
expected totals per (dimension, value, entity | _all, period, scenario) are computed here from
the events alone (highest version per record, deletes remove it), not by the backend's code; the
reconciliation then repairs damaged dimension aggregates.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from adapters.reference_store import ReferenceStore
from adapters.shard_counters import shard_ref
from aggregations.derived import DerivedDocuments
from aggregations.reconcile import Reconciler
from aggregations.store import AggregateStore
from finance_core.aggregates import AggregateDelta, fold_shards
from finance_core.dimensions import DimensionKey
from google.cloud.firestore_v1.base_query import FieldFilter
from realtime_processor.processor import RecordChangeProcessor

from tests.bigquery_checks import cents, rows
from tests.firestore_events import CREATED, DocumentState, FirestoreEvent, deliver
from tests.support import event, publish, seed_org, wait_for_events, wait_until
from tools.stack.provision import bigquery_client
from tools.stack.seed import publish_batches, records_batches

pytestmark = pytest.mark.emulators

DIMENSIONS = {"region": {"label": "Region", "values": ["emea", "amer", "apac"]}, "department": {"label": "Department"}}
Expected = dict[tuple[str, str, str, str, str], dict[str, Any]]
SHARDS = 8  # AGGREGATE_SHARDS of the local stack


def with_dims(body: dict[str, Any], dims: dict[str, str] | None) -> dict[str, Any]:
    if dims:
        body["record"]["dimensions"] = dims
    return body


def dimension_stream(org_id: str, seed: int = 15) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = [
        # Moves from emea to amer (and changes its amount): the old value must lose it exactly.
        with_dims(event(org_id, "moved", 1, amount="1000.00"), {"region": "emea", "department": "sales"}),
        with_dims(event(org_id, "moved", 2, amount="1234.56"), {"region": "amer", "department": "sales"}),
        # Drops its dimensions in version 2, then is deleted.
        with_dims(event(org_id, "dropped", 1, amount="50.00"), {"region": "apac"}),
        event(org_id, "dropped", 2, amount="60.00"),
        with_dims(event(org_id, "deleted", 1, amount="70.00"), {"region": "emea"}),
        event(org_id, "deleted", 2, delete=True),
    ]
    for number in range(40):
        record_id = f"r{number}"
        versions = rng.randint(1, 3)
        for version in range(1, versions + 1):
            if version == versions and versions > 1 and rng.random() < 0.2:
                events.append(event(org_id, record_id, version, delete=True))
                continue
            dims = {}
            if rng.random() < 0.85:
                dims["region"] = rng.choice(["emea", "amer", "apac"])
            if rng.random() < 0.5:
                dims["department"] = rng.choice(["sales", "rnd", "g-and-a"])
            events.append(
                with_dims(
                    event(
                        org_id,
                        record_id,
                        version,
                        entity=rng.choice(["us-east", "us-west"]),
                        account=rng.choice(["4100", "5100", "6100"]),
                        period=rng.choice(["2026-10", "2026-11"]),
                        amount=f"{Decimal(rng.randint(-20_000, 500_000)) / 100:.2f}",
                    ),
                    dims,
                )
            )
    events += [dict(e) for e in rng.sample(events, len(events) // 6)]  # redeliveries
    rng.shuffle(events)
    return events


def ground_truth(events: list[dict[str, Any]]) -> Expected:
    latest: dict[str, dict[str, Any]] = {}
    for body in events:
        current = latest.get(body["record_id"])
        if current is None or body["version"] > current["version"]:
            latest[body["record_id"]] = body
    totals: Expected = defaultdict(lambda: {"accounts": defaultdict(int), "record_count": 0})
    for body in latest.values():
        record = body.get("record")
        if record is None:
            continue
        for name, value in (record.get("dimensions") or {}).items():
            for entity in (record["entity_id"], "_all"):
                key = (name, value, entity, record["period"], record["scenario"])
                totals[key]["accounts"][record["account_id"]] += int(Decimal(record["amount"]) * 100)
                totals[key]["record_count"] += 1
    return clean(totals)


def clean(totals: Expected) -> Expected:
    cleaned = {
        key: {"accounts": {a: m for a, m in t["accounts"].items() if m}, "record_count": t["record_count"]}
        for key, t in totals.items()
    }
    return {key: t for key, t in cleaned.items() if t["record_count"] or t["accounts"]}


def firestore_dimension_aggregates(db, org_id: str) -> tuple[Expected, Expected]:
    """(readable documents, sums of their shards), keyed like the ground truth; one query and one batched read."""
    readable: Expected = {}
    snaps = list(db.collection(f"organizations/{org_id}/dimension_aggregates").stream())
    for snap in snaps:
        doc = snap.to_dict() or {}
        key = (doc["dimension"], doc["value"], doc["entity_id"], doc["period"], doc["scenario"])
        assert snap.id == "__".join(key)
        readable[key] = {
            "accounts": {a: int(v) for a, v in (doc.get("accounts") or {}).items()},
            "record_count": int(doc.get("record_count") or 0),
        }
    shard_refs = [shard_ref(snap.reference, n) for snap in snaps for n in range(SHARDS)]
    by_key: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for shard in db.get_all(shard_refs):
        if shard.exists:
            by_key[shard.reference.parent.parent.id][shard.id] = shard.to_dict() or {}
    shard_sums: Expected = {}
    for doc_id, docs in by_key.items():
        folded = fold_shards(docs)
        shard_sums[tuple(doc_id.split("__"))] = {"accounts": dict(folded.accounts), "record_count": folded.record_count}
    return clean(readable), clean(shard_sums)


def bigquery_dimension_totals(client, org_id: str) -> Expected:
    totals: Expected = defaultdict(lambda: {"accounts": defaultdict(int), "record_count": 0})
    for r in rows(client, "SELECT * FROM `{ds}.dimension_totals` WHERE org_id = @org", org_id):
        key = (r["dimension"], r["dimension_value"], r["entity_id"], r["period"].strftime("%Y-%m"), r["scenario"])
        totals[key]["accounts"][r["account_id"]] += cents(r["amount"])
        totals[key]["record_count"] += r["record_count"]
    return clean(totals)


def test_a_stream_with_dimensions_equals_the_ground_truth_per_value_in_firestore_and_bigquery(stack, db, org_id):
    seed_org(db, org_id, all_periods_open=True)
    db.document(f"organizations/{org_id}").update({"dimensions": DIMENSIONS})
    events = dimension_stream(org_id)
    expected = ground_truth(events)
    assert ("region", "amer", "_all", "2026-10", "actual") in expected, "the moved record's value must be in the truth"
    bad = [
        with_dims(event(org_id, "bad-dim", 1, event_id="bad-dim"), {"customer": "c1"}),
        with_dims(event(org_id, "bad-value", 1, event_id="bad-value"), {"region": "latam"}),
    ]
    batched, single = events[: len(events) // 2], events[len(events) // 2 :]
    publish_batches(stack.config, records_batches(org_id, [*batched, bad[0]], "dims", lines=25))
    publish(stack, [*single, bad[1]])
    wait_for_events(db, org_id, len(events) + len(bad), timeout=180)

    for body, code, words in (
        (bad[0], "unknown_dimension", "dimension 'customer' is not declared"),
        (bad[1], "unknown_dimension_value", "'latam' is not a declared value"),
    ):
        errors = [
            d.to_dict()
            for d in db.collection(f"organizations/{org_id}/ingestion_errors")
            .where(filter=FieldFilter("event_id", "==", body["event_id"]))
            .stream()
        ]
        assert errors and errors[0]["code"] == code and words in errors[0]["reason"], errors

    def firestore_matches() -> bool:
        readable, shards = firestore_dimension_aggregates(db, org_id)
        return readable == expected and shards == expected

    try:
        wait_until(firestore_matches, timeout=180, what="the dimension aggregates to equal the ground truth")
    except AssertionError:
        readable, shards = firestore_dimension_aggregates(db, org_id)
        differing = sorted(
            k
            for k in set(expected) | set(readable) | set(shards)
            if expected.get(k) != readable.get(k) or expected.get(k) != shards.get(k)
        )
        pytest.fail(
            f"{len(differing)} dimension keys differ, e.g. "
            + "; ".join(
                f"{k}: expected {expected.get(k)}, readable {readable.get(k)}, shards {shards.get(k)}"
                for k in differing[:5]
            )
        )
    moved = db.document(f"organizations/{org_id}/financial_records/moved").get().to_dict()
    assert moved["dimensions"] == {"region": "amer", "department": "sales"}
    dropped = db.document(f"organizations/{org_id}/financial_records/dropped").get().to_dict()
    assert dropped["dimensions"] is None, "a version without dimensions clears the stored ones"

    client = bigquery_client(stack.config)
    found = wait_until(
        lambda: (got := bigquery_dimension_totals(client, org_id)) == expected and got,
        timeout=180,
        what="dimension_totals in BigQuery to equal the ground truth",
    )
    assert found == expected
    # Reconciliation repairs a damaged dimension shard and a damaged readable document, once.
    store = AggregateStore(db, SHARDS)
    moved_key = DimensionKey("region", "amer", "_all", "2026-10", "actual")
    store.apply_once(org_id, "bogus-dimension-change", {}, {moved_key: AggregateDelta({"4100": 999}, 1)})
    damaged = DimensionKey("department", "sales", "_all", "2026-10", "actual")
    db.document(f"organizations/{org_id}/dimension_aggregates/{damaged.doc_id}").update({"accounts": {"4100": 1}})
    reconciler = Reconciler(db, ReferenceStore(db), store, DerivedDocuments(db))
    report = reconciler.reconcile(org_id, "2026-10", settle=timedelta(0))
    assert moved_key.doc_id in report.shard_repairs and damaged.doc_id in report.view_repairs, report.summary()
    readable, shards = firestore_dimension_aggregates(db, org_id)
    assert readable == expected and shards == expected
    assert reconciler.reconcile(org_id, "2026-10", settle=timedelta(0)).repaired == 0


def test_a_change_with_more_dimension_keys_than_one_commit_holds_is_applied_once_even_when_redelivered(
    stack, db, org_id
):
    seed_org(db, org_id, all_periods_open=True)
    names = [f"d{i}" for i in range(1, 6)]
    db.document(f"organizations/{org_id}").update({"dimensions": {name: {} for name in names}})
    # 45 lines with 5 dimensions of their own values: 450 dimension keys (and 2 base keys) in one
    # change document, more than one commit may write: they follow the commit in parts.
    lines = [
        with_dims(event(org_id, f"wide-{n}", 1, amount="10.00"), {name: f"x{n}" for name in names}) for n in range(45)
    ]
    publish_batches(stack.config, records_batches(org_id, lines, "wide", lines=45))
    wait_for_events(db, org_id, len(lines), timeout=180)
    expected = ground_truth(lines)
    assert len(expected) == 450
    changes = db.collection(f"organizations/{org_id}/record_changes")
    (document,) = wait_until(
        lambda: [c for c in changes.stream() if c.get("state") == "published"],
        timeout=180,
        what="the change document to be published",
    )
    wait_until(
        lambda: firestore_dimension_aggregates(db, org_id) == (expected, expected),
        timeout=180,
        what="the 450 dimension aggregates",
    )
    # The creation event again, twice (an Eventarc retry): the parts and the final commit are
    # each applied once already, so nothing changes.
    data = {k: v for k, v in (document.to_dict() or {}).items() if k not in {"applied_at", "keys", "merged"}}
    created = FirestoreEvent(
        document.reference.path,
        None,
        DocumentState({**data, "state": "pending"}, document.create_time, document.create_time),
        event_type=CREATED,
    )
    for _ in range(2):
        response = deliver(stack, "apply_record_changes", created)
        assert response.status_code == 200, response.text
    # A retry of a document applied but not published (a crash after its commit): the dimension
    # parts are offered again and each is refused by its marker.
    applied = document.reference.get()
    assert applied.get("dimensions_deferred") is True
    processor = RecordChangeProcessor(db, AggregateStore(db, SHARDS), None)
    result = processor.process(
        document.id,
        org_id,
        {**(applied.to_dict() or {}), "state": "applied"},
        "2026-10-05T12:00:00Z",
        applied.update_time,
    )
    assert not result.applied and len(result.keys) == 2
    assert firestore_dimension_aggregates(db, org_id)[1] == expected
    markers = [m.id for m in db.collection(f"organizations/{org_id}/applied_changes").stream()]
    assert sorted(markers) == [f"{document.id}-dimensions-0", f"{document.id}-dimensions-1"], (
        "450 dimension keys follow the commit in two marked parts of at most 399"
    )

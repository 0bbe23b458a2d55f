"""Redelivery of on_record_written events: the same event id counts once, a new id counts again.

The Firestore emulator never redelivers, so the redelivery is made by hand: the same CloudEvent
(same ce-id, same DocumentEventData) POSTed again to the Functions emulator, as Eventarc does in
production when it retries (tests/firestore_events.py).
"""

from __future__ import annotations

import pytest

from finance_core.aggregates import fold_shards
from tests.firestore_events import FirestoreEvent, deliver, state_of
from tests.support import aggregate, event, publish, seed_org, wait_for_events, wait_until

pytestmark = pytest.mark.emulators

KEY = "us-east__2026-10__actual"
CONSOLIDATED = "_all__2026-10__actual"
# The record trigger is serial for every org of the shared stack: other tests' backlogs delay ours.
PIPELINE_TIMEOUT = 300


def shard_totals(db, org_id: str, doc_id: str) -> tuple[int, int]:
    """(account 4100 in minor units, record_count) summed over every shard: what has been applied."""
    collection = db.collection(f"organizations/{org_id}/aggregates/{doc_id}/shards")
    shards = {s.id: s.to_dict() or {} for s in collection.stream()}
    totals = fold_shards(shards)
    return totals.accounts.get("4100", 0), totals.record_count


def readable(db, org_id: str, doc_id: str, minor: int) -> dict:
    return wait_until(lambda: (agg := aggregate(db, org_id, doc_id)) and agg["accounts"].get("4100") == minor and agg,
                      timeout=PIPELINE_TIMEOUT, what=f"{doc_id} to show {minor}")


def test_the_same_record_event_redelivered_counts_once_and_a_fresh_id_counts_again(stack, db, org_id):
    seed_org(db, org_id)
    publish(stack, [event(org_id, "redeliver-1", 1, amount="100.00")])
    wait_for_events(db, org_id, 1, timeout=PIPELINE_TIMEOUT)
    readable(db, org_id, KEY, 10000)
    changes = db.collection(f"organizations/{org_id}/applied_changes")
    (original,) = wait_until(lambda: list(changes.stream()), timeout=PIPELINE_TIMEOUT,
                             what="the record's applied change")
    record_path = f"organizations/{org_id}/financial_records/redeliver-1"
    created = state_of(db.document(record_path).get())
    assert shard_totals(db, org_id, KEY) == (10000, 1)

    # 1. The emulator's own event again (its id is the applied_changes marker's id): nothing changes.
    response = deliver(stack, "on_record_written", FirestoreEvent(record_path, None, created, event_id=original.id))
    assert response.status_code == 200, response.text
    assert shard_totals(db, org_id, KEY) == (10000, 1)

    # 2. One event posted twice under one id: applied once. (It is a creation event for a record
    #    that already counts, so the totals now double-count it: that is the point of the test.)
    twice = FirestoreEvent(record_path, None, created, event_id=f"test-redelivery-{org_id}")
    for _ in range(2):
        response = deliver(stack, "on_record_written", twice)
        assert response.status_code == 200, response.text
        assert shard_totals(db, org_id, KEY) == (20000, 2)
        assert shard_totals(db, org_id, CONSOLIDATED) == (20000, 2)
    readable(db, org_id, KEY, 20000)

    # 3. The same payload under a fresh id is another change and counts again: keeping the
    #    trigger's own event id across redeliveries is what makes them harmless.
    response = deliver(stack, "on_record_written", FirestoreEvent(record_path, None, created))
    assert response.status_code == 200, response.text
    assert shard_totals(db, org_id, KEY) == (30000, 3)
    agg = readable(db, org_id, KEY, 30000)
    assert agg["record_count"] == 3
    ids = [c.id for c in changes.stream()]
    assert len(ids) == 3 and {original.id, twice.event_id} <= set(ids), "one applied change per distinct event id"

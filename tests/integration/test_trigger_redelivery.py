"""Redelivery of the record-changes trigger: a change document counts once, however often its event comes.

The Firestore emulator never redelivers, so the redelivery is made by hand: the creation event of
the change document (its data and update time as created) POSTed again to the Functions emulator,
as Eventarc does in production when it retries (tests/firestore_events.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from finance_core.aggregates import fold_shards
from realtime_processor.processor import COALESCE_AFTER

from tests.firestore_events import CREATED, DocumentState, FirestoreEvent, deliver
from tests.support import aggregate, event, publish, seed_org, wait_for_events, wait_until

pytestmark = pytest.mark.emulators

KEY = "us-east__2026-10__actual"
CONSOLIDATED = "_all__2026-10__actual"
# The record-changes trigger is serial for every org of the shared stack: other tests' backlogs delay ours.
PIPELINE_TIMEOUT = 300


def shard_totals(db, org_id: str, doc_id: str) -> tuple[int, int]:
    """(account 4100 in minor units, record_count) summed over every shard: what has been applied."""
    collection = db.collection(f"organizations/{org_id}/aggregates/{doc_id}/shards")
    shards = {s.id: s.to_dict() or {} for s in collection.stream()}
    totals = fold_shards(shards)
    return totals.accounts.get("4100", 0), totals.record_count


def readable(db, org_id: str, doc_id: str, minor: int) -> dict:
    return wait_until(
        lambda: (agg := aggregate(db, org_id, doc_id)) and agg["accounts"].get("4100") == minor and agg,
        timeout=PIPELINE_TIMEOUT,
        what=f"{doc_id} to show {minor}",
    )


def as_created(snapshot) -> DocumentState:
    """The change document as its creation event carried it: pending, with its creation time as update time."""
    data = {k: v for k, v in (snapshot.to_dict() or {}).items() if k not in {"applied_at", "keys", "merged"}}
    data["state"] = "pending"
    return DocumentState(data, snapshot.create_time, snapshot.create_time)


def test_a_redelivered_change_document_counts_once_and_a_new_one_counts_again(stack, db, org_id):
    seed_org(db, org_id)
    publish(stack, [event(org_id, "redeliver-1", 1, amount="100.00")])
    wait_for_events(db, org_id, 1, timeout=PIPELINE_TIMEOUT)
    readable(db, org_id, KEY, 10000)
    changes = db.collection(f"organizations/{org_id}/record_changes")
    (original,) = wait_until(
        lambda: [c for c in changes.stream() if c.get("state") == "published"],
        timeout=PIPELINE_TIMEOUT,
        what="the change document to be published",
    )
    assert shard_totals(db, org_id, KEY) == (10000, 1)

    # 1. The creation event again, twice, under the emulator's id or a new one: nothing changes,
    #    because applying is conditional on the document still being as created.
    created = FirestoreEvent(original.reference.path, None, as_created(original), event_type=CREATED)
    for _ in range(2):
        response = deliver(stack, "apply_record_changes", created)
        assert response.status_code == 200, response.text
        assert shard_totals(db, org_id, KEY) == (10000, 1)
        assert shard_totals(db, org_id, CONSOLIDATED) == (10000, 1)
    assert changes.document(original.id).get().get("state") == "published"

    # 2. The same changes in a new change document are another application and count again:
    #    the document, not its content, is what is applied once. (The totals now double-count
    #    the record: that is the point of the test.)
    # Written by no ingesting invocation, so created as one whose writer is gone (older than
    # COALESCE_AFTER): the trigger leaves a younger pending document to the invocation that stored
    # it, which applies it itself, and this one has none (the outbox sweep would take it later).
    copy = {k: v for k, v in (original.to_dict() or {}).items() if k not in {"applied_at", "keys", "merged"}}
    written_long_ago = datetime.now(UTC) - 2 * COALESCE_AFTER
    changes.document(f"copy-{original.id}").create({**copy, "state": "pending", "created_at": written_long_ago})
    agg = readable(db, org_id, KEY, 20000)
    assert agg["record_count"] == 2
    assert shard_totals(db, org_id, CONSOLIDATED) == (20000, 2)

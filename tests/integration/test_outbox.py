"""The change outbox: a change document the trigger never finished is applied once and published by the sweep."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from adapters.errors import TransientError
from adapters.firestore_codec import utc_now
from aggregations.store import AggregateStore
from finance_core.aggregates import AggregateKey
from finance_core.changes import RecordChange, decode_change_message, encode_changes
from finance_core.records import RecordState
from realtime_processor.outbox import sweep_outbox
from realtime_processor.processor import RecordChangeProcessor

pytestmark = pytest.mark.emulators

KEY = AggregateKey("us-east", "2026-10", "actual")


@pytest.fixture
def db(stack):
    """A client of another project on the same emulator: no deployed trigger sees its documents, so a
    change document written here stays as stranded as one whose trigger invocation was lost."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    return firestore.Client(project="demo-no-triggers", credentials=AnonymousCredentials())


def _stranded(db, org_id: str, change_id: str, minutes_ago: float, state: str = "pending", minor: int = 1234) -> None:
    """A change document as ingestion writes it, left by a trigger invocation that never ran (or died)."""
    after = RecordState(
        org_id,
        f"r-{change_id}",
        1,
        f"e-{change_id}",
        entity_id=KEY.entity_id,
        account_id="4100",
        period=KEY.period,
        scenario=KEY.scenario,
        amount=Decimal(minor).scaleb(-2),
        currency="USD",
        amount_minor=minor,
        reporting_amount_minor=minor,
    )
    db.document(f"organizations/{org_id}/record_changes/{change_id}").set(
        {
            "changes": encode_changes([RecordChange(after.record_id, after.event_id, 1, None, after)]),
            "line_count": 1,
            "reporting_currency": "USD",
            "source": "test",
            "state": state,
            "created_at": utc_now() - timedelta(minutes=minutes_ago),
        }
    )


def _processor(db, sent: list) -> RecordChangeProcessor:
    return RecordChangeProcessor(db, AggregateStore(db, 4), lambda data, attributes, key: sent.append(data))


def test_the_sweep_applies_and_publishes_stranded_changes_older_than_its_delay_once(db, org_id):
    _stranded(db, org_id, "old-change", minutes_ago=5)
    _stranded(db, org_id, "fresh-change", minutes_ago=0)
    sent: list[bytes] = []
    assert (
        sweep_outbox(db, _processor(db, sent), older_than=timedelta(minutes=1), org_id=org_id).counts["published"] == 1
    )
    [message] = [decode_change_message(data) for data in sent]
    assert message.change_id == "old-change" and message.deltas[KEY].accounts == {"4100": 1234}
    assert message.deltas[KEY].record_count == 1
    changes = f"organizations/{org_id}/record_changes"
    assert db.document(f"{changes}/old-change").get().get("state") == "published"
    assert db.document(f"{changes}/fresh-change").get().get("state") == "pending"
    assert AggregateStore(db, 4).shard_totals(org_id, KEY).accounts == {"4100": 1234}
    again: list[bytes] = []
    assert (
        sweep_outbox(db, _processor(db, again), older_than=timedelta(minutes=1), org_id=org_id).counts["published"] == 0
    )
    assert again == [] and AggregateStore(db, 4).shard_totals(org_id, KEY).accounts == {"4100": 1234}


def test_late_change_documents_of_the_org_are_taken_along_once_into_one_message(db, org_id):
    for index in range(5):
        _stranded(db, org_id, f"late-{index}", minutes_ago=1 + index, minor=100)
    _stranded(db, org_id, "fresh", minutes_ago=0, minor=1)
    as_written = {s.id: s for s in db.collection(f"organizations/{org_id}/record_changes").stream()}
    own = as_written["late-0"]
    sent: list[bytes] = []
    processor = _processor(db, sent)
    result = processor.process("late-0", org_id, own.to_dict(), "2026-11-29T10:00:00+00:00", own.update_time)
    assert result.applied and result.merged == 4 and result.published
    [message] = [decode_change_message(data) for data in sent]
    assert len(message.changes) == 5 and message.deltas[KEY].accounts == {"4100": 500}
    states = {s.id: s.get("state") for s in db.collection(f"organizations/{org_id}/record_changes").stream()}
    assert states == {
        "late-0": "published",
        "late-1": "merged",
        "late-2": "merged",
        "late-3": "merged",
        "late-4": "merged",
        "fresh": "pending",
    }, "a document written a moment ago waits for its trigger"
    # Their own trigger events come late, carrying the documents as written: each finds its
    # document merged and does nothing.
    for index in range(1, 5):
        late = as_written[f"late-{index}"]
        again = processor.process(late.id, org_id, late.to_dict(), "2026-11-29T10:00:01+00:00", late.update_time)
        assert not again.applied and not again.published
    assert len(sent) == 1 and AggregateStore(db, 4).shard_totals(org_id, KEY).accounts == {"4100": 500}
    # The sweep finds nothing left but the fresh one, which it applies alone once it is old enough.
    assert sweep_outbox(db, _processor(db, []), older_than=timedelta(minutes=1), org_id=org_id).counts["published"] == 0


def test_an_applied_but_unpublished_change_is_published_without_applying_it_again(db, org_id):
    _stranded(db, org_id, "applied-change", minutes_ago=5, state="applied")
    sent: list[bytes] = []
    assert (
        sweep_outbox(db, _processor(db, sent), older_than=timedelta(minutes=1), org_id=org_id).counts["published"] == 1
    )
    assert len(sent) == 1
    assert AggregateStore(db, 4).shard_totals(org_id, KEY).accounts == {}, "its deltas were applied before"


def test_a_failed_publish_leaves_the_change_for_the_next_sweep(db, org_id):
    _stranded(db, org_id, "stuck-change", minutes_ago=5)

    def failing(data, attributes, key):
        raise TransientError("Pub/Sub unavailable")

    processor = RecordChangeProcessor(db, AggregateStore(db, 4), failing)
    assert sweep_outbox(db, processor, older_than=timedelta(minutes=1), org_id=org_id).counts["published"] == 0
    assert db.document(f"organizations/{org_id}/record_changes/stuck-change").get().get("state") == "applied"
    sent: list[bytes] = []
    assert (
        sweep_outbox(db, _processor(db, sent), older_than=timedelta(minutes=1), org_id=org_id).counts["published"] == 1
    )
    assert AggregateStore(db, 4).shard_totals(org_id, KEY).accounts == {"4100": 1234}, "applied once"


def test_one_org_that_fails_never_stops_the_sweep_of_the_others_and_fails_the_run(db, org_id):
    from adapters.sweeps import SweepFailed

    broken, healthy = f"{org_id}-broken", f"{org_id}-ok"
    db.document(f"organizations/{broken}/record_changes/bad").set(
        {"changes": "not json", "line_count": 1, "state": "pending", "created_at": utc_now() - timedelta(minutes=5)}
    )
    _stranded(db, broken, "after-bad", minutes_ago=4)
    _stranded(db, healthy, "good", minutes_ago=5)
    sent: list[bytes] = []
    sweep = sweep_outbox(db, _processor(db, sent), older_than=timedelta(minutes=1))
    assert healthy not in sweep.failed and broken in sweep.failed and "not a change document" in sweep.failed[broken]
    assert db.document(f"organizations/{healthy}/record_changes/good").get().get("state") == "published"
    assert sweep.skipped >= 1, "the rest of the failed org waits for the next run"
    with pytest.raises(SweepFailed, match=broken):
        sweep.finish()
    for org, change in ((broken, "bad"), (broken, "after-bad"), (healthy, "good")):
        db.document(f"organizations/{org}/record_changes/{change}").delete()

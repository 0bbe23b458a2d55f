"""Comments: on_comment_written keeps comment_count on targets of the same org equal to their comments;
rate limit; sweep."""

from __future__ import annotations

import pytest
from google.cloud import firestore

from tests.firestore_events import FirestoreEvent, deliver, new_state
from tests.support import event, publish, seed_org, wait_for_events, wait_until
from tools.stack.seed import applied_change_count

pytestmark = pytest.mark.emulators

# Triggers are serial per function for every org of the shared stack: other tests' backlogs delay ours.
PIPELINE_TIMEOUT = 300


def comment(db, org_id: str, target: str, text: str = "why?", uid: str = "u-1") -> firestore.DocumentReference:
    ref = db.collection(f"organizations/{org_id}/comments").document()
    ref.set({"target_path": target, "uid": uid, "text": text, "created_at": firestore.SERVER_TIMESTAMP})
    return ref


def count(db, path: str) -> int | None:
    snap = db.document(path).get()
    return (snap.to_dict() or {}).get("comment_count") if snap.exists else None


def wait_count(db, path: str, expected: int) -> None:
    wait_until(
        lambda: count(db, path) == expected, timeout=PIPELINE_TIMEOUT, what=f"comment_count {expected} on {path}"
    )


def test_counts_follow_creations_and_deletions_on_targets_of_the_same_org(db, org_id):
    other_org = f"{org_id}-other"
    aggregate = f"organizations/{org_id}/aggregates/_all__2026-10__actual"
    alert = f"organizations/{org_id}/alerts/a-1"
    member = f"organizations/{org_id}/members/u-1"
    foreign = f"organizations/{other_org}/kpis/current"
    db.document(aggregate).set({"entity_id": "_all", "period": "2026-10", "scenario": "actual", "record_count": 0})
    db.document(alert).set({"status": "active", "severity": "warning", "title": "Revenue dropped"})
    db.document(member).set({"uid": "u-1", "role": "viewer"})
    db.document(foreign).set({"period": "2026-10"})

    # Comments that count nowhere (written first: one function's events are delivered in order).
    comment(db, org_id, member)  # reference data: no count
    comment(db, org_id, foreign)  # another org (admin SDK write)
    comment(db, org_id, f"organizations/{org_id}/aggregates/not-there")  # no such document
    comment(db, org_id, f"organizations/{org_id}/kpis")  # a collection, not a document
    first = comment(db, org_id, aggregate)
    comment(db, org_id, aggregate)
    comment(db, org_id, aggregate)
    comment(db, org_id, alert)

    wait_count(db, aggregate, 3)
    wait_count(db, alert, 1)
    assert count(db, member) is None and count(db, foreign) is None
    missing = db.document(f"organizations/{org_id}/aggregates/not-there").get()
    assert not missing.exists, "a count never creates a target"

    first.update({"text": "why did revenue drop?", "edited_at": firestore.SERVER_TIMESTAMP})  # an edit counts nothing
    first.delete()
    wait_count(db, aggregate, 2)
    assert count(db, aggregate) == 2 and count(db, alert) == 1


def test_redelivered_and_late_comment_events_leave_the_true_count(stack, db, org_id):
    alert = f"organizations/{org_id}/alerts/a-2"
    db.document(alert).set({"status": "active", "severity": "critical", "title": "Cash below plan"})
    ref = comment(db, org_id, alert, uid="u-2")
    wait_count(db, alert, 1)
    stored = ref.get()
    created = FirestoreEvent(document=ref.path, before=None, after=new_state(stored.to_dict()))
    # The same event again (a redelivery), and the same payload under another id (a late duplicate):
    # the count is recounted from the comments, so it stays 1.
    for again in (created, created, FirestoreEvent(created.document, None, created.after)):
        response = deliver(stack, "on_comment_written", again)
        assert response.status_code == 200, response.text
        assert count(db, alert) == 1
    ref.delete()
    wait_count(db, alert, 0)
    for _ in range(2):
        assert (
            deliver(stack, "on_comment_written", FirestoreEvent(created.document, created.after, None)).status_code
            == 200
        )
    assert count(db, alert) == 0


def test_a_member_over_the_comment_rate_limit_gets_the_extra_comments_deleted(db, org_id):
    alert = f"organizations/{org_id}/alerts/a-3"
    db.document(alert).set({"status": "active", "severity": "warning", "title": "Spam target"})
    refs = [comment(db, org_id, alert, text=f"spam {i}", uid="u-flood") for i in range(23)]
    comment(db, org_id, alert, text="a colleague is not limited", uid="u-other")
    wait_until(
        lambda: sum(1 for r in refs if not r.get().exists) == 3,
        timeout=PIPELINE_TIMEOUT,
        what="the 3 comments over 20 a minute deleted",
    )
    wait_count(db, alert, 21)
    limits = db.document(f"organizations/{org_id}/rate_limits/u-flood").get().to_dict()
    assert limits["comments"]["refused"] == 3


def test_the_sweep_recounts_a_target_whose_trigger_was_lost(stack, org_id):
    from collaboration.comments import CommentCounter
    from google.auth.credentials import AnonymousCredentials

    # Another project on the same emulator: no deployed trigger sees its writes (a lost event).
    lost = firestore.Client(project="demo-no-triggers", credentials=AnonymousCredentials())
    target = f"organizations/{org_id}/aggregates/_all__2026-10__actual"
    lost.document(target).set({"entity_id": "_all", "period": "2026-10", "scenario": "actual", "comment_count": 7})
    for _ in range(2):
        comment(lost, org_id, target)
    sweep = CommentCounter(lost).sweep(org_id).finish()
    assert sweep.done == 1 and count(lost, target) == 2
    assert CommentCounter(lost).reconcile(org_id) == 0, "nothing left to correct"


def test_a_comment_on_a_record_survives_new_versions_and_changes_no_aggregate(stack, db, org_id):
    seed_org(db, org_id)
    publish(stack, [event(org_id, "c-rec", 1, amount="40.00")])
    wait_for_events(db, org_id, 1, timeout=PIPELINE_TIMEOUT)
    record = f"organizations/{org_id}/financial_records/c-rec"
    wait_until(lambda: applied_change_count(db, org_id) == 1, timeout=PIPELINE_TIMEOUT, what="the record's change")

    comment(db, org_id, record)
    wait_count(db, record, 1)
    publish(stack, [event(org_id, "c-rec", 2, amount="45.00")])
    wait_for_events(db, org_id, 2, timeout=PIPELINE_TIMEOUT)
    stored = wait_until(
        lambda: (d := db.document(record).get().to_dict()) and d["version"] == 2 and d,
        timeout=PIPELINE_TIMEOUT,
        what="version 2 of the record",
    )
    assert stored["comment_count"] == 1, "a new version keeps the record's comment count"
    # The record was written three times (v1, the count, v2); the count is no financial change,
    # so only v1 and v2 reached the aggregates.
    wait_until(lambda: applied_change_count(db, org_id) >= 2, timeout=PIPELINE_TIMEOUT, what="the change of version 2")
    assert applied_change_count(db, org_id) == 2
    agg = wait_until(
        lambda: (
            (a := db.document(f"organizations/{org_id}/aggregates/us-east__2026-10__actual").get().to_dict())
            and a["accounts"].get("4100") == 4500
            and a
        ),
        timeout=PIPELINE_TIMEOUT,
        what="the aggregate at 45.00",
    )
    assert agg["record_count"] == 1

"""Operations on the emulators: unreadable messages keep their origin, lost manual entries are swept, rate
limits, and the pipeline health documents."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore, pubsub_v1

from tests.support import event, publish, seed_org, wait_for_events, wait_until

pytestmark = pytest.mark.emulators


@pytest.fixture
def lost():
    """A client of another project on the same emulator: no deployed trigger sees its writes (a lost event)."""
    return firestore.Client(project="demo-no-triggers", credentials=AnonymousCredentials())


def test_unreadable_messages_keep_their_origin_and_their_org_and_count_per_delivery(stack, db, org_id):
    seed_org(db, org_id)
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(stack.config.project_id, "financial-events")
    ids = [publisher.publish(topic, b"{not json", org_id=org_id, source="erp-7").result(timeout=30) for _ in range(6)]
    errors = f"organizations/{org_id}/ingestion_errors"
    docs = wait_until(
        lambda: (d := [s.to_dict() for s in db.collection(errors).stream()]) and len(d) == 6 and d,
        60,
        0.3,
        "six rejections in the org named by the attribute",
    )
    assert sorted(d["message_id"] for d in docs) == sorted(ids)
    for doc in docs:
        assert doc["code"] == "invalid_json" and doc["raw"] == "{not json" and doc["org_id"] == org_id
        assert doc["attributes"] == {"org_id": org_id, "source": "erp-7"} and doc["publish_time"] is not None
        assert len(doc["trace_id"]) == 32
    counters = wait_for_events(db, org_id, 6)
    assert counters["counts"]["rejected"] == 6 and counters["rejected_by_reason"] == {"invalid_json": 6}


def test_a_manual_entry_whose_trigger_was_lost_is_stored_by_the_sweep(lost, org_id):
    from adapters.rate_limits import RateLimiter
    from adapters.reference_store import ReferenceStore
    from ingestion.manual_entries import ManualEntries
    from ingestion.service import IngestionService
    from ingestion.store import IngestionStore

    seed_org(lost, org_id)
    entries = lost.collection(f"organizations/{org_id}/manual_entries")
    good = {
        "record_id": "man-lost",
        "entity_id": "us-west",
        "account_id": "6200",
        "period": "2026-10",
        "scenario": "actual",
        "amount": "12.50",
        "currency": "USD",
        "created_by": "editor-1",
    }
    entries.document("e-old").set({**good, "created_at": firestore.SERVER_TIMESTAMP})
    service = IngestionService(IngestionStore(lost), ReferenceStore(lost, ttl_seconds=0))
    manual = ManualEntries(lost, service, RateLimiter(lost), lambda: 60)
    assert manual.sweep(org_id).done == 0, "an entry written a moment ago is left to its trigger"
    sweep = manual.sweep(org_id, older_than=timedelta(0)).finish()
    assert sweep.done == 1
    entry = entries.document("e-old").get().to_dict()
    assert entry["status"] == "accepted" and entry["outcome"] == "applied"
    record = lost.document(f"organizations/{org_id}/financial_records/man-lost").get().to_dict()
    assert record["amount_minor"] == 1250 and record["version"] == 1
    assert manual.sweep(org_id, older_than=timedelta(0)).done == 0, "a processed entry is never swept again"


def test_the_rate_limit_counts_each_write_once_and_refuses_past_the_window_budget(lost, org_id):
    from adapters.rate_limits import Limit, RateLimiter

    limiter = RateLimiter(lost)
    limit = Limit("comments", 2, timedelta(minutes=1))
    verdicts = [limiter.take(org_id, "u1", limit, key) for key in ("c1", "c2", "c2", "c3")]
    assert [v.allowed for v in verdicts] == [True, True, True, False], "a redelivered key is not counted twice"
    assert "at most 2 comments per user every 60 s" in verdicts[-1].reason
    assert limiter.take(org_id, "u2", limit, "c4").allowed, "limits are per user"


def test_the_health_documents_show_lag_backlog_dead_letters_and_rejections(stack, db, org_id):
    from operations.health import HealthRefresher
    from operations.triggers import waiting_dead_letters

    seed_org(db, org_id)
    publish(stack, [event(org_id, f"h-{i}", 1, amount="10.00") for i in range(3)] + [b"{oops"])
    wait_for_events(db, org_id, 3)
    wait_until(
        lambda: (
            sum(
                1
                for s in db.collection(f"organizations/{org_id}/record_changes").stream()
                if s.to_dict().get("lag_ms") is not None
            )
            >= 1
        ),
        60,
        0.3,
        "a folded change's lag sample",
    )
    # A change document its trigger cannot finish (its changes are not readable) stays pending: the backlog.
    db.document(f"organizations/{org_id}/record_changes/stranded").set(
        {"state": "pending", "changes": "not json", "line_count": 1, "created_at": firestore.SERVER_TIMESTAMP}
    )
    publisher = pubsub_v1.PublisherClient()
    dead = publisher.topic_path(stack.config.project_id, "financial-record-changes-dead-letter")
    marker = uuid.uuid4().hex
    publisher.publish(dead, b"{}", org_id=org_id, reason="test", marker=marker).result(timeout=30)

    body = HealthRefresher(db, waiting_dead_letters).refresh()
    health = db.document(f"organizations/{org_id}/data_quality/pipeline").get().to_dict()
    assert health["backlog"]["unfinished_changes"] == 1 and health["backlog"]["oldest_at"] is not None
    assert health["lag_ms"]["samples"] >= 1 and 0 <= health["lag_ms"]["p50"] <= health["lag_ms"]["p99"]
    assert health["dead_letters_waiting"] == 1
    assert health["counts"]["applied"] == 3 and health["counts"]["rejected"] == 0  # {oops names no org
    assert health["status"] == "degraded" and any("dead letters" in p for p in health["problems"])
    assert body["orgs"] >= 1 and org_id in body["orgs_degraded"] and body["dead_letters_waiting"] >= 1
    # The next refresh measures the rejected rate over the lines counted since this one.
    db.collection(f"organizations/{org_id}/record_changes").document("stranded").delete()
    publish(stack, [event(org_id, "h-bad", 1, account="0000")])
    wait_for_events(db, org_id, 4)
    HealthRefresher(db, waiting_dead_letters).refresh()
    health = db.document(f"organizations/{org_id}/data_quality/pipeline").get().to_dict()
    assert health["rejected"] == {"lines": 1, "of_lines": 1, "rate": 1.0}
    assert health["backlog"]["unfinished_changes"] == 0
    _ack_dead_letter(stack, marker)


def _ack_dead_letter(stack, marker: str) -> None:
    """Take this test's message off the shared hold subscription."""
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(stack.config.project_id, "financial-record-changes-dead-letter-hold")
    seen: Counter[str] = Counter()
    for _ in range(20):
        received = subscriber.pull(request={"subscription": path, "max_messages": 100}, timeout=10).received_messages
        mine = [m.ack_id for m in received if m.message.attributes.get("marker") == marker]
        others = [m.ack_id for m in received if m.message.attributes.get("marker") != marker]
        if others:
            subscriber.modify_ack_deadline(request={"subscription": path, "ack_ids": others, "ack_deadline_seconds": 0})
        if mine:
            subscriber.acknowledge(request={"subscription": path, "ack_ids": mine})
            return
        seen["empty"] += 1

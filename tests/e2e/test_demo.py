"""The main job, shortened: the demo streams into the stack and every event it sent is accounted for."""

from __future__ import annotations

import argparse
import json
import uuid

import pytest

pytestmark = pytest.mark.emulators


def test_the_demo_streams_a_feed_and_accounts_for_every_event(stack):
    from tools.demo.run import SUMMARY_FILE, run_demo

    args = argparse.Namespace(
        rate=8.0,
        duration=6.0,
        duplicates=0.15,
        late=0.1,
        invalid=0.1,
        seed=11,
        no_dashboard=True,
        keep_running=True,
        no_history=True,
    )
    assert run_demo(args) == 0
    summary = json.loads(SUMMARY_FILE.read_text())
    assert summary["sent"] >= 30
    # Every distinct event is accounted for, read back per event from what the pipeline stored.
    assert summary["accounted"] == summary["distinct_events"] == summary["sent"] - summary["duplicates_sent"]
    # The counters count deliveries: each event's first is applied, stale or rejected; every other
    # delivery (a duplicate sent, or a Pub/Sub redelivery) is a duplicate.
    first = summary["new_lines"] + summary["corrections"] + summary["late_sent"]
    assert summary["applied"] + summary["stale"] == first
    assert summary["rejected"] == summary["invalid_sent"]
    assert summary["duplicate"] == summary["duplicates_sent"] + summary["redelivered"]
    assert summary["applied"] > 0


def test_the_demo_accounting_names_an_event_the_pipeline_has_not_stored(stack, db):
    from tools.demo.accounting import unaccounted
    from tools.demo.stream import SentEvent

    org_id = f"accounting-{uuid.uuid4().hex[:8]}"
    record = db.document(f"organizations/{org_id}/financial_records/je-1")
    record.set({"version": 2})
    db.document(f"organizations/{org_id}/ingestion_errors/bad-1").set({"code": "invalid_amount"})
    events = {
        "stored": SentEvent("je-1", 2, False),
        "older": SentEvent("je-1", 1, False),
        "newer-than-stored": SentEvent("je-1", 3, False),
        "never-stored": SentEvent("je-2", 1, False),
        "bad-1": SentEvent("je-3", 1, True),
        "bad-2": SentEvent("je-4", 1, True),
    }
    assert unaccounted(db, org_id, events) == ["newer-than-stored", "never-stored", "bad-2"]

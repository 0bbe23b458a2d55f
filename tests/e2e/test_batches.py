"""records.batch messages end to end: a 5,000-line load exact in Firestore and BigQuery, bad lines kept,
redelivery harmless."""

from __future__ import annotations

import json

import pytest

from tests.bigquery_checks import firestore_aggregates, latest_totals
from tests.scenario import build_scenario
from tests.support import aggregate, data_quality, event, seed_org, wait_for_events, wait_until
from tools.stack.provision import bigquery_client
from tools.stack.seed import applied_change_count, publish_batches, records_batches

pytestmark = pytest.mark.emulators

# Batches share the session's stack with every other test: waits follow its progress.
PIPELINE_TIMEOUT = 600


def test_a_5000_line_batch_load_equals_the_ground_truth_in_firestore_and_bigquery(stack, db, org_id):
    reference = seed_org(db, org_id)
    scenario = build_scenario(
        org_id, records=2250, seed=5000, duplicate_share=0.10, invalid_share=0.01, versions=(1, 3)
    )
    lines = [json.loads(raw) for raw in scenario.deliveries if raw.startswith(b"{") and raw.endswith(b"}")]
    lines = [line for line in lines if isinstance(line, dict)]
    assert len(lines) >= 5000
    publish_batches(stack.config, records_batches(org_id, lines, "load", lines=1000))
    expected = scenario.expected_totals(reference["fx_rates"])
    wait_for_events(db, org_id, len(lines), timeout=PIPELINE_TIMEOUT)
    wait_until(
        lambda: firestore_aggregates(db, org_id) == expected,
        PIPELINE_TIMEOUT,
        interval=1.0,
        what="the Firestore aggregates to equal the ground truth",
    )
    client = bigquery_client(stack.config)
    wait_until(
        lambda: latest_totals(client, org_id) == expected,
        PIPELINE_TIMEOUT,
        interval=2.0,
        what="financial_records_latest to equal the ground truth",
    )
    counts = data_quality(db, org_id)["counts"]
    assert counts["applied"] + counts["stale"] == len(
        {line["event_id"] for line in lines if "bad" not in line["event_id"]}
    )
    assert counts["rejected"] == len({line["event_id"] for line in lines if line["event_id"].startswith("bad-")})
    # A few dozen commits, not a commit per line: one change document per chunk of up to 240 lines
    # (a chunk that races another delivery on some record is halved, so a few more).
    documents = db.collection(f"organizations/{org_id}/record_changes").count().get()[0][0].value
    assert documents <= len(lines) // 80, documents


def test_a_batch_with_bad_lines_keeps_each_with_its_reason_and_applies_the_rest(stack, db, org_id):
    seed_org(db, org_id)
    good = [event(org_id, f"ok-{i}", 1, amount=f"{i}.00") for i in range(1, 4)]
    floaty = event(org_id, "bad-float", 1)
    floaty["record"]["amount"] = 12.5
    unknown = event(org_id, "bad-account", 1, account="9999")
    foreign = event(org_id, "bad-org", 1) | {"org_id": "someone-else"}
    no_org = {k: v for k, v in event(org_id, "no-org", 1, amount="10.00").items() if k != "org_id"}
    batch = {
        "type": "records.batch",
        "batch_id": "mixed-1",
        "org_id": org_id,
        "events": [good[0], floaty, good[1], unknown, foreign, good[2], no_org],
    }
    publish_batches(stack.config, [batch])
    counters = wait_for_events(db, org_id, 7, timeout=PIPELINE_TIMEOUT)
    assert counters["counts"] == {"applied": 4, "duplicate": 0, "stale": 0, "rejected": 3}
    errors = {s.id: s.to_dict() for s in db.collection(f"organizations/{org_id}/ingestion_errors").stream()}
    assert errors["bad-float-v1"]["reason"].startswith("line 2: record.amount")
    assert errors["bad-account-v1"]["code"] == "unknown_account"
    assert errors["bad-org-v1"]["code"] == "org_mismatch" and "line 5" in errors["bad-org-v1"]["reason"]
    assert all(e["raw"] for e in errors.values())
    agg = wait_until(
        lambda: (a := aggregate(db, org_id, "us-east__2026-10__actual")) and a["record_count"] == 4 and a,
        timeout=PIPELINE_TIMEOUT,
        what="the four good lines in the aggregate",
    )
    assert agg["accounts"] == {"4100": 1600}


def test_a_redelivered_batch_changes_nothing(stack, db, org_id):
    seed_org(db, org_id)
    lines = [event(org_id, f"re-{i}", 1, amount="5.00") for i in range(40)] + [event(org_id, "re-0", 2, amount="7.00")]
    [batch] = records_batches(org_id, lines, "again")
    publish_batches(stack.config, [batch])
    wait_for_events(db, org_id, 41, timeout=PIPELINE_TIMEOUT)
    wait_until(lambda: applied_change_count(db, org_id) == 41, timeout=PIPELINE_TIMEOUT, what="the batch's changes")
    before = wait_until(
        lambda: (a := aggregate(db, org_id, "us-east__2026-10__actual")) and a["record_count"] == 40 and a,
        timeout=PIPELINE_TIMEOUT,
        what="the batch in the readable aggregate",
    )
    records = {
        s.id: s.to_dict()["version"] for s in db.collection(f"organizations/{org_id}/financial_records").stream()
    }
    publish_batches(stack.config, [batch])
    counters = wait_for_events(db, org_id, 82, timeout=PIPELINE_TIMEOUT)
    assert counters["counts"] == {"applied": 41, "duplicate": 41, "stale": 0, "rejected": 0}
    assert applied_change_count(db, org_id) == 41
    assert (
        aggregate(db, org_id, "us-east__2026-10__actual")["accounts"] == before["accounts"] == {"4100": 40 * 500 + 200}
    )
    assert {
        s.id: s.to_dict()["version"] for s in db.collection(f"organizations/{org_id}/financial_records").stream()
    } == records


def test_an_unreadable_batch_is_rejected_whole_with_its_reason(stack, db, org_id):
    seed_org(db, org_id)
    too_many = {
        "type": "records.batch",
        "batch_id": "huge",
        "org_id": org_id,
        "events": [event(org_id, f"h-{i}", 1) for i in range(1001)],
    }
    publish_batches(stack.config, [too_many])
    counters = wait_for_events(db, org_id, 1, timeout=PIPELINE_TIMEOUT)
    assert counters["counts"]["rejected"] == 1 and counters["rejected_by_reason"] == {"invalid_batch": 1}
    [error] = [s.to_dict() for s in db.collection(f"organizations/{org_id}/ingestion_errors").stream()]
    assert "at most 1000" in error["reason"] and error["code"] == "invalid_batch"
    assert not list(db.collection(f"organizations/{org_id}/financial_records").limit(1).stream())

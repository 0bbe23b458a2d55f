"""The live path stays live: lone events of an org with the demo's KPIs and alert rules never contend.

The guard counts, it does not time: every commit the functions make is metered (write meter of
the local stack, with its outcome and org), and a commit that failed its precondition (or a
transaction that aborted) is a commit that lost a race and was retried. A lone event passes
ingestion, its apply (in the same invocation) and the fold of the readable documents; none of
them may lose a race on a trickle of events, whatever the org's history and definitions
(docs/performance.md, "The live path").
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from finance_core.aggregates import AggregateKey
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import event, wait_until
from tools.demo.alert_rules import demo_alert_rules
from tools.demo.metrics import write_demo_metrics
from tools.stack.meter import commits_since
from tools.stack.seed import demo_reference, publish_events, write_reference
from tools.visibility import VisibilityLog

pytestmark = pytest.mark.emulators

# The functions a lone event passes through before a dashboard sees it.
LIVE_PATH = ("ingest_financial_event", "apply_record_changes", "refresh_aggregate_views")
EVENTS = 10
SPACING_SECONDS = 1.0


def _demo_like_org(db, org_id: str) -> str:
    """The demo org's reference data, KPI definitions and alert rules under a test org id; its current period."""
    reference = demo_reference()
    # Without the demo sign-ins: they belong to the demo org only.
    opening = dict(reference, members=[], periods={p: {"status": "open"} for p in reference["periods"]})
    write_reference(db, org_id, opening, demo_alert_rules())
    write_demo_metrics(db, org_id)
    # The definitions are validated by their trigger: wait until they are the org's active set.
    wait_until(
        lambda: (db.document(f"organizations/{org_id}/metrics_status/current").get().to_dict() or {}).get("active"),
        timeout=120,
        what=f"the KPI definitions of {org_id} to be active",
    )
    return str(reference["current_period"])


def test_a_trickle_of_lone_events_commits_without_one_contended_or_retried_write(stack, db, org_id):
    period = _demo_like_org(db, org_id)
    key = AggregateKey("_all", period, "actual")
    visibility = VisibilityLog(key)
    since = datetime.now(UTC) - timedelta(seconds=2)
    watches = [
        db.document(f"organizations/{org_id}/aggregates/{key.doc_id}").on_snapshot(
            lambda snaps, changes, read_time: [
                visibility.on_aggregate_snapshot(s.to_dict() or {}, time.time(), s.update_time) for s in snaps
            ]
        ),
        db.collection(f"organizations/{org_id}/record_changes")
        .where(filter=FieldFilter("created_at", ">=", since))
        .on_snapshot(
            lambda snaps, changes, read_time: [
                visibility.on_change_document(c.document.to_dict() or {}) for c in changes if c.type.name != "REMOVED"
            ]
        ),
    ]
    started = time.time()
    try:
        for number in range(EVENTS):
            body = event(
                org_id,
                f"lone-{number}",
                1,
                entity=["us-east", "us-west", "eu-central"][number % 3],
                account=["4100", "5100", "6100"][number % 3],
                currency="EUR" if number % 3 == 2 else "USD",
                period=period,
                amount=f"{100 + number}.25",
            )
            visibility.on_published(body["event_id"])
            publish_events(stack.config, [json.dumps(body).encode()])
            time.sleep(SPACING_SECONDS)
        wait_until(
            lambda: visibility.summary().measured >= EVENTS,
            timeout=120,
            what=f"the {EVENTS} events on the consolidated aggregate",
        )
    finally:
        for watch in watches:
            watch.unsubscribe()
    # Positive signal that every fold of the path finished: its change document carries the lag
    # the view refresh records after folding.
    wait_until(
        lambda: all(
            (snap.to_dict() or {}).get("folded_at") is not None
            for snap in db.collection(f"organizations/{org_id}/record_changes")
            .where(filter=FieldFilter("created_at", ">=", since))
            .stream()
        ),
        timeout=60,
        what="every fold of the trickle to finish",
    )
    commits = commits_since(started, org_id=org_id)
    path_commits = {function: commits.commits[function] for function in LIVE_PATH}
    assert path_commits["ingest_financial_event"] >= EVENTS, f"the write meter saw no ingestion: {path_commits}"
    assert path_commits["refresh_aggregate_views"] >= EVENTS, f"the write meter saw no fold: {path_commits}"
    failed = {f"{function} ({error})": n for (function, error), n in commits.failures.items() if function in LIVE_PATH}
    assert failed == {}, f"commits of the live path lost a race and were retried: {failed}"

"""Presence: the expire_presence sweep deletes expired heartbeats of every org and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from collaboration.presence import delete_unless_renewed, expire_presence, expired_presence
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.firestore_events import run_scheduled

pytestmark = pytest.mark.emulators


def heartbeat(db, path: str, expires_in: timedelta, dashboard: str = "pnl-overview") -> None:
    now = datetime.now(UTC)
    db.document(path).set(
        {
            "dashboard_id": dashboard,
            "display_name": path.rsplit("/", 1)[-1],
            "last_seen": firestore.SERVER_TIMESTAMP,
            "expires_at": now + expires_in,
        }
    )


def exists(db, path: str) -> bool:
    return db.document(path).get().exists


def test_the_sweep_deletes_expired_heartbeats_of_every_org_and_keeps_fresh_ones(db, org_id):
    other_org = f"{org_id}-b"
    expired = [f"organizations/{org_id}/presence/gone-1", f"organizations/{other_org}/presence/gone-2"]
    long_expired = f"organizations/{org_id}/presence/gone-yesterday"
    fresh = [f"organizations/{org_id}/presence/here-1", f"organizations/{other_org}/presence/here-2"]
    # Same collection name outside an org: the collection-group query sees it, the sweep must not touch it.
    foreign = f"sandbox-{org_id}/x/presence/not-ours"
    for path in expired:
        heartbeat(db, path, timedelta(seconds=-5))
    heartbeat(db, long_expired, timedelta(days=-1))
    heartbeat(db, foreign, timedelta(minutes=-10))
    for path in fresh:
        heartbeat(db, path, timedelta(minutes=2))

    sweep = expire_presence(db, datetime.now(UTC), page_size=2)  # several pages
    assert sweep.deleted >= 3  # other tests' expired heartbeats may go too: that is the sweep's job
    for path in [*expired, long_expired]:
        assert not exists(db, path), path
    for path in [*fresh, foreign]:
        assert exists(db, path), path


def test_a_heartbeat_between_the_query_and_the_delete_wins(db, org_id):
    path = f"organizations/{org_id}/presence/comes-back"
    left = f"organizations/{org_id}/presence/left"
    heartbeat(db, path, timedelta(seconds=-1))
    heartbeat(db, left, timedelta(seconds=-1))
    read = [s for s in expired_presence(db, datetime.now(UTC)) if s.reference.path in {path, left}]
    assert {s.reference.path for s in read} == {path, left}
    heartbeat(db, path, timedelta(minutes=2))  # the user is back before the delete lands

    sweep = delete_unless_renewed(db, read)
    assert (sweep.deleted, sweep.renewed) == (1, 1)
    assert exists(db, path) and not exists(db, left)


def test_the_scheduled_function_runs_the_sweep(stack, db, org_id):
    gone, here = f"organizations/{org_id}/presence/gone", f"organizations/{org_id}/presence/here"
    heartbeat(db, gone, timedelta(seconds=-30))
    heartbeat(db, here, timedelta(minutes=3))
    response = run_scheduled(stack, "expire_presence")
    assert response.status_code == 200, response.text
    assert not exists(db, gone) and exists(db, here)


def test_who_is_viewing_a_dashboard(db, org_id):
    """The documented query presence_on_dashboard (docs/dashboard-clients.md) returns live viewers only.

    The same query runs as a signed-in viewer under the rules in tests/rules/indexes.test.mjs.
    """
    heartbeat(db, f"organizations/{org_id}/presence/ann", timedelta(minutes=2))
    heartbeat(db, f"organizations/{org_id}/presence/bob", timedelta(minutes=1))
    heartbeat(db, f"organizations/{org_id}/presence/cy", timedelta(seconds=-1))  # tab closed
    heartbeat(db, f"organizations/{org_id}/presence/dee", timedelta(minutes=2), dashboard="variance")
    here = (
        db.collection(f"organizations/{org_id}/presence")
        .where(filter=FieldFilter("dashboard_id", "==", "pnl-overview"))
        .where(filter=FieldFilter("expires_at", ">", datetime.now(UTC)))
    )
    assert sorted(s.id for s in here.stream()) == ["ann", "bob"]

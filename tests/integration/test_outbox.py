"""The change outbox: a change applied but never published is sent by the sweep, once, and marked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.errors import TransientError
from adapters.firestore_codec import utc_now
from realtime_processor.outbox import sweep_outbox

pytestmark = pytest.mark.emulators


def _stranded(db, org_id: str, change_id: str, minutes_ago: float) -> None:
    db.document(f"organizations/{org_id}/applied_changes/{change_id}").set({
        "keys": ["us-east__2026-10__actual"],
        "applied_at": utc_now() - timedelta(minutes=minutes_ago),
        "published": False,
        "outbox": {"data": '{"change_id": "%s"}' % change_id, "attributes": {"org_id": org_id},
                   "ordering_key": f"{org_id}/r1"},
    })


def test_the_sweep_publishes_stranded_changes_older_than_its_delay(db, org_id):
    _stranded(db, org_id, "old-change", minutes_ago=5)
    _stranded(db, org_id, "fresh-change", minutes_ago=0)
    sent = []
    count = sweep_outbox(db, lambda data, attributes, key: sent.append((data, dict(attributes), key)),
                         older_than=timedelta(minutes=1), org_id=org_id)
    assert sent == [(b'{"change_id": "old-change"}', {"org_id": org_id}, f"{org_id}/r1")]
    assert count == 1
    assert db.document(f"organizations/{org_id}/applied_changes/old-change").get().get("published") is True
    assert db.document(f"organizations/{org_id}/applied_changes/fresh-change").get().get("published") is False
    again = []
    sweep_outbox(db, lambda data, attributes, key: again.append(attributes), older_than=timedelta(minutes=1), org_id=org_id)
    assert again == []


def test_a_failed_publish_leaves_the_change_for_the_next_sweep(db, org_id):
    _stranded(db, org_id, "stuck-change", minutes_ago=5)

    def failing(data, attributes, key):
        raise TransientError("Pub/Sub unavailable")

    assert sweep_outbox(db, failing, older_than=timedelta(minutes=1), org_id=org_id) == 0
    assert db.document(f"organizations/{org_id}/applied_changes/stuck-change").get().get("published") is False

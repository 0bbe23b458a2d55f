"""The outbox sweep: publishes change messages that a failed invocation stored but never sent."""

from __future__ import annotations

import logging
from datetime import timedelta

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from adapters.errors import TransientError, map_exceptions
from adapters.firestore_codec import utc_now
from realtime_processor.processor import Publish

log = logging.getLogger(__name__)


def sweep_outbox(db: firestore.Client, publish: Publish, older_than: timedelta = timedelta(minutes=1),
                 limit: int = 500, org_id: str | None = None) -> int:
    """Publish unpublished change messages older than `older_than`; returns how many were sent.

    Consumers are idempotent by change id, so a message published twice (by the trigger and by
    the sweep racing it) is harmless. `org_id` limits the sweep to one org (all orgs by default).
    """
    cutoff = utc_now() - older_than
    source = db.collection(f"organizations/{org_id}/applied_changes") if org_id else db.collection_group("applied_changes")
    query = (
        source
        .where(filter=FieldFilter("published", "==", False))
        .where(filter=FieldFilter("applied_at", "<", cutoff))
        .limit(limit)
    )
    sent = 0
    with map_exceptions("querying the change outbox"):
        pending = list(query.stream())
    for snapshot in pending:
        message = (snapshot.to_dict() or {}).get("outbox")
        if not message:
            continue
        try:
            publish(message["data"].encode(), message["attributes"], message["ordering_key"])
        except TransientError as exc:
            log.warning("outbox sweep stopped at %s: %s", snapshot.reference.path, exc)
            break
        with map_exceptions(f"marking {snapshot.reference.path} published"):
            snapshot.reference.update({"published": True})
        sent += 1
    if sent:
        log.info("outbox sweep published %d change messages", sent)
    return sent

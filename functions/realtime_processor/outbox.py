"""The outbox sweep: finishes change documents a failed (or never delivered) trigger invocation left behind."""

from __future__ import annotations

import logging
from datetime import timedelta

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from adapters.errors import ProcessingError, map_exceptions
from adapters.firestore_codec import utc_now
from realtime_processor.processor import RECORD_CHANGES, RecordChangeProcessor

log = logging.getLogger(__name__)

UNFINISHED_STATES = ["pending", "applied"]


def sweep_outbox(db: firestore.Client, processor: RecordChangeProcessor, older_than: timedelta = timedelta(minutes=1),
                 limit: int = 200, org_id: str | None = None) -> int:
    """Apply and publish change documents older than `older_than` that are not published yet; returns how many.

    A document still 'pending' lost its trigger invocation (applied here, exactly once: the
    application is conditional on the document's update time); one 'applied' was not published
    (consumers are idempotent by change id, so publishing twice is harmless). `org_id` limits the
    sweep to one org (all orgs by default).
    """
    cutoff = utc_now() - older_than
    source = db.collection(f"organizations/{org_id}/{RECORD_CHANGES}") if org_id else db.collection_group(RECORD_CHANGES)
    query = (source.where(filter=FieldFilter("state", "in", UNFINISHED_STATES))
             .where(filter=FieldFilter("created_at", "<", cutoff)).limit(limit))
    with map_exceptions("querying the change outbox"):
        pending = list(query.stream())
    sent = 0
    for snapshot in pending:
        change_org = snapshot.reference.parent.parent.id
        document = snapshot.to_dict() or {}
        changed_at = document["created_at"].isoformat()
        try:
            result = processor.process(snapshot.id, change_org, document, changed_at, snapshot.update_time)
        except ProcessingError as exc:
            log.warning("outbox sweep stopped at %s: %s", snapshot.reference.path, exc)
            break
        sent += int(result.published)
    if sent:
        log.info("outbox sweep published %d change messages", sent)
    return sent

"""The outbox sweep: finishes change documents a failed (or never delivered) trigger invocation left behind."""

from __future__ import annotations

import logging
from datetime import timedelta

from adapters.errors import map_exceptions
from adapters.firestore_codec import utc_now
from adapters.logs import bind
from adapters.sweeps import OrgSweep
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from realtime_processor.processor import RECORD_CHANGES, ProcessResult, RecordChangeProcessor

log = logging.getLogger(__name__)

UNFINISHED_STATES = ["pending", "applied"]
# A change document still unfinished this long after its commit lost its trigger invocation (a
# running one finishes in well under a second; a late one takes it along after 2 s anyway). With
# the sweep every minute, a lost trigger's aggregates are repaired within about 80 s
# (docs/operations.md measures it); the sweep racing a slow trigger is harmless: applying is
# conditional on the document's update time.
SWEEP_AFTER = timedelta(seconds=20)


def sweep_outbox(
    db: firestore.Client,
    processor: RecordChangeProcessor,
    older_than: timedelta = SWEEP_AFTER,
    limit: int = 500,
    org_id: str | None = None,
) -> OrgSweep:
    """Apply and publish change documents older than `older_than` that are not published yet.

    A document still 'pending' lost its trigger invocation (applied here, exactly once: the
    application is conditional on the document's update time); one 'applied' was not published
    (consumers are idempotent by change id, so publishing twice is harmless). Each org is
    isolated: one that fails is reported and skipped for the rest of the run, the others are
    done (call `finish()` to log and raise). `org_id` limits the sweep to one org.
    """
    cutoff = utc_now() - older_than
    source = (
        db.collection(f"organizations/{org_id}/{RECORD_CHANGES}") if org_id else db.collection_group(RECORD_CHANGES)
    )
    query = (
        source.where(filter=FieldFilter("state", "in", UNFINISHED_STATES))
        .where(filter=FieldFilter("created_at", "<", cutoff))
        .limit(limit)
    )
    with map_exceptions("querying the change outbox"):
        pending = list(query.stream())
    sweep = OrgSweep("outbox")
    published = 0
    for snapshot in pending:
        change_org = snapshot.reference.parent.parent.id
        document = snapshot.to_dict() or {}

        def finish(
            snapshot: firestore.DocumentSnapshot = snapshot, change_org: str = change_org, document: dict = document
        ) -> ProcessResult:
            bind(trace_id=document.get("trace_id"), change_id=snapshot.id)
            return processor.process(
                snapshot.id, change_org, document, document["created_at"].isoformat(), snapshot.update_time
            )

        result = sweep.run(change_org, finish)
        published += int(bool(result and result.published))
    sweep.counts["published"] = published
    if published:
        log.info("outbox sweep published %d change messages", published)
    return sweep

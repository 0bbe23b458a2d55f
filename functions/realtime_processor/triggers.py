"""Firestore trigger on financial records: the only place aggregates change."""

from __future__ import annotations

import functools

from firebase_functions import firestore_fn, scheduler_fn

from adapters import deployment
from adapters.clients import firestore_client
from adapters.pubsub import publish
from adapters.runtime import reference_store
from adapters.settings import CHANGES_TOPIC, aggregate_shards
from aggregations.store import AggregateStore
from realtime_processor.outbox import sweep_outbox
from realtime_processor.processor import RecordChangeProcessor


def _publish_change(data: bytes, attributes, ordering_key: str) -> None:
    publish(CHANGES_TOPIC.value, data, attributes, ordering_key)


@functools.cache
def processor() -> RecordChangeProcessor:
    """The instance's processor."""
    db = firestore_client()
    return RecordChangeProcessor(db, reference_store(), AggregateStore(db, aggregate_shards()), _publish_change)


# The Python SDK deploys Firestore triggers without retry-on-failure, so this trigger cannot rely
# on redelivery: the delta is applied once in a transaction that also stores the change message
# (an outbox), and the scheduled outbox sweep publishes whatever a failed invocation left behind.
@firestore_fn.on_document_written(
    document="organizations/{org_id}/financial_records/{record_id}", **deployment.hot_path("realtime")
)
def on_record_written(event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]]) -> None:
    """Propagate a record change to aggregates, KPIs and variance, then announce it."""
    change = event.data
    before = change.before.to_dict() if change.before is not None and change.before.exists else None
    after = change.after.to_dict() if change.after is not None and change.after.exists else None
    processor().process(
        change_id=event.id,
        org_id=event.params["org_id"],
        record_id=event.params["record_id"],
        before_doc=before,
        after_doc=after,
        changed_at=event.time.isoformat(),
    )


@scheduler_fn.on_schedule(schedule="every 1 minutes", **deployment.scheduled("realtime"))
def publish_pending_changes(event: scheduler_fn.ScheduledEvent) -> None:
    """Outbox sweep: publish change messages whose trigger invocation failed after applying them."""
    sweep_outbox(firestore_client(), _publish_change)

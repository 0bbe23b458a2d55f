"""Firestore trigger on financial records: the only place aggregates change."""

from __future__ import annotations

import functools

from firebase_functions import firestore_fn

from adapters.clients import firestore_client
from adapters.pubsub import publish
from adapters.runtime import reference_store
from adapters.settings import CHANGES_TOPIC, aggregate_shards
from aggregations.derived import DerivedDocuments
from aggregations.store import AggregateStore
from realtime_processor.processor import RecordChangeProcessor


def _publish_change(data: bytes, attributes, ordering_key: str) -> None:
    publish(CHANGES_TOPIC.value, data, attributes, ordering_key)


@functools.cache
def processor() -> RecordChangeProcessor:
    """The instance's processor."""
    db = firestore_client()
    return RecordChangeProcessor(
        db, reference_store(), AggregateStore(db, aggregate_shards()), DerivedDocuments(db), _publish_change
    )


@firestore_fn.on_document_written(
    document="organizations/{org_id}/financial_records/{record_id}", retry=True, memory=512, concurrency=40
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

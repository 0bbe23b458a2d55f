"""Firestore trigger on change documents: the only place aggregates change."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from adapters import deployment
from adapters.clients import firestore_client
from adapters.logs import observed
from adapters.pubsub import publish
from adapters.settings import aggregate_shards
from adapters.topics import CHANGES_TOPIC
from aggregations.store import AggregateStore
from firebase_functions import firestore_fn, scheduler_fn

from realtime_processor.outbox import sweep_outbox
from realtime_processor.processor import RecordChangeProcessor


def _publish_change(data: bytes, attributes, ordering_key: str) -> None:
    publish(CHANGES_TOPIC, data, attributes, ordering_key)


@functools.cache
def processor() -> RecordChangeProcessor:
    """The instance's processor."""
    db = firestore_client()
    return RecordChangeProcessor(db, AggregateStore(db, aggregate_shards()), _publish_change)


# The trigger fires once per change document, which ingestion writes once per commit: a lone
# event or a few hundred lines of a batch. Ingestion applies its documents itself right after the
# commit (apply_stored_changes), so the trigger usually finds its document done after one read: it
# is the safety net for an ingesting invocation that died between its commit and the apply. The
# Python SDK deploys Firestore triggers without retry-on-failure (the post-deploy step turns it on:
# infra/terraform/scripts/apply_trigger_policies.py), and the pipeline does not depend on it either:
# the deltas are applied once in a commit that also moves the change document's state (the outbox
# entry), and the outbox sweep, every minute, applies and publishes what a lost invocation left.
@firestore_fn.on_document_created(
    document="organizations/{org_id}/record_changes/{change_id}", **deployment.hot_path("realtime")
)
@observed("apply_record_changes")
def apply_record_changes(event: firestore_fn.Event[firestore_fn.DocumentSnapshot | None]) -> None:
    """Apply a change document's combined deltas to the aggregate shards once, then announce it."""
    if event.data is None:
        return
    processor().process(
        change_id=event.params["change_id"],
        org_id=event.params["org_id"],
        document=event.data.to_dict() or {},
        changed_at=event.time.isoformat(),
        update_time=event.data.update_time,
        leave_recent=True,
    )


def apply_stored_changes(org_id: str, change_ids: Sequence[str]) -> None:
    """What ingestion calls once it has committed change documents: apply and publish them at once."""
    processor().apply_stored(org_id, change_ids)


@scheduler_fn.on_schedule(schedule="every 1 minutes", **deployment.scheduled("realtime"))
@observed("publish_pending_changes")
def publish_pending_changes(event: scheduler_fn.ScheduledEvent) -> None:
    """Outbox sweep: apply and publish change documents whose trigger invocation failed or never ran."""
    sweep_outbox(firestore_client(), processor()).finish()

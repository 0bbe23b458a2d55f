"""Aggregation triggers: readable views refreshed from change events, and nightly reconciliation."""

from __future__ import annotations

import functools

from firebase_functions import pubsub_fn, scheduler_fn

from adapters import deployment
from adapters.clients import firestore_client
from adapters.logs import observed
from adapters.origin import pubsub_message
from adapters.runtime import reference_store
from adapters.settings import aggregate_shards
from aggregations.derived import DerivedDocuments
from aggregations.lag import LagRecorder
from aggregations.reconcile import Reconciler
from aggregations.store import AggregateStore
from aggregations.views import ViewRefresher
from finance_core.changes import decode_change_message


@functools.cache
def reconciler() -> Reconciler:
    """The instance's reconciler."""
    db = firestore_client()
    return Reconciler(db, reference_store(), AggregateStore(db, aggregate_shards()), DerivedDocuments(db))


@scheduler_fn.on_schedule(schedule="every day 03:00", timezone=scheduler_fn.Timezone("UTC"),
                          **deployment.scheduled("realtime", timeout_sec=540, memory=1024))
@observed("reconcile_aggregates")
def reconcile_aggregates(event: scheduler_fn.ScheduledEvent) -> None:
    """Recompute every org's aggregates from its records and repair drift; one org's failure never stops the others."""
    reconciler().reconcile_all().finish()


@functools.cache
def lag_recorder() -> LagRecorder:
    """The instance's lag recorder."""
    return LagRecorder(firestore_client())


@functools.cache
def view_refresher() -> ViewRefresher:
    """The instance's view refresher."""
    db = firestore_client()
    return ViewRefresher(reference_store(), AggregateStore(db, aggregate_shards()), DerivedDocuments(db))


@pubsub_fn.on_message_published(topic="financial-record-changes", retry=True, **deployment.hot_path("realtime"))
@observed("refresh_aggregate_views")
def refresh_aggregate_views(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Fold the changed aggregate keys (once per message, however many lines) and rebuild what uses them."""
    data, origin = pubsub_message(event)
    change = decode_change_message(data)
    view_refresher().refresh(change.org_id, change.keys, change.last_event_id)
    lag_recorder().record(change.org_id, change.change_id, origin.attributes.get("published_at"))

"""Aggregation triggers: readable views refreshed from change events, and nightly reconciliation."""

from __future__ import annotations

import base64
import functools

from firebase_functions import pubsub_fn, scheduler_fn

from adapters import deployment
from adapters.clients import firestore_client
from adapters.runtime import reference_store
from adapters.settings import aggregate_shards
from aggregations.derived import DerivedDocuments
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
def reconcile_aggregates(event: scheduler_fn.ScheduledEvent) -> None:
    """Recompute every org's aggregates from its records and repair drift; logs what it fixed."""
    for org in firestore_client().collection("organizations").list_documents():
        reconciler().reconcile(org.id)


@functools.cache
def view_refresher() -> ViewRefresher:
    """The instance's view refresher."""
    db = firestore_client()
    return ViewRefresher(reference_store(), AggregateStore(db, aggregate_shards()), DerivedDocuments(db))


@pubsub_fn.on_message_published(topic="financial-record-changes", retry=True, **deployment.hot_path("realtime"))
def refresh_aggregate_views(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Fold the changed aggregate keys (once per message, however many lines) and rebuild what uses them."""
    change = decode_change_message(base64.b64decode(event.data.message.data or b""))
    view_refresher().refresh(change.org_id, change.keys, change.last_event_id)

"""Scheduled reconciliation of every org's aggregates (the safety net behind the realtime path)."""

from __future__ import annotations

import functools

from firebase_functions import scheduler_fn

from adapters.clients import firestore_client
from adapters.runtime import reference_store
from adapters.settings import aggregate_shards
from aggregations.derived import DerivedDocuments
from aggregations.reconcile import Reconciler
from aggregations.store import AggregateStore


@functools.cache
def reconciler() -> Reconciler:
    """The instance's reconciler."""
    db = firestore_client()
    return Reconciler(db, reference_store(), AggregateStore(db, aggregate_shards()), DerivedDocuments(db))


@scheduler_fn.on_schedule(schedule="every day 03:00", timezone=scheduler_fn.Timezone("UTC"), timeout_sec=540, memory=1024)
def reconcile_aggregates(event: scheduler_fn.ScheduledEvent) -> None:
    """Recompute every org's aggregates from its records and repair drift; logs what it fixed."""
    for org in firestore_client().collection("organizations").list_documents():
        reconciler().reconcile(org.id)

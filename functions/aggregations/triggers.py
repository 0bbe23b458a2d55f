"""Aggregation triggers: readable views refreshed from change events, and nightly reconciliation."""

from __future__ import annotations

import functools

from adapters import deployment
from adapters.clients import firestore_client
from adapters.logs import observed
from adapters.origin import pubsub_message
from adapters.runtime import reference_store
from adapters.settings import aggregate_shards
from finance_core.changes import decode_change_message
from finance_core.reference import OrgReference
from firebase_functions import firestore_fn, pubsub_fn, scheduler_fn

from aggregations.definitions import DefinitionService, DefinitionStore
from aggregations.derived import DerivedDocuments
from aggregations.lag import LagRecorder
from aggregations.reconcile import Reconciler
from aggregations.series import MetricSeriesStore, Progress
from aggregations.store import AggregateStore
from aggregations.views import ViewRefresher


@functools.cache
def metric_series() -> MetricSeriesStore:
    """The instance's metric series store (with its cache of compiled definitions)."""
    db = firestore_client()
    return MetricSeriesStore(db, DefinitionStore(db))


@functools.cache
def derived_documents() -> DerivedDocuments:
    """The instance's builder of metric series, KPI and variance documents."""
    return DerivedDocuments(firestore_client(), metric_series())


@functools.cache
def reconciler() -> Reconciler:
    """The instance's reconciler."""
    db = firestore_client()
    return Reconciler(db, reference_store(), AggregateStore(db, aggregate_shards()), derived_documents())


@scheduler_fn.on_schedule(
    schedule="every day 03:00",
    timezone=scheduler_fn.Timezone("UTC"),
    **deployment.scheduled("realtime", timeout_sec=540, memory=1024),
)
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
    return ViewRefresher(reference_store(), AggregateStore(db, aggregate_shards()), derived_documents())


@pubsub_fn.on_message_published(topic="financial-record-changes", retry=True, **deployment.hot_path("realtime"))
@observed("refresh_aggregate_views")
def refresh_aggregate_views(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Fold the changed aggregate keys (once per message, however many lines) and rebuild what uses them."""
    data, origin = pubsub_message(event)
    change = decode_change_message(data)
    view_refresher().refresh(change.org_id, change.keys, change.last_event_id, change.dimension_keys)
    lag_recorder().record(change.org_id, change.change_id, origin.attributes.get("published_at"))


@functools.cache
def definition_service() -> DefinitionService:
    """The instance's validator of metric definitions."""
    # The series store's own DefinitionStore: the invalidation after a new active set must reach the
    # cache the rebuild compiles with.
    return DefinitionService(firestore_client(), metric_series().definitions, _rebuild_metrics)


def _rebuild_metrics(org_id: str, reference: OrgReference, progress: Progress | None = None) -> int:
    """Recompute every series of an org after a definition change, then kpis/current (which lists the metrics)."""
    total = metric_series().rebuild_org(org_id, reference, progress)
    derived_documents().refresh_kpis(org_id, reference)
    return total


@firestore_fn.on_document_written(
    document="organizations/{org_id}/metric_definitions/{metric_id}",
    **deployment.background("realtime", timeout_sec=540, memory=512, concurrency=1),
)
@observed("on_metric_definition_written")
def on_metric_definition_written(
    event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]],
) -> None:
    """Validate the org's metric definitions, answer on each one, and recompute its metric series."""
    org_id = event.params["org_id"]
    reference_store().invalidate(org_id)
    definition_service().handle(org_id, reference_store().get(org_id))

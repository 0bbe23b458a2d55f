"""Aggregation triggers: readable views refreshed from change events, nightly reconciliation, metric definitions."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping

from adapters import deployment
from adapters.clients import firestore_client
from adapters.firestore_codec import utc_now
from adapters.http_endpoint import serve
from adapters.identity import verify_id_token
from adapters.logs import observed
from adapters.origin import pubsub_message
from adapters.pubsub import publish
from adapters.reference_store import ReferenceStore
from adapters.runtime import reference_store
from adapters.settings import aggregate_shards
from adapters.topics import CHANGES_TOPIC, FOLDED_TOPIC
from finance_core.changes import decode_change_message
from finance_core.reference import OrgReference
from firebase_functions import firestore_fn, https_fn, options, pubsub_fn, scheduler_fn

from aggregations.announce import FoldAnnouncer
from aggregations.definition_check import MAX_BODY_BYTES, DefinitionCheckEndpoint
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
    return Reconciler(db, reference_store(), AggregateStore(db, aggregate_shards()), derived_documents(), announcer())


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


def _publish_folded(data: bytes, attributes: Mapping[str, str]) -> None:
    publish(FOLDED_TOPIC, data, attributes)


@functools.cache
def announcer() -> FoldAnnouncer:
    """The instance's publisher of aggregates-folded messages."""
    return FoldAnnouncer(_publish_folded)


@functools.cache
def view_refresher() -> ViewRefresher:
    """The instance's view refresher."""
    db = firestore_client()
    return ViewRefresher(
        reference_store(), AggregateStore(db, aggregate_shards()), derived_documents(), db, announcer(), lag_recorder()
    )


@pubsub_fn.on_message_published(topic=CHANGES_TOPIC, retry=True, **deployment.hot_path("realtime"))
@observed("refresh_aggregate_views")
def refresh_aggregate_views(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Fold the changed aggregate keys (once per message, however many lines), rebuild what uses them, announce it."""
    data, origin = pubsub_message(event)
    change = decode_change_message(data)
    view_refresher().fold_change(change, origin.attributes)


@functools.cache
def definition_service() -> DefinitionService:
    """The instance's validator of metric definitions."""
    # The series store's own DefinitionStore: the invalidation after a new active set must reach the
    # cache the rebuild compiles with.
    return DefinitionService(firestore_client(), metric_series().definitions, _rebuild_metrics)


def _rebuild_metrics(org_id: str, reference: OrgReference, progress: Progress | None = None) -> int:
    """Recompute every series of an org after a definition change, then kpis/current (which lists the metrics).

    Each rewritten series is announced on its own (its rows of every metric and period fill a
    message): the BigQuery metric values follow the new definitions, removed metrics included.
    """
    writes = metric_series().rebuild_org(org_id, reference, progress)
    derived_documents().refresh_kpis(org_id, reference)
    rebuild_id = f"metrics-rebuild-{uuid.uuid4().hex}"
    for write in writes:
        announcer().announce(org_id, f"{rebuild_id}-{write.series_id}", utc_now().isoformat(), None, {}, series=[write])
    return len(writes)


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


@functools.cache
def definition_check() -> DefinitionCheckEndpoint:
    """The instance's checker of draft definitions: reference data a few seconds old at most, so a chart
    imported a moment ago is what a definition typed now is checked against."""
    db = firestore_client()
    return DefinitionCheckEndpoint(db, ReferenceStore(db, ttl_seconds=3).get, verify_id_token)


# The dashboard reaches it on its own origin (Hosting rewrite of /api/metric-definitions/check).
@https_fn.on_request(
    cors=options.CorsOptions(cors_origins="*", cors_methods=["post"]),
    **deployment.background("realtime", concurrency=20),
)
@observed("check_metric_definition")
def check_metric_definition(request: https_fn.Request) -> https_fn.Response:
    """What saving a draft metric definition would answer (status, error, warnings), for the admin typing it."""
    return serve(request, definition_check().handle, body_limit=MAX_BODY_BYTES)

"""Analytics sink triggers: one BigQuery fact row per applied record change (a consumer of the change topic), and
one metric value row per changed cell of a metric series document."""

from __future__ import annotations

import functools

from adapters import deployment
from adapters.clients import bigquery_client, firestore_client
from adapters.logs import observed
from adapters.origin import pubsub_message
from adapters.pubsub import publish
from adapters.runtime import reference_store
from adapters.settings import ANALYTICS_SINK_ATTEMPTS, BIGQUERY_DATASET, CHANGES_DEAD_LETTER_TOPIC, project_id
from firebase_functions import firestore_fn, pubsub_fn

from analytics_sink.dead_letters import DeadLetterParker
from analytics_sink.metrics import MetricSeriesSink, metric_writer
from analytics_sink.sink import AnalyticsSink
from analytics_sink.writer import FactWriter

FACTS_TABLE = "financial_facts"
METRICS_TABLE = "metric_values"


def facts_table_id() -> str:
    """project.dataset.financial_facts of this deployment."""
    return f"{project_id()}.{BIGQUERY_DATASET.value}.{FACTS_TABLE}"


def fact_writer() -> FactWriter:
    """A writer on the facts table with the configured retry budget."""
    return FactWriter(bigquery_client(), facts_table_id(), attempts=ANALYTICS_SINK_ATTEMPTS.value)


@functools.cache
def sink() -> AnalyticsSink:
    """The instance's sink."""
    parker = DeadLetterParker(
        lambda topic, data, attrs: publish(topic, data, attrs), firestore_client(), CHANGES_DEAD_LETTER_TOPIC.value
    )
    return AnalyticsSink(reference_store(), fact_writer(), parker)


# The sink parks what it cannot write itself (the local emulator never redelivers); retry=True
# still covers a crash or a failure to park, and the subscription's dead-letter policy
# (infra/resources.json function_triggers, applied after deploy) catches what keeps failing.
@pubsub_fn.on_message_published(
    topic="financial-record-changes", retry=True, **deployment.background("analytics_sink", timeout_sec=120)
)
@observed("sink_changes_to_bigquery")
def sink_changes_to_bigquery(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Stream the change's fact row into BigQuery, or park the change with the reason."""
    data, origin = pubsub_message(event)
    sink().handle(data, dict(origin.attributes))


@functools.cache
def metric_sink() -> MetricSeriesSink:
    """The instance's sink of metric series writes."""
    table = f"{project_id()}.{BIGQUERY_DATASET.value}.{METRICS_TABLE}"
    return MetricSeriesSink(metric_writer(bigquery_client(), table, ANALYTICS_SINK_ATTEMPTS.value))


# Retried on failure after deploy (infra/resources.json trigger_retry): every delivery's rows depend only on its
# own before and after, so a repeated one adds rows equal to those already there.
@firestore_fn.on_document_written(
    document="organizations/{org_id}/metric_series/{series_id}",
    **deployment.background("analytics_sink", timeout_sec=120),
)
@observed("sink_metric_series_to_bigquery")
def sink_metric_series_to_bigquery(
    event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]],
) -> None:
    """Stream the cells a series write changed into `metric_values` (one request per write)."""
    change = event.data
    before = change.before.to_dict() if change.before is not None and change.before.exists else None
    after = change.after.to_dict() if change.after is not None and change.after.exists else None
    metric_sink().handle(event.params["org_id"], before, after, event.time)

"""Analytics sink triggers: one BigQuery fact row per applied record change (a consumer of the change topic), and
one metric value row per changed cell of a metric series (a consumer of the aggregates-folded topic)."""

from __future__ import annotations

import functools

from adapters import deployment
from adapters.clients import bigquery_client, firestore_client
from adapters.logs import observed
from adapters.origin import pubsub_message
from adapters.pubsub import publish
from adapters.runtime import reference_store
from adapters.settings import ANALYTICS_SINK_ATTEMPTS, BIGQUERY_DATASET, project_id
from adapters.topics import CHANGES_DEAD_LETTER_TOPIC, CHANGES_TOPIC, FOLDED_TOPIC
from finance_core.folded import decode_folded
from firebase_functions import pubsub_fn

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
        lambda topic, data, attrs: publish(topic, data, attrs), firestore_client(), CHANGES_DEAD_LETTER_TOPIC
    )
    return AnalyticsSink(reference_store(), fact_writer(), parker)


# The sink parks what it cannot write itself (the local emulator never redelivers); retry=True
# still covers a crash or a failure to park, and the subscription's dead-letter policy
# (infra/resources.json function_triggers, applied after deploy) catches what keeps failing.
@pubsub_fn.on_message_published(
    topic=CHANGES_TOPIC, retry=True, **deployment.background("analytics_sink", timeout_sec=120)
)
@observed("sink_changes_to_bigquery")
def sink_changes_to_bigquery(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Stream the change's fact row into BigQuery, or park the change with the reason."""
    data, origin = pubsub_message(event)
    sink().handle(data, dict(origin.attributes))


@functools.cache
def metric_sink() -> MetricSeriesSink:
    """The instance's sink of metric series cells."""
    table = f"{project_id()}.{BIGQUERY_DATASET.value}.{METRICS_TABLE}"
    return MetricSeriesSink(metric_writer(bigquery_client(), table, ANALYTICS_SINK_ATTEMPTS.value), firestore_client())


# One delivery per aggregates-folded message (retry=True; the subscription's dead-letter policy of
# infra/resources.json catches what keeps failing): its rows depend only on the message, and the
# series it asks to resend are written whole at their current version, so repeated or reordered
# deliveries leave the same newest row per cell.
@pubsub_fn.on_message_published(
    topic=FOLDED_TOPIC, retry=True, **deployment.background("analytics_sink", timeout_sec=120)
)
@observed("sink_metric_values_to_bigquery")
def sink_metric_values_to_bigquery(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Stream the metric series cells a fold changed into `metric_values` (one request per fold)."""
    data, _ = pubsub_message(event)
    metric_sink().handle_folded(decode_folded(data))

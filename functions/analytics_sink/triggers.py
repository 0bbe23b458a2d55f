"""Analytics sink trigger: one BigQuery fact row per applied record change (a consumer of the change topic)."""

from __future__ import annotations

import functools

from adapters import deployment
from adapters.clients import bigquery_client, firestore_client
from adapters.logs import observed
from adapters.origin import pubsub_message
from adapters.pubsub import publish
from adapters.runtime import reference_store
from adapters.settings import ANALYTICS_SINK_ATTEMPTS, BIGQUERY_DATASET, CHANGES_DEAD_LETTER_TOPIC, project_id
from firebase_functions import pubsub_fn

from analytics_sink.dead_letters import DeadLetterParker
from analytics_sink.sink import AnalyticsSink
from analytics_sink.writer import FactWriter

FACTS_TABLE = "financial_facts"


def facts_table_id() -> str:
    """project.dataset.financial_facts of this deployment."""
    return f"{project_id()}.{BIGQUERY_DATASET.value}.{FACTS_TABLE}"


def fact_writer() -> FactWriter:
    """A writer on the facts table with the configured retry budget."""
    return FactWriter(bigquery_client(), facts_table_id(), attempts=ANALYTICS_SINK_ATTEMPTS.value)


@functools.cache
def sink() -> AnalyticsSink:
    """The instance's sink."""
    parker = DeadLetterParker(lambda topic, data, attrs: publish(topic, data, attrs), firestore_client(),
                              CHANGES_DEAD_LETTER_TOPIC.value)
    return AnalyticsSink(reference_store(), fact_writer(), parker)


# The sink parks what it cannot write itself (the local emulator never redelivers); retry=True
# still covers a crash or a failure to park, and the subscription's dead-letter policy
# (infra/resources.json function_triggers, applied after deploy) catches what keeps failing.
@pubsub_fn.on_message_published(topic="financial-record-changes", retry=True,
                                **deployment.background("analytics_sink", timeout_sec=120))
@observed("sink_changes_to_bigquery")
def sink_changes_to_bigquery(event: pubsub_fn.CloudEvent[pubsub_fn.MessagePublishedData]) -> None:
    """Stream the change's fact row into BigQuery, or park the change with the reason."""
    data, origin = pubsub_message(event)
    sink().handle(data, dict(origin.attributes))

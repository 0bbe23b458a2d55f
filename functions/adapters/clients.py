"""Google Cloud clients, one per process, pointed at the emulators when their hosts are set."""

from __future__ import annotations

import functools
import os

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, firestore, pubsub_v1

from adapters.settings import BIGQUERY_EMULATOR_HOST, project_id
from adapters.write_meter import meter_commits


@functools.cache
def firestore_client() -> firestore.Client:
    """Firestore client; with FIRESTORE_EMULATOR_HOST set it talks to the emulator."""
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        client = firestore.Client(project=project_id(), credentials=AnonymousCredentials())
    else:
        client = firestore.Client(project=project_id())
    meter_commits(client)
    return client


@functools.cache
def publisher() -> pubsub_v1.PublisherClient:
    """Publisher with message ordering on (changes of one record are published in order)."""
    options = pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    # Small batches keep publish latency low; the changes topic carries one message per change.
    batch = pubsub_v1.types.BatchSettings(max_messages=100, max_latency=0.001)
    return pubsub_v1.PublisherClient(batch_settings=batch, publisher_options=options)


def topic_path(topic: str) -> str:
    """Full resource name of a topic of this project."""
    return publisher().topic_path(project_id(), topic)


@functools.cache
def bigquery_client() -> bigquery.Client:
    """BigQuery client; with BIGQUERY_EMULATOR_HOST set it talks to the local emulator."""
    host = BIGQUERY_EMULATOR_HOST.value or os.environ.get("BIGQUERY_EMULATOR_HOST", "")
    if host:
        return bigquery.Client(
            project=project_id(),
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=f"http://{host}"),
        )
    return bigquery.Client(project=project_id())


@functools.cache
def storage_client():
    """Cloud Storage client; with STORAGE_EMULATOR_HOST set (the local stack) the official client talks to it."""
    from google.cloud import storage

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        return storage.Client(project=project_id(), credentials=AnonymousCredentials())
    return storage.Client(project=project_id())


@functools.cache
def subscriber() -> pubsub_v1.SubscriberClient:
    """Subscriber for pulls outside the triggers (the health refresh counts waiting dead letters)."""
    return pubsub_v1.SubscriberClient()

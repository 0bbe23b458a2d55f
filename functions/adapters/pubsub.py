"""Publishing to Pub/Sub with ordering keys, waiting for the server's acknowledgement."""

from __future__ import annotations

from collections.abc import Mapping

from google.api_core import exceptions as google_exceptions

from adapters.clients import publisher, topic_path
from adapters.errors import TransientError

PUBLISH_TIMEOUT_SECONDS = 30


def publish(topic: str, data: bytes, attributes: Mapping[str, str], ordering_key: str = "") -> str:
    """Publish one message and return its id; a failure raises TransientError (the caller is retried)."""
    client = publisher()
    path = topic_path(topic)
    try:
        future = client.publish(path, data, ordering_key=ordering_key, **dict(attributes))
        return future.result(timeout=PUBLISH_TIMEOUT_SECONDS)
    except (google_exceptions.GoogleAPICallError, TimeoutError, RuntimeError) as exc:
        if ordering_key:
            # A failed ordered publish pauses the key; resume so the retry can publish again.
            client.resume_publish(path, ordering_key)
        raise TransientError(f"publishing to {topic}: {exc}") from exc

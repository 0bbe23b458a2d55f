"""Parks change messages the sink could not write (dead-letter topic, Firestore as a fallback) and counts them."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from adapters.errors import TransientError, map_exceptions
from adapters.firestore_codec import org_path, utc_now
from google.cloud import firestore

log = logging.getLogger(__name__)

CONSUMER = "analytics_sink"
# The function whose Eventarc subscription forwards to the dead-letter topic in production; its
# name appears (with dashes) in the subscription id Pub/Sub puts in the forwarded message.
FUNCTION_NAME = "sink_changes_to_bigquery"
FALLBACK_COLLECTION = "analytics_dead_letters"
HEALTH_DOC = "data_quality/analytics_sink"
# Pub/Sub attribute values are limited to 1,024 bytes.
MAX_REASON_BYTES = 1000

Publish = Callable[[str, bytes, Mapping[str, str]], Any]


def _clip(text: str) -> str:
    data = text.encode()
    return text if len(data) <= MAX_REASON_BYTES else data[: MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


def is_sink_dead_letter(attributes: Mapping[str, str]) -> bool:
    """True for a dead-lettered change that the analytics sink must re-drive.

    Either parked by the sink itself (consumer=analytics_sink), or forwarded by the dead-letter
    policy of the sink's own trigger subscription in production (its id names the function).
    """
    if attributes.get("consumer") == CONSUMER:
        return True
    source = attributes.get("CloudPubSubDeadLetterSourceSubscription", "")
    return FUNCTION_NAME in source or FUNCTION_NAME.replace("_", "-") in source


class DeadLetterParker:
    """Keeps what the sink could not write, with the reason, where the replay finds it."""

    def __init__(self, publish: Publish, db: firestore.Client, topic: str):
        self._publish = publish
        self._db = db
        self._topic = topic

    def park(
        self, data: bytes, attributes: Mapping[str, str], reason: str, org_id: str | None, change_id: str | None
    ) -> str:
        """Park one change message; returns where ('topic' or 'firestore'). TransientError if neither works."""
        attrs = {k: str(v) for k, v in attributes.items() if k not in {"reason", "consumer", "parked_at"}}
        attrs.update({"reason": _clip(reason), "consumer": CONSUMER, "parked_at": utc_now().isoformat()})
        if org_id:
            attrs.setdefault("org_id", org_id)
        where = "topic"
        try:
            self._publish(self._topic, data, attrs)
        except TransientError as exc:
            # Pub/Sub is down too: Firestore keeps it (the replay drains both); if that fails
            # as well, raising lets the platform redeliver the change (retry=True in production).
            log.warning("dead-letter topic unavailable (%s); parking change %s in Firestore", exc, change_id)
            key = change_id or hashlib.sha256(data).hexdigest()[:32]
            path = f"{org_path(org_id)}/{FALLBACK_COLLECTION}/{key}" if org_id else f"{FALLBACK_COLLECTION}/{key}"
            with map_exceptions(f"parking change {key} in Firestore"):
                self._db.document(path).set(
                    {
                        "data": data.decode(errors="replace"),
                        "attributes": attrs,
                        "reason": reason,
                        "parked_at": firestore.SERVER_TIMESTAMP,
                    }
                )
            where = "firestore"
        log.error("change %s of %s parked in the dead letters (%s): %s", change_id, org_id, where, reason)
        if org_id:
            self._count(org_id, reason)
        return where

    def _count(self, org_id: str, reason: str) -> None:
        """Per-org health counter dashboards and operators see (data_quality/analytics_sink)."""
        try:
            self._db.document(f"{org_path(org_id)}/{HEALTH_DOC}").set(
                {
                    "parked": firestore.Increment(1),
                    "last_reason": reason[:2000],
                    "last_parked_at": firestore.SERVER_TIMESTAMP,
                },
                merge=True,
            )
        except Exception as exc:  # noqa: BLE001 - the change itself is safe; the counter is informative
            log.warning("could not count a parked change of %s: %s", org_id, exc)

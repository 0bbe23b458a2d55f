"""Propagates one change document: its combined aggregate deltas applied once, then the change message published."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.errors import PermanentError, TransientError, map_exceptions
from adapters.firestore_codec import org_path
from aggregations.store import AggregateStore
from finance_core.changes import ChangeMessage, ChangeMessageError, change_from_json, encode_change_message
from google.cloud import firestore

log = logging.getLogger(__name__)

Publish = Callable[[bytes, Mapping[str, str], str], None]
RECORD_CHANGES = "record_changes"


@dataclass(frozen=True)
class ProcessResult:
    """What one trigger delivery did."""

    applied: bool
    keys: tuple[str, ...]
    published: bool


def change_message(change_id: str, org_id: str, document: Mapping[str, Any], changed_at: str) -> ChangeMessage:
    """The change message of a `record_changes` document (PermanentError if it is not one)."""
    try:
        changes = [change_from_json(item) for item in document.get("changes") or ()]
    except (ChangeMessageError, KeyError, TypeError, ValueError) as exc:
        raise PermanentError(f"{org_path(org_id)}/{RECORD_CHANGES}/{change_id} is not a change document: {exc}") from exc
    return ChangeMessage.of(change_id, org_id, changed_at, document.get("reporting_currency"), changes)


class RecordChangeProcessor:
    """Turns a `record_changes` document into sharded aggregate deltas (once) and a published change message."""

    def __init__(self, db: firestore.Client, aggregates: AggregateStore, publish: Publish | None):
        self._db = db
        self._aggregates = aggregates
        self._publish = publish

    def change_ref(self, org_id: str, change_id: str) -> firestore.DocumentReference:
        """The change document of a change id."""
        return self._db.document(f"{org_path(org_id)}/{RECORD_CHANGES}/{change_id}")

    def process(self, change_id: str, org_id: str, document: Mapping[str, Any], changed_at: str,
                update_time: Any) -> ProcessResult:
        """Apply the document's deltas exactly once and publish its change message (at least once).

        `update_time` is the document's update time as read (the trigger event's snapshot, or the
        sweep's read): the application is conditional on it, which makes it exactly once.
        """
        message = change_message(change_id, org_id, document, changed_at)
        applied = False
        if document.get("state", "pending") == "pending":
            applied = self._aggregates.apply_change_document(self.change_ref(org_id, change_id), update_time,
                                                             message.deltas)
        # Readable aggregates, KPIs and variance are refreshed by the change consumers
        # (aggregations.views): this trigger stays short, which is what bounds its throughput.
        published = self.publish(message)
        return ProcessResult(applied, tuple(key.doc_id for key in message.keys), published)

    def publish(self, message: ChangeMessage) -> bool:
        """Publish a change message and mark its document published; False leaves it to the outbox sweep."""
        if self._publish is None:
            return False
        attributes = {"org_id": message.org_id, "change_id": message.change_id,
                      "lines": str(len(message.changes))}
        try:
            self._publish(encode_change_message(message), attributes, "")
        except TransientError as exc:
            log.warning("change %s not published yet (the outbox sweep will retry): %s", message.change_id, exc)
            return False
        with map_exceptions(f"marking change {message.change_id} published"):
            self.change_ref(message.org_id, message.change_id).update({"state": "published"})
        return True

"""Propagates one record change: its exact aggregate deltas applied once, then the change event published."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from google.cloud import firestore

from adapters.errors import TransientError, map_exceptions
from adapters.firestore_codec import MalformedRecord, org_path, record_from_document
from adapters.reference_store import ReferenceStore
from aggregations.store import AggregateStore
from finance_core.aggregates import record_delta
from finance_core.records import RecordState
from realtime_processor.change_events import encode_change

log = logging.getLogger(__name__)

Publish = Callable[[bytes, Mapping[str, str], str], None]


@dataclass(frozen=True)
class ProcessResult:
    """What one trigger delivery did."""

    applied: bool
    keys: tuple[str, ...]
    published: bool


class RecordChangeProcessor:
    """Turns a financial_records write (before/after) into sharded aggregate deltas and a change event."""

    def __init__(
        self,
        db: firestore.Client,
        references: ReferenceStore,
        aggregates: AggregateStore,
        publish: Publish | None,
    ):
        self._db = db
        self._references = references
        self._aggregates = aggregates
        self._publish = publish

    def process(
        self,
        change_id: str,
        org_id: str,
        record_id: str,
        before_doc: Mapping[str, Any] | None,
        after_doc: Mapping[str, Any] | None,
        changed_at: str,
    ) -> ProcessResult:
        """Apply the change's deltas exactly once and publish the change (at least once)."""
        before = _decoded(org_id, record_id, before_doc)
        after = _decoded(org_id, record_id, after_doc)
        if before == after:
            # Nothing financial changed (both absent, or only a field such as the comment_count
            # that collaboration keeps on records): no delta, and no change event to announce.
            return ProcessResult(False, (), False)
        deltas = record_delta(before, after)
        reference = self._references.get(org_id)
        message = self._message(change_id, org_id, record_id, before, after, deltas, changed_at,
                                reference.reporting_currency if reference else None)
        applied = self._aggregates.apply_once(org_id, change_id, deltas, outbox=message)
        # Readable aggregates, KPIs and variance are refreshed by the change consumers
        # (aggregations.views): this trigger stays short, which is what bounds its throughput.
        published = self.publish_outbox(org_id, change_id, message)
        return ProcessResult(applied, tuple(key.doc_id for key in sorted(deltas)), published)

    def publish_outbox(self, org_id: str, change_id: str, message: Mapping[str, Any]) -> bool:
        """Publish a stored change message and mark it published; False leaves it to the outbox sweep."""
        if self._publish is None:
            return False
        try:
            self._publish(message["data"].encode(), message["attributes"], message["ordering_key"])
        except TransientError as exc:
            log.warning("change %s not published yet (the outbox sweep will retry): %s", change_id, exc)
            return False
        with map_exceptions(f"marking change {change_id} published"):
            self._aggregates.marker_ref(org_id, change_id).update({"published": True})
        return True

    def _message(self, change_id, org_id, record_id, before, after, deltas, changed_at, currency) -> dict[str, Any]:
        op = "delete" if after is None else "upsert"
        event_id, version = self._identity(org_id, record_id, change_id, before, after)
        data = encode_change(
            change_id=change_id,
            org_id=org_id,
            record_id=record_id,
            event_id=event_id,
            op=op,
            version=version,
            before=before,
            after=after,
            deltas=deltas,
            changed_at=changed_at,
            reporting_currency=currency,
        )
        return {
            "data": data.decode(),
            "attributes": {"org_id": org_id, "record_id": record_id, "op": op, "event_id": event_id},
            "ordering_key": f"{org_id}/{record_id}",
        }

    def _identity(
        self, org_id: str, record_id: str, change_id: str, before: RecordState | None, after: RecordState | None
    ) -> tuple[str, int]:
        """Source event id and version of the change; a delete takes them from the record's tombstone."""
        if after is not None:
            return after.event_id, after.version
        assert before is not None
        with map_exceptions(f"reading tombstone of {record_id}"):
            tombstone = self._db.document(f"{org_path(org_id)}/deleted_records/{record_id}").get()
        data = tombstone.to_dict() or {}
        if tombstone.exists and int(data.get("version", 0)) > before.version:
            return str(data.get("event_id") or f"delete-{change_id}"), int(data["version"])
        # The tombstone is gone (the record was re-created since): the delete still outranks
        # the version it removed, which is all the analytics views need.
        return f"delete-{change_id}", before.version


def _decoded(org_id: str, record_id: str, doc: Mapping[str, Any] | None) -> RecordState | None:
    """A record side of the change; a document the backend did not write counts as absent.

    Such a document never contributed to aggregates (its own write was skipped the same way), so
    treating it as absent on both sides keeps the totals exact. Retrying could not fix it.
    """
    try:
        return record_from_document(org_id, record_id, doc)
    except MalformedRecord as exc:
        log.error("ignored a record document the backend did not write: %s", exc)
        return None

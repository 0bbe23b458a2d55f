"""One entry for every ingestion path: decode, check against the org, store or reject with the reason."""

from __future__ import annotations

import logging

from adapters.reference_store import ReferenceDataError, ReferenceStore
from finance_core.events import EventRejected, parse_event
from ingestion.store import IngestionStore, IngestResult

log = logging.getLogger(__name__)


class IngestionService:
    """Turns raw messages into records; every message ends applied, duplicate, stale or rejected."""

    def __init__(self, store: IngestionStore, references: ReferenceStore):
        self._store = store
        self._references = references

    def ingest(self, raw: bytes, next_version: bool = False, refresh_health: bool = True) -> IngestResult:
        """Process one message. Transient failures raise (the platform retries); nothing is dropped."""
        try:
            event = parse_event(raw)
        except EventRejected as rejection:
            org_exists = bool(rejection.org_id) and self._org_exists(rejection.org_id)
            return self._finish(self._store.reject(raw, rejection, org_exists), refresh_health)
        try:
            reference = self._references.get(event.org_id)
        except ReferenceDataError as exc:
            rejection = EventRejected("org_configuration", str(exc), event.org_id, event.event_id)
            return self._finish(self._store.reject(raw, rejection, True), refresh_health)
        if reference is None:
            rejection = EventRejected(
                "unknown_org", f"organization {event.org_id!r} does not exist", event.org_id, event.event_id
            )
            return self._finish(self._store.reject(raw, rejection, False), refresh_health)
        try:
            result = self._store.apply(event, reference, next_version=next_version)
        except EventRejected as rejection:
            result = self._store.reject(raw, rejection, True)
        return self._finish(result, refresh_health)

    def _org_exists(self, org_id: str) -> bool:
        try:
            return self._references.get(org_id) is not None
        except ReferenceDataError:
            return True

    def _finish(self, result: IngestResult, refresh_health: bool) -> IngestResult:
        log.info(
            "ingested event",
            extra={"json_fields": {"outcome": result.outcome.value, "event_id": result.event_id,
                                    "org_id": result.org_id, "reason": result.reason, "code": result.code}},
        )
        if refresh_health:
            self.refresh_health(result.org_id if result.code not in {"unknown_org"} else None)
        return result

    def refresh_health(self, org_id: str | None) -> None:
        """Fold the data-quality counters of the org into its readable document."""
        if org_id and not self._org_exists(org_id):
            org_id = None
        self._store.fold_data_quality(org_id)

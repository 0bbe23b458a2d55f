"""One entry for every ingestion path: decode, check against the org, store or reject with the reason.

A single event, a `records.batch` message, an upload's rows and a manual entry all become entries
of one org stored by `IngestionStore.apply`, a chunk per commit: a lone event is a batch of one.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence

from adapters.logs import bind
from adapters.origin import Origin
from adapters.reference_store import ReferenceDataError, ReferenceStore
from finance_core.batches import IngestLine, parse_batch
from finance_core.events import EventRejected, parse_event
from finance_core.records import Outcome
from finance_core.reference import OrgReference

from ingestion.store import Entry, IngestionStore, IngestResult, ManualEntryStatus, Parsed, Rejected

log = logging.getLogger(__name__)

# Called with an org and the change documents a delivery stored, once they are committed: the
# record-changes processor applies them in the same invocation (realtime_processor.triggers).
ChangesStored = Callable[[str, Sequence[str]], None]

# What an `org_id` attribute must look like to be looked up (the contract's identifiers).
ORG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class IngestionService:
    """Turns raw messages into records; every line ends applied, duplicate, stale or rejected."""

    def __init__(self, store: IngestionStore, references: ReferenceStore, changes_stored: ChangesStored | None = None):
        self._store = store
        self._references = references
        self._changes_stored = changes_stored

    def _hand_over(self, org_id: str, results: Sequence[IngestResult]) -> None:
        """Pass the change documents just stored on, so their deltas reach the aggregates without a trigger hop."""
        change_ids = sorted({r.change_id for r in results if r.change_id})
        if change_ids and self._changes_stored is not None:
            self._changes_stored(org_id, change_ids)

    def ingest(
        self,
        raw: bytes,
        next_version: bool = False,
        manual_entry: ManualEntryStatus | None = None,
        origin: Origin | None = None,
    ) -> IngestResult:
        """Process one contract-v1 message. Transient failures raise (the platform retries); nothing is dropped."""
        try:
            event = parse_event(raw)
        except EventRejected as rejection:
            if _names_a_batch(raw):
                rejection = EventRejected(
                    rejection.code,
                    "a records.batch message goes to the financial-event-batches "
                    f"topic, not financial-events ({rejection.reason})",
                    rejection.org_id,
                    rejection.event_id,
                )
            return self._finish([self._reject_unreadable(raw, rejection, origin)])[0]
        bind(org_id=event.org_id, event_id=event.event_id)
        reference = self._reference_or_rejection(raw, event.org_id, event.event_id, origin=origin)
        if isinstance(reference, IngestResult):
            return self._finish([reference])[0]
        entry = Parsed(IngestLine(event, next_version), raw)
        results = self._store.apply(
            event.org_id, [entry], reference, source=f"event {event.event_id}", manual_entry=manual_entry, origin=origin
        )
        self._hand_over(event.org_id, results)
        return self._finish(results)[0]

    def ingest_batch(self, raw: bytes, origin: Origin | None = None) -> list[IngestResult]:
        """Process one `records.batch` message: its lines are validated and stored together, in order."""
        started = time.perf_counter()
        try:
            batch = parse_batch(raw)
        except EventRejected as rejection:
            return self._finish([self._reject_unreadable(raw, rejection, origin)])
        bind(org_id=batch.org_id, batch_id=batch.batch_id)
        reference = self._reference_or_rejection(
            raw, batch.org_id, f"batch-{batch.batch_id}", lines=len(batch.lines), origin=origin
        )
        if isinstance(reference, IngestResult):
            return self._finish([reference])
        entries: list[Entry] = [
            Rejected(line_raw, line) if isinstance(line, EventRejected) else Parsed(IngestLine(line), line_raw)
            for line, line_raw in zip(batch.lines, batch.raw_lines, strict=True)
        ]
        results = self._store.apply(batch.org_id, entries, reference, source=f"batch {batch.batch_id}", origin=origin)
        self._hand_over(batch.org_id, results)
        log.info(
            "ingested batch",
            extra={
                "json_fields": {
                    "org_id": batch.org_id,
                    "batch_id": batch.batch_id,
                    "lines": len(results),
                    "counts": counts(results),
                    "seconds": round(time.perf_counter() - started, 3),
                }
            },
        )
        return results

    def ingest_entries(self, org_id: str, entries: Sequence[Entry], source: str) -> list[IngestResult]:
        """Store already-decoded entries of a known org (upload rows); the caller refreshes health."""
        reference = self._references.get(org_id)
        if reference is None:
            raise ReferenceDataError(f"organization {org_id!r} does not exist")
        results = self._store.apply(org_id, entries, reference, source=source)
        self._hand_over(org_id, results)
        return results

    def _reference_or_rejection(
        self, raw: bytes, org_id: str, event_id: str, lines: int = 1, origin: Origin | None = None
    ) -> OrgReference | IngestResult:
        try:
            reference = self._references.get(org_id)
        except ReferenceDataError as exc:
            rejection = EventRejected("org_configuration", str(exc), org_id, event_id)
            return self._store.reject(raw, rejection, True, lines=lines, origin=origin)
        if reference is None:
            rejection = EventRejected("unknown_org", f"organization {org_id!r} does not exist", org_id, event_id)
            return self._store.reject(raw, rejection, False, lines=lines, origin=origin)
        return reference

    def _reject_unreadable(self, raw: bytes, rejection: EventRejected, origin: Origin | None) -> IngestResult:
        """Keep a message that is not a readable event, in the org its body or its `org_id` attribute names.

        The body wins when it names an org; an unreadable body is attributed to the org of the
        message's `org_id` attribute when that org exists, else kept in the global collection.
        """
        org_id = rejection.org_id
        candidate = origin.attributes.get("org_id", "") if origin is not None else ""
        if not org_id and ORG_ID.match(candidate):
            if self._org_exists(candidate):
                org_id = candidate
                rejection = EventRejected(rejection.code, rejection.reason, candidate, rejection.event_id)
        bind(org_id=org_id)
        org_exists = self._org_exists(org_id) if org_id else False
        return self._store.reject(raw, rejection, org_exists, origin=origin)

    def _org_exists(self, org_id: str) -> bool:
        try:
            return self._references.get(org_id) is not None
        except ReferenceDataError:
            return True

    def _finish(self, results: list[IngestResult]) -> list[IngestResult]:
        if len(results) == 1:
            result = results[0]
            log.info(
                "ingested event",
                extra={
                    "json_fields": {
                        "outcome": result.outcome.value,
                        "event_id": result.event_id,
                        "org_id": result.org_id,
                        "reason": result.reason,
                        "code": result.code,
                    }
                },
            )
        return results


def counts(results: Sequence[IngestResult]) -> dict[str, int]:
    """Lines per outcome."""
    counted = {o.value: 0 for o in (Outcome.APPLIED, Outcome.DUPLICATE, Outcome.STALE, Outcome.REJECTED)}
    for result in results:
        counted[result.outcome.value] += 1
    return counted


def _names_a_batch(raw: bytes) -> bool:
    return b'"records.batch"' in raw[:4096]

"""Manual entries of editors: rate-limited, turned into events on the ingestion path, swept when a trigger is lost."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import utc_now
from adapters.logs import bind, derived_trace_id
from adapters.origin import Origin
from adapters.rate_limits import Limit, RateLimiter
from adapters.sweeps import OrgSweep
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from ingestion.service import IngestionService
from ingestion.store import IngestResult, ManualEntryStatus

log = logging.getLogger(__name__)

COLLECTION = "manual_entries"
FINISHED = frozenset({"accepted", "rejected"})
# An entry still without a status this long after it was written lost its trigger invocation
# (or it is still being retried): the sweep processes it. Older than SWEEP_HORIZON is left to
# an operator (docs/operations.md), so the sweep's query stays small.
SWEEP_AFTER = timedelta(seconds=30)
SWEEP_HORIZON = timedelta(days=1)


def manual_entry_event(org_id: str, entry_id: str, entry: Mapping[str, Any]) -> bytes:
    """The contract-v1 event of a manual entry; its version is assigned when stored (current + 1)."""
    created = entry.get("created_at")
    occurred = created.isoformat() if isinstance(created, datetime) else utc_now().isoformat()
    record = {k: entry.get(k) for k in ("entity_id", "account_id", "period", "scenario", "amount", "currency")}
    for optional in ("memo", "source", "dimensions", "date"):
        if entry.get(optional) is not None:
            record[optional] = entry[optional]
    record.setdefault("source", "manual")
    body = {
        "event_id": f"manual-{entry_id}",
        "type": "record.upserted",
        "org_id": org_id,
        "record_id": entry.get("record_id"),
        "version": 1,
        "occurred_at": occurred.replace("+00:00", "Z"),
        "record": record,
    }
    # An entry is a Firestore document an editor wrote: a field may hold a timestamp, bytes, a
    # reference or a geo point where the contract wants text. Each becomes its description, which
    # the contract then rejects with a reason, instead of a TypeError that fails the trigger.
    return json.dumps(body, default=_described).encode()


def _described(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return f"<{type(value).__name__}>"


class ManualEntries:
    """Processes manual entries exactly as the trigger does, from the trigger or from the sweep."""

    def __init__(
        self,
        db: firestore.Client,
        service: IngestionService,
        limiter: RateLimiter,
        per_minute: Callable[[], int],
        clock: Callable[[], datetime] = utc_now,
    ):
        self._db = db
        self._service = service
        self._limiter = limiter
        self._per_minute = per_minute
        self._clock = clock

    def process(
        self, org_id: str, entry_id: str, ref: firestore.DocumentReference, entry: Mapping[str, Any]
    ) -> IngestResult | None:
        """Store the entry's line and its status (None when it already has one); transient errors raise."""
        if entry.get("status") in FINISHED:
            return None
        bind(org_id=org_id, event_id=f"manual-{entry_id}")
        author = str(entry.get("created_by") or "")
        if author:
            verdict = self._limiter.take(
                org_id, author, Limit(COLLECTION, self._per_minute(), timedelta(minutes=1)), entry_id
            )
            if not verdict.allowed:
                log.warning(
                    "manual entry refused by the rate limit",
                    extra={"json_fields": {"outcome": "rate_limited", "uid": author, "used": verdict.used}},
                )
                with map_exceptions(f"marking manual entry {entry_id} of {org_id}"):
                    ref.update(
                        {
                            "status": "rejected",
                            "reason": verdict.reason,
                            "outcome": "rejected",
                            "code": "rate_limited",
                            "processed_at": firestore.SERVER_TIMESTAMP,
                        }
                    )
                return None
        created = entry.get("created_at")
        origin = Origin(
            derived_trace_id("manual_entry", org_id, entry_id),
            publish_time=created if isinstance(created, datetime) else None,
        )
        bind(trace_id=origin.trace_id)
        raw = manual_entry_event(org_id, entry_id, entry)
        # The entry's status is written in the commit that stores its line; a message rejected
        # before any commit (a malformed entry) gets its status here.
        status = ManualEntryStatus(ref)
        result = self._service.ingest(raw, next_version=True, manual_entry=status, origin=origin)
        if not status.written:
            with map_exceptions(f"marking manual entry {entry_id} of {org_id}"):
                ref.update(status.body(result))
        return result

    def sweep(self, org_id: str | None = None, older_than: timedelta = SWEEP_AFTER) -> OrgSweep:
        """Process every entry older than `older_than` (up to a day) that still has no status; one org's
        failure never stops the others (the sweep reports and raises at the end)."""
        now = self._clock()
        source = (
            self._db.collection(f"organizations/{org_id}/{COLLECTION}")
            if org_id
            else self._db.collection_group(COLLECTION)
        )
        query = source.where(filter=FieldFilter("created_at", "<", now - older_than)).where(
            filter=FieldFilter("created_at", ">", now - SWEEP_HORIZON)
        )
        with map_exceptions("querying manual entries without a status"):
            waiting = [s for s in query.stream() if (s.to_dict() or {}).get("status") not in FINISHED]
        sweep = OrgSweep("manual_entries")
        for snap in waiting:
            org = snap.reference.parent.parent.id
            sweep.run(org, functools.partial(self.process, org, snap.id, snap.reference, snap.to_dict() or {}))
        return sweep

"""What became of every event the demo sent, read back from what the pipeline stored.

The data-quality counters count deliveries: Pub/Sub delivers at least once, so a message
redelivered (a worker that answered too late, a connection reset) is counted again, as a
duplicate. They cannot say whether each event sent was handled. This does, per event id: a valid
event is accounted for once its record is stored at its version or a later one (applied, or
ignored as a duplicate or a stale version) or deleted at such a version; an invalid one once its
rejection is stored under its event id.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from google.cloud import firestore

from tools.demo.stream import SentEvent

# Documents read per get_all call.
READ_CHUNK = 300


def _versions(db: firestore.Client, org_id: str, collection: str, ids: list[str]) -> dict[str, int]:
    versions: dict[str, int] = {}
    for start in range(0, len(ids), READ_CHUNK):
        refs = [db.document(f"organizations/{org_id}/{collection}/{i}") for i in ids[start : start + READ_CHUNK]]
        for snap in db.get_all(refs, field_paths=["version"]):
            if snap.exists:
                versions[snap.id] = int((snap.to_dict() or {}).get("version") or 0)
    return versions


def _existing(db: firestore.Client, org_id: str, collection: str, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), READ_CHUNK):
        refs = [db.document(f"organizations/{org_id}/{collection}/{i}") for i in ids[start : start + READ_CHUNK]]
        found |= {snap.id for snap in db.get_all(refs, field_paths=["code"]) if snap.exists}
    return found


def unaccounted(db: firestore.Client, org_id: str, events: Mapping[str, SentEvent]) -> list[str]:
    """The event ids sent that the pipeline has not accounted for yet, in the order they were sent."""
    record_ids = sorted({e.record_id for e in events.values() if not e.invalid})
    stored = _versions(db, org_id, "financial_records", record_ids)
    deleted = _versions(db, org_id, "deleted_records", record_ids)
    rejected = _existing(db, org_id, "ingestion_errors", list(events))
    missing = []
    for event_id, sent in events.items():
        if event_id in rejected:
            continue
        if not sent.invalid and max(stored.get(sent.record_id, 0), deleted.get(sent.record_id, 0)) >= sent.version:
            continue
        missing.append(event_id)
    return missing


class Accountant:
    """Reads the accounting at most once every `every` seconds (the demo polls it while it drains)."""

    def __init__(self, db: firestore.Client, org_id: str, events: Mapping[str, SentEvent], every: float = 1.0):
        self._db, self._org_id, self._events, self._every = db, org_id, events, every
        self._checked_at = float("-inf")
        self.missing: list[str] | None = None

    def check(self, force: bool = False) -> list[str]:
        """The event ids not accounted for (read again when the last read is older than `every`)."""
        if force or self.missing is None or time.monotonic() - self._checked_at >= self._every:
            self.missing = unaccounted(self._db, self._org_id, dict(self._events))
            self._checked_at = time.monotonic()
        return self.missing

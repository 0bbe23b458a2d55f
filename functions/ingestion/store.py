"""Firestore side of ingestion: the version-keeping record transaction, rejections, and health counters."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from google.cloud import firestore

from adapters.errors import map_exceptions
from adapters.firestore_codec import (
    org_path,
    record_document,
    record_from_document,
    tombstone_document,
    tombstone_from_document,
    utc_now,
)
from aggregations import shards
from finance_core.events import EventRejected, FinancialEvent
from finance_core.records import MergeDecision, Outcome, RecordState, merge
from finance_core.reference import OrgReference, check_event, check_existing_record, record_state

# How long an event id is remembered. After that a redelivery is still harmless: its version is
# not newer than the stored one, so it is counted as stale instead of duplicate.
PROCESSED_EVENT_TTL = timedelta(days=30)
DATA_QUALITY_SHARDS = 4
GLOBAL_ERRORS = "ingestion_errors"


@dataclass(frozen=True)
class IngestResult:
    """What happened to one delivered message."""

    outcome: Outcome
    reason: str
    org_id: str | None = None
    event_id: str | None = None
    record_id: str | None = None
    code: str | None = None


def rejection_id(raw: bytes, event_id: str | None) -> str:
    """Document id of a rejection: the event id if usable, else a hash of the raw message."""
    return event_id or "sha256-" + hashlib.sha256(raw).hexdigest()[:40]


class IngestionStore:
    """Writes records with the highest-version-wins rule, exactly once per event id."""

    def __init__(self, db: firestore.Client):
        self._db = db

    def _org(self, org_id: str) -> firestore.DocumentReference:
        return self._db.document(org_path(org_id))

    def apply(self, event: FinancialEvent, reference: OrgReference, next_version: bool = False) -> IngestResult:
        """Store the event's effect in one transaction; raises EventRejected for closed-period moves.

        With `next_version`, the event's version is replaced by the stored version + 1 (manual
        entries: an editor changes the current line, whatever its source version was).
        """
        org = self._org(event.org_id)
        record_ref = org.collection("financial_records").document(event.record_id)
        tombstone_ref = org.collection("deleted_records").document(event.record_id)
        marker_ref = org.collection("processed_events").document(event.event_id)
        period_refs = self._period_refs(org, event)
        dq_ref = org.collection("data_quality").document("current")
        dq_shard = shards.shard_ref(dq_ref, shards.shard_index(event.event_id, DATA_QUALITY_SHARDS))

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> tuple[MergeDecision, FinancialEvent]:
            refs = [record_ref, tombstone_ref, marker_ref, *period_refs]
            snaps = {s.reference.path: s for s in transaction.get_all(refs)}
            record = record_from_document(event.org_id, event.record_id, snaps[record_ref.path].to_dict())
            tombstone = tombstone_from_document(event.org_id, event.record_id, snaps[tombstone_ref.path].to_dict())
            current = _newest(record, tombstone)
            seen = snaps[marker_ref.path].exists
            effective = event
            if next_version and not seen:
                effective = event.model_copy(update={"version": (current.version if current else 0) + 1})
            period_snaps = {ref.id: snaps[ref.path] for ref in period_refs}
            if record is not None and record.period and record.period not in period_snaps:
                period_snaps[record.period] = org.collection("periods").document(record.period).get(transaction=transaction)
            live_reference = _with_period_status(reference, period_snaps)
            if not seen:
                # Checked here, not before the transaction, so a redelivered event is a duplicate
                # even if the reference data changed since, and the period lock is read live.
                check_event(effective, live_reference)
                check_existing_record(effective, record, live_reference)
            proposed = None if seen or effective.is_delete else record_state(effective, live_reference)
            decision = merge(current, effective, proposed, seen)
            if decision.outcome is Outcome.APPLIED and decision.new_state is not None:
                kept = _kept_fields(snaps[record_ref.path])
                self._write_state(transaction, record_ref, tombstone_ref, record, decision.new_state, reference, kept)
            if decision.outcome is not Outcome.DUPLICATE:
                transaction.set(
                    marker_ref,
                    {
                        "record_id": event.record_id,
                        "version": effective.version,
                        "outcome": decision.outcome.value,
                        "processed_at": firestore.SERVER_TIMESTAMP,
                        "expires_at": utc_now() + PROCESSED_EVENT_TTL,
                    },
                )
            self._count(transaction, dq_shard, decision.outcome.value)
            return decision, effective

        with map_exceptions(f"storing event {event.event_id}"):
            decision, effective = run(self._db.transaction(max_attempts=10))
        return IngestResult(decision.outcome, decision.reason, event.org_id, event.event_id, event.record_id)

    @staticmethod
    def _period_refs(org: firestore.DocumentReference, event: FinancialEvent) -> list[firestore.DocumentReference]:
        # Read the period inside the transaction: a period closed a moment ago must already hold.
        if event.record is None:
            return []
        return [org.collection("periods").document(event.record.period)]

    @staticmethod
    def _write_state(
        transaction: firestore.Transaction,
        record_ref: firestore.DocumentReference,
        tombstone_ref: firestore.DocumentReference,
        record: RecordState | None,
        new_state: RecordState,
        reference: OrgReference,
        kept: Mapping[str, Any] | None = None,
    ) -> None:
        if new_state.deleted:
            if record is not None:
                transaction.delete(record_ref)
            body = tombstone_document(new_state)
            body["deleted_at"] = firestore.SERVER_TIMESTAMP
            transaction.set(tombstone_ref, body)
        else:
            body = record_document(new_state, reference.reporting_currency)
            body.update(kept or {})
            body["updated_at"] = firestore.SERVER_TIMESTAMP
            transaction.set(record_ref, body)
            transaction.delete(tombstone_ref)

    @staticmethod
    def _count(transaction: firestore.Transaction | firestore.WriteBatch, shard: firestore.DocumentReference,
               outcome: str, reason_code: str | None = None) -> None:
        counters: dict[str, Any] = {"counts": {outcome: 1}}
        if reason_code:
            counters["rejected_by_reason"] = {reason_code: 1}
        body = shards.increment_body(counters)
        body["last_event_at"] = firestore.SERVER_TIMESTAMP
        transaction.set(shard, body, merge=True)

    def reject(self, raw: bytes, rejection: EventRejected, org_exists: bool) -> IngestResult:
        """Store a rejected message with its reason (once), and count it."""
        doc_id = rejection_id(raw, rejection.event_id)
        if rejection.org_id and org_exists:
            org = self._org(rejection.org_id)
            error_ref = org.collection("ingestion_errors").document(doc_id)
            dq_ref = org.collection("data_quality").document("current")
        else:
            error_ref = self._db.collection(GLOBAL_ERRORS).document(doc_id)
            dq_ref = self._db.collection("data_quality").document("global")
        dq_shard = shards.shard_ref(dq_ref, shards.shard_index(doc_id, DATA_QUALITY_SHARDS))

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> Outcome:
            existing = error_ref.get(transaction=transaction)
            if existing.exists:
                self._count(transaction, dq_shard, Outcome.DUPLICATE.value)
                return Outcome.DUPLICATE
            transaction.set(
                error_ref,
                {
                    "raw": raw.decode("utf-8", errors="replace"),
                    "reason": rejection.reason,
                    "code": rejection.code,
                    "event_id": rejection.event_id,
                    "org_id": rejection.org_id,
                    "received_at": firestore.SERVER_TIMESTAMP,
                },
            )
            self._count(transaction, dq_shard, Outcome.REJECTED.value, rejection.code)
            return Outcome.REJECTED

        with map_exceptions(f"storing rejection {doc_id}"):
            outcome = run(self._db.transaction(max_attempts=10))
        reason = rejection.reason if outcome is Outcome.REJECTED else f"already rejected: {rejection.reason}"
        return IngestResult(outcome, reason, rejection.org_id, rejection.event_id, None, rejection.code)

    def fold_data_quality(self, org_id: str | None) -> None:
        """Refresh `data_quality/current` (or the global one) from its shards."""
        if org_id:
            dq_ref = self._org(org_id).collection("data_quality").document("current")
        else:
            dq_ref = self._db.collection("data_quality").document("global")
        shards.fold(self._db, dq_ref, DATA_QUALITY_SHARDS, _data_quality_view)


def _data_quality_view(shard_docs: Mapping[str, Mapping[str, Any]], previous: Mapping[str, Any] | None) -> dict[str, Any]:
    counts: dict[str, int] = {o.value: 0 for o in (Outcome.APPLIED, Outcome.DUPLICATE, Outcome.STALE, Outcome.REJECTED)}
    by_reason: dict[str, int] = {}
    last_event_at = None
    for doc in shard_docs.values():
        for name, value in dict(doc.get("counts") or {}).items():
            counts[name] = counts.get(name, 0) + int(value)
        for code, value in dict(doc.get("rejected_by_reason") or {}).items():
            by_reason[code] = by_reason.get(code, 0) + int(value)
        seen_at = doc.get("last_event_at")
        if seen_at is not None and (last_event_at is None or seen_at > last_event_at):
            last_event_at = seen_at
    return {
        "counts": counts,
        "rejected_by_reason": by_reason,
        "total": sum(counts.values()),
        "last_event_at": last_event_at,
    }


# Fields other capabilities keep on a record document (collaboration's comment_count): a new
# version replaces the ledger fields, not theirs.
KEPT_RECORD_FIELDS = ("comment_count",)


def _kept_fields(snapshot: Any) -> dict[str, Any]:
    data = (snapshot.to_dict() or {}) if snapshot.exists else {}
    return {name: data[name] for name in KEPT_RECORD_FIELDS if name in data}


def _newest(record: RecordState | None, tombstone: RecordState | None) -> RecordState | None:
    candidates = [s for s in (record, tombstone) if s is not None]
    return max(candidates, key=lambda s: s.version) if candidates else None


def _with_period_status(reference: OrgReference, snapshots: Mapping[str, Any]) -> OrgReference:
    status = dict(reference.period_status)
    for period, snap in snapshots.items():
        if snap.exists:
            status[period] = str((snap.to_dict() or {}).get("status", "open"))
        else:
            status.pop(period, None)
    return replace(reference, period_status=status)

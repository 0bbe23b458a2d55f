"""Firestore side of ingestion: lines stored in chunks with optimistic preconditions, rejections, health counters.

A chunk of lines (one event, or up to a few hundred lines of a batch, upload or seed) is stored in
one atomic commit: the records' and tombstones' new states, the rejections, one data-quality shard
increment and one `record_changes/{change_id}` document listing every record change, which the
record-changes trigger turns into aggregate deltas. The records are read before the commit and
every write carries a precondition on what was read (its update time, or that it did not exist),
so a chunk that raced another writer of one of its records fails as a whole and is planned again
from fresh reads: no record lock is held, so concurrent chunks of a month-end load do not wait on
each other. Period documents are read inside the commit's transaction, so a period closed a
moment ago already holds (the period lock).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from adapters.data_quality import DATA_QUALITY_SHARDS
from adapters.errors import LostRace, ProcessingError, TransientError, map_exceptions
from adapters.firestore_codec import (
    MalformedRecord,
    org_path,
    record_document,
    record_from_document,
    tombstone_document,
    tombstone_from_document,
    utc_now,
)
from adapters.origin import Origin
from adapters.retry import CONTENDED_CHUNK, CONTENDED_WRITE, call_with_retry
from adapters.shard_counters import increment_body, shard_index, shard_ref
from finance_core.batches import BatchPlan, IngestLine, StoredRecord, plan_batch
from finance_core.changes import encode_changes
from finance_core.events import EventRejected
from finance_core.records import Outcome
from finance_core.reference import OrgReference
from google.api_core import exceptions as google_exceptions
from google.cloud import firestore

log = logging.getLogger(__name__)

GLOBAL_ERRORS = "ingestion_errors"
RECORD_CHANGES = "record_changes"
# Change documents are the outbox of the record-changes trigger; a week covers any redelivery.
RECORD_CHANGE_TTL = timedelta(days=7)
# One commit writes at most 500 documents in production Firestore: a chunk's records, tombstones
# and rejections, plus its change document, data-quality shard and (for a manual entry) the entry.
MAX_COMMIT_WRITES = 500
RESERVED_WRITES = 4
# Lines planned per chunk before the write and size checks split it: a line costs at most two
# operations of the commit (its record and its tombstone, written or guarded).
CHUNK_LINES = 240
# A change document must stay under Firestore's 1 MiB per document.
MAX_CHANGE_DOC_BYTES = 800_000
# What a rejection document keeps of an unreadable message (Firestore documents hold 1 MiB).
MAX_KEPT_RAW_BYTES = 200_000
RACE_ERRORS = (
    google_exceptions.FailedPrecondition,
    google_exceptions.AlreadyExists,
    google_exceptions.NotFound,
    google_exceptions.Conflict,
)


@dataclass(frozen=True)
class IngestResult:
    """What happened to one delivered line."""

    outcome: Outcome
    reason: str
    org_id: str | None = None
    event_id: str | None = None
    record_id: str | None = None
    code: str | None = None
    # The change document the line's record change went into (an applied line only).
    change_id: str | None = None


@dataclass(frozen=True)
class Parsed:
    """A line that is a valid event, with the bytes it arrived as (kept if the org's data rejects it)."""

    line: IngestLine
    raw: bytes


@dataclass(frozen=True)
class Rejected:
    """A line that can never become a record (unreadable, or not of this org), with its raw bytes."""

    raw: bytes
    rejection: EventRejected


Entry = Parsed | Rejected


def rejection_id(raw: bytes, event_id: str | None, message_id: str | None = None) -> str:
    """Document id of a rejection: the event id if usable, else the Pub/Sub message id, else a hash of the body."""
    if event_id:
        return event_id
    if message_id:
        return "message-" + hashlib.sha256(message_id.encode()).hexdigest()[:40]
    return "sha256-" + hashlib.sha256(raw).hexdigest()[:40]


@dataclass
class ManualEntryStatus:
    """The manual-entry document whose status is written in the same commit as its line.

    `written` tells the caller whether the commit carried the status (a message rejected before
    reaching a commit leaves the status to the caller).
    """

    ref: firestore.DocumentReference
    written: bool = False

    def body(self, result: IngestResult) -> dict[str, Any]:
        """The status fields of the entry for a line's result."""
        accepted = result.outcome in (Outcome.APPLIED, Outcome.DUPLICATE)
        return {
            "status": "accepted" if accepted else "rejected",
            "reason": None if accepted else result.reason,
            "outcome": result.outcome.value,
            "processed_at": firestore.SERVER_TIMESTAMP,
        }


class IngestionStore:
    """Writes records with the highest-version-wins rule, exactly once per event id, a chunk per commit."""

    def __init__(self, db: firestore.Client):
        self._db = db

    def _org(self, org_id: str) -> firestore.DocumentReference:
        return self._db.document(org_path(org_id))

    # --- lines of a known org ----------------------------------------------------------------------

    def apply(
        self,
        org_id: str,
        entries: Sequence[Entry],
        reference: OrgReference,
        *,
        source: str,
        manual_entry: ManualEntryStatus | None = None,
        origin: Origin | None = None,
    ) -> list[IngestResult]:
        """Store every entry (in order) and return one result per entry; transient failures raise.

        Entries are split into chunks committed one after another, so lines of one record keep
        their order. A retry after a failure is safe: committed lines are recognised by event id.
        """
        results: list[IngestResult] = []
        pending = list(entries)
        size = CHUNK_LINES
        while pending:
            chunk = pending[:size]
            try:
                results += self._store_chunk(org_id, chunk, reference, source, manual_entry, origin)
            except (_ChunkTooBig, _Contended):
                # Too much for one commit, or other deliveries keep changing some of its records:
                # halve it. A smaller chunk shares fewer records with concurrent ones, so the part
                # without the contended records commits and the rest is retried in smaller pieces.
                size = max(1, len(chunk) // 2)
                continue
            pending = pending[len(chunk) :]
            size = min(CHUNK_LINES, size * 2)
        return results

    def _store_chunk(
        self,
        org_id: str,
        chunk: Sequence[Entry],
        reference: OrgReference,
        source: str,
        manual_entry: ManualEntryStatus | None,
        origin: Origin | None,
    ) -> list[IngestResult]:
        # A chunk of many lines gets one more try from fresh reads, then is split; one line keeps
        # trying (with a growing pause) until the platform's own retry takes over.
        policy = CONTENDED_WRITE if len(chunk) == 1 else CONTENDED_CHUNK

        def attempt() -> list[IngestResult]:
            try:
                with map_exceptions(f"storing {len(chunk)} line(s) of {org_id} ({source})"):
                    return self._attempt(org_id, chunk, reference, source, manual_entry, origin)
            except ProcessingError as exc:
                # A precondition failed: another delivery changed one of the chunk's records (or
                # stored one of its rejections) since the read. Read and plan it again.
                if isinstance(exc.__cause__, RACE_ERRORS):
                    raise LostRace(str(exc)) from exc
                raise

        try:
            return call_with_retry(
                attempt, policy, retry_on=lambda exc: isinstance(exc, LostRace), what=f"chunk of {org_id} ({source})"
            )
        except LostRace as exc:
            if len(chunk) > 1:
                raise _Contended() from exc
            raise TransientError(
                f"could not store a line of {org_id} ({source}) after {policy.attempts} attempts: "
                f"other deliveries keep changing the same record ({exc})"
            ) from exc

    def _attempt(
        self,
        org_id: str,
        chunk: Sequence[Entry],
        reference: OrgReference,
        source: str,
        manual_entry: ManualEntryStatus | None,
        origin: Origin | None,
    ) -> list[IngestResult]:
        org = self._org(org_id)
        lines = [entry.line for entry in chunk if isinstance(entry, Parsed)]
        record_ids = sorted({line.event.record_id for line in lines})
        snaps = self._read_records(org, record_ids)
        stored = {record_id: _stored(org_id, record_id, *snaps[record_id]) for record_id in record_ids}
        periods = sorted(
            {line.event.record.period for line in lines if line.event.record is not None}
            | {s.record.period for s in stored.values() if s.record is not None and s.record.period}
        )
        period_refs = [org.collection("periods").document(period) for period in periods]
        outcome: dict[str, Any] = {}

        @firestore.transactional
        def commit(transaction: firestore.Transaction) -> None:
            # The period documents are the only reads of the transaction: they hold the period
            # lock while the chunk commits; records are guarded by the write preconditions.
            live = reference
            if period_refs:
                live = _with_period_status(reference, {s.id: s for s in transaction.get_all(period_refs)})
            plan = plan_batch(lines, stored, live)
            results = self._write(
                transaction, org_id, chunk, plan, stored, snaps, reference, source, manual_entry, origin
            )
            outcome["results"] = results

        commit(self._db.transaction(max_attempts=5))
        return outcome["results"]

    def _read_records(
        self, org: firestore.DocumentReference, record_ids: Sequence[str]
    ) -> dict[str, tuple[firestore.DocumentSnapshot, firestore.DocumentSnapshot]]:
        records = [org.collection("financial_records").document(rid) for rid in record_ids]
        tombstones = [org.collection("deleted_records").document(rid) for rid in record_ids]
        snaps = {s.reference.path: s for s in self._db.get_all(records + tombstones)} if record_ids else {}
        return {rid: (snaps[r.path], snaps[t.path]) for rid, r, t in zip(record_ids, records, tombstones, strict=True)}

    def _write(
        self,
        writer: firestore.Transaction,
        org_id: str,
        chunk: Sequence[Entry],
        plan: BatchPlan,
        stored: Mapping[str, StoredRecord],
        snaps: Mapping[str, tuple[firestore.DocumentSnapshot, firestore.DocumentSnapshot]],
        reference: OrgReference,
        source: str,
        manual_entry: ManualEntryStatus | None,
        origin: Origin | None,
    ) -> list[IngestResult]:
        org = self._org(org_id)
        writes = 0
        for record_id, after in plan.stored.items():
            writes += _write_record(
                writer, org, record_id, stored[record_id], after, *snaps[record_id], reference.reporting_currency
            )
        results = self._results(org_id, chunk, plan)
        rejected = [(i, entry) for i, entry in enumerate(chunk) if results[i].outcome is Outcome.REJECTED]
        writes += self._write_rejections(writer, org, chunk, rejected, results, origin)
        change_id = None
        if plan.changes:
            change_id = uuid.uuid4().hex
            encoded = encode_changes(plan.changes)
            body: dict[str, Any] = {
                "changes": encoded,
                "line_count": len(plan.changes),
                "reporting_currency": reference.reporting_currency,
                "source": source[:200],
                # pending -> applied (deltas in the shards) -> published (message out): the
                # record-changes trigger moves it; the outbox sweep finishes what it left.
                "state": "pending",
                "created_at": firestore.SERVER_TIMESTAMP,
                "expires_at": utc_now() + RECORD_CHANGE_TTL,
                # The trace follows the lines to every consumer; the publish time starts the
                # publish-to-folded lag of the pipeline health (functions/operations).
                "trace_id": origin.trace_id if origin else None,
                "published_at": origin.publish_time if origin else None,
                "received_at": origin.received_at if origin else None,
            }
            if len(encoded.encode()) > MAX_CHANGE_DOC_BYTES and len(chunk) > 1:
                raise _ChunkTooBig()
            writer.create(org.collection(RECORD_CHANGES).document(change_id), body)
            writes += 1
            results = [replace(r, change_id=change_id) if r.outcome is Outcome.APPLIED else r for r in results]
        if writes + RESERVED_WRITES > MAX_COMMIT_WRITES and len(chunk) > 1:
            raise _ChunkTooBig()
        self._count(writer, org.collection("data_quality").document("current"), change_id or uuid.uuid4().hex, results)
        if manual_entry is not None and results:
            writer.update(manual_entry.ref, manual_entry.body(results[0]))
            manual_entry.written = True
        return results

    @staticmethod
    def _results(org_id: str, chunk: Sequence[Entry], plan: BatchPlan) -> list[IngestResult]:
        planned = iter(plan.results)
        results = []
        for entry in chunk:
            if isinstance(entry, Rejected):
                r = entry.rejection
                results.append(IngestResult(Outcome.REJECTED, r.reason, org_id, r.event_id, None, r.code))
            else:
                line = next(planned)
                event = entry.line.event
                results.append(
                    IngestResult(line.outcome, line.reason, org_id, event.event_id, event.record_id, line.code)
                )
        return results

    def _write_rejections(
        self,
        writer: firestore.Transaction,
        org: firestore.DocumentReference,
        chunk: Sequence[Entry],
        rejected: list[tuple[int, Entry]],
        results: list[IngestResult],
        origin: Origin | None,
    ) -> int:
        """Store each new rejection once; one rejected before (or earlier in the chunk) is a duplicate."""
        if not rejected:
            return 0
        docs = {}
        for index, entry in rejected:
            raw = entry.raw
            docs[index] = (org.collection("ingestion_errors").document(rejection_id(raw, results[index].event_id)), raw)
        existing = {s.reference.path for s in self._db.get_all([ref for ref, _ in docs.values()]) if s.exists}
        written = 0
        for index, (ref, raw) in docs.items():
            result = results[index]
            if ref.path in existing:
                results[index] = replace(result, outcome=Outcome.DUPLICATE, reason=f"already rejected: {result.reason}")
                continue
            existing.add(ref.path)
            writer.create(ref, _rejection_body(raw, result.reason, result.code, result.event_id, result.org_id, origin))
            written += 1
        return written

    @staticmethod
    def _count(
        writer: firestore.Transaction | firestore.WriteBatch,
        dq_ref: firestore.DocumentReference,
        spread_key: str,
        results: Iterable[IngestResult],
    ) -> None:
        counts: dict[str, int] = {}
        reasons: dict[str, int] = {}
        for result in results:
            counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
            if result.outcome is Outcome.REJECTED and result.code:
                reasons[result.code] = reasons.get(result.code, 0) + 1
        if not counts:
            return
        counters: dict[str, Any] = {"counts": counts}
        if reasons:
            counters["rejected_by_reason"] = reasons
        body = increment_body(counters)
        body["last_event_at"] = firestore.SERVER_TIMESTAMP
        writer.set(shard_ref(dq_ref, shard_index(spread_key, DATA_QUALITY_SHARDS)), body, merge=True)

    # --- messages that name no usable org ----------------------------------------------------------

    def reject(
        self, raw: bytes, rejection: EventRejected, org_exists: bool, lines: int = 1, origin: Origin | None = None
    ) -> IngestResult:
        """Store a rejected message with its reason and origin (once per message), and count its `lines` deliveries.

        A message with a readable event id is kept under that id (a resent event is a duplicate);
        an unreadable one under its Pub/Sub message id, so six different messages with the same
        broken body are six rejections, and only a redelivery of one of them is a duplicate.
        """
        message_id = origin.message_id if origin is not None else None
        doc_id = rejection_id(raw, rejection.event_id, message_id)
        if rejection.org_id and org_exists:
            org = self._org(rejection.org_id)
            error_ref = org.collection("ingestion_errors").document(doc_id)
            dq_ref = org.collection("data_quality").document("current")
        else:
            error_ref = self._db.collection(GLOBAL_ERRORS).document(doc_id)
            dq_ref = self._db.collection("data_quality").document("global")

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> Outcome:
            existing = error_ref.get(transaction=transaction)
            outcome = Outcome.DUPLICATE if existing.exists else Outcome.REJECTED
            if not existing.exists:
                body = _rejection_body(
                    raw, rejection.reason, rejection.code, rejection.event_id, rejection.org_id, origin
                )
                if lines > 1:
                    body["lines"] = lines
                transaction.set(error_ref, body)
            result = IngestResult(outcome, rejection.reason, rejection.org_id, rejection.event_id, None, rejection.code)
            self._count(transaction, dq_ref, doc_id, [result] * lines)
            return outcome

        with map_exceptions(f"storing rejection {doc_id}"):
            outcome = run(self._db.transaction(max_attempts=10))
        reason = rejection.reason if outcome is Outcome.REJECTED else f"already rejected: {rejection.reason}"
        return IngestResult(outcome, reason, rejection.org_id, rejection.event_id, None, rejection.code)


class _ChunkTooBig(Exception):
    """The chunk needs more writes (or a larger change document) than one commit takes: split it."""


class _Contended(Exception):
    """Concurrent deliveries kept changing some of the chunk's records: split it."""


def _rejection_body(
    raw: bytes, reason: str, code: str | None, event_id: str | None, org_id: str | None, origin: Origin | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        **(origin.rejection_fields() if origin is not None else {}),
        "raw": raw[:MAX_KEPT_RAW_BYTES].decode("utf-8", errors="replace"),
        "reason": reason,
        "code": code,
        "event_id": event_id,
        "org_id": org_id,
        "received_at": firestore.SERVER_TIMESTAMP,
    }
    if len(raw) > MAX_KEPT_RAW_BYTES:
        body["raw_truncated_from_bytes"] = len(raw)
    return body


def _seen(*snapshots: firestore.DocumentSnapshot) -> tuple[str, ...]:
    seen: list[str] = []
    for snap in snapshots:
        if snap.exists:
            for event_id in (snap.to_dict() or {}).get("seen_event_ids") or ():
                if event_id not in seen:
                    seen.append(str(event_id))
    return tuple(seen)


def _stored(
    org_id: str, record_id: str, record_snap: firestore.DocumentSnapshot, tombstone_snap: firestore.DocumentSnapshot
) -> StoredRecord:
    """What is stored for a record id; a record document the backend did not write counts as absent."""
    try:
        record = record_from_document(org_id, record_id, record_snap.to_dict() if record_snap.exists else None)
    except MalformedRecord as exc:
        log.error("treating a record document the backend did not write as absent: %s", exc)
        record = None
    tombstone = tombstone_from_document(org_id, record_id, tombstone_snap.to_dict() if tombstone_snap.exists else None)
    seen = _seen(record_snap, tombstone_snap)
    # Records stored before event ids were remembered on them still know their own event.
    for state in (record, tombstone):
        if state is not None and state.event_id and state.event_id not in seen:
            seen = (*seen, state.event_id)
    return StoredRecord(record, tombstone, seen)


def _write_record(
    writer: firestore.Transaction,
    org: firestore.DocumentReference,
    record_id: str,
    before: StoredRecord,
    after: StoredRecord,
    record_snap: firestore.DocumentSnapshot,
    tombstone_snap: firestore.DocumentSnapshot,
    reporting_currency: str,
) -> int:
    """Write what changed of one record id, each write conditional on the snapshot read; returns the operations.

    The decision read both the record and its tombstone. A document it writes carries its own
    precondition; one it relied on being absent and does not write gets a guard that fails the
    commit if it appeared since (a delete that requires the document not to exist, which changes
    nothing). Without the guard, an upsert that saw no tombstone and a delete that saw no record
    could both commit, concurrently, and leave a live record beside its newer tombstone.
    """
    seen = list(after.seen_event_ids)
    operations = 0
    record_ref = org.collection("financial_records").document(record_id)
    tombstone_ref = org.collection("deleted_records").document(record_id)
    record_written = tombstone_written = False
    if after.record is not None:
        if after.record != before.record or not record_snap.exists or seen != list(before.seen_event_ids):
            body = record_document(after.record, reporting_currency) if after.record != before.record else {}
            body.update({"seen_event_ids": seen, "updated_at": firestore.SERVER_TIMESTAMP})
            _put(writer, record_ref, record_snap, body)
            record_written = True
    elif record_snap.exists:
        writer.delete(record_ref, option=_unchanged_since(record_snap))
        record_written = True
    if after.tombstone is not None:
        if after.tombstone != before.tombstone or not tombstone_snap.exists or seen != list(before.seen_event_ids):
            body = {}
            if after.tombstone != before.tombstone:
                body = tombstone_document(after.tombstone)
                body["deleted_at"] = firestore.SERVER_TIMESTAMP
            body["seen_event_ids"] = seen
            _put(writer, tombstone_ref, tombstone_snap, body)
            tombstone_written = True
    elif tombstone_snap.exists:
        writer.delete(tombstone_ref, option=_unchanged_since(tombstone_snap))
        tombstone_written = True
    for ref, snap, written in (
        (record_ref, record_snap, record_written),
        (tombstone_ref, tombstone_snap, tombstone_written),
    ):
        if written:
            operations += 1
        elif not snap.exists:
            writer.delete(ref, option=_still_absent())
            operations += 1
    return operations


def _put(
    writer: firestore.Transaction,
    ref: firestore.DocumentReference,
    snap: firestore.DocumentSnapshot,
    body: dict[str, Any],
) -> None:
    # An update keeps fields other capabilities own on the document (collaboration's comment_count).
    if snap.exists:
        writer.update(ref, body, option=_unchanged_since(snap))
    else:
        writer.create(ref, body)


def _still_absent() -> Any:
    return firestore.Client.write_option(exists=False)


def _unchanged_since(snap: firestore.DocumentSnapshot) -> Any:
    return firestore.Client.write_option(last_update_time=snap.update_time)


def _with_period_status(reference: OrgReference, snapshots: Mapping[str, Any]) -> OrgReference:
    status = dict(reference.period_status)
    for period, snap in snapshots.items():
        if snap.exists:
            status[period] = str((snap.to_dict() or {}).get("status", "open"))
        else:
            status.pop(period, None)
    return replace(reference, period_status=status)

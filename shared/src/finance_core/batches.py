"""Many ledger lines at once: the `records.batch` message and the plan of what a batch does to stored records.

A batch is applied exactly as if its lines had arrived one by one, in order: each line is a
contract-v1 event, deduplicated by event id against the ids its record has seen, checked against
the org's reference data, and merged with the highest-version-wins rule. `plan_batch` does that for
a whole chunk in memory, from the stored state of every record the chunk touches, and returns each
line's outcome, every record change (for the aggregates, whose deltas telescope across a record's
changes) and the final stored state of each record (what the adapter writes, with preconditions on
what it read). Splitting a stream into batches differently therefore never changes the result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from finance_core.changes import RecordChange
from finance_core.events import (
    EventRejected,
    FinancialEvent,
    Identifier,
    decode_json,
    describe_validation_error,
    parse_event,
)
from finance_core.identifiers import identifier_problem
from finance_core.records import Outcome, RecordState, merge
from finance_core.reference import OrgReference, check_event, check_existing_record, record_state
from finance_core.untrusted import quoted

BATCH_TYPE = "records.batch"
MAX_BATCH_LINES = 1000
# Pub/Sub accepts 10 MB per message; a thousand lines of the contract take well under 1 MB.
MAX_BATCH_BYTES = 4 * 1024 * 1024
# How many event ids a record remembers (its own and stale ones). A redelivery of an event older
# than that is still harmless: its version is not newer, so it is counted as stale.
SEEN_EVENT_IDS_KEPT = 20


class RecordsBatch(BaseModel):
    """A `records.batch` message: up to 1,000 contract-v1 events of one org, published to `financial-event-batches`."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="RecordsBatch")

    type: Literal["records.batch"] = Field(description="Always 'records.batch'.")
    batch_id: Identifier = Field(
        description="Id of the batch at the source, for logs and the integrator's own tracking."
    )
    org_id: Identifier = Field(description="Organisation every line belongs to.")
    events: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH_LINES,
        description="The lines: contract-v1 events (financial-event.v1.json). A line may omit org_id; "
        "if it gives one, it must be the batch's.",
    )

    @field_validator("batch_id", "org_id", mode="before")
    @classmethod
    def _identifier(cls, value: Any, info: Any) -> Any:
        problem = identifier_problem(value, info.field_name)
        if problem:
            raise ValueError(problem)
        return value


@dataclass(frozen=True)
class ParsedBatch:
    """A batch whose envelope is valid: each line is an event or the reason it was rejected."""

    batch_id: str
    org_id: str
    lines: tuple[FinancialEvent | EventRejected, ...]
    raw_lines: tuple[bytes, ...]


def parse_batch(data: bytes) -> ParsedBatch:
    """Decode a batch message; EventRejected for an unreadable envelope (every line of it stays unread)."""
    if len(data) > MAX_BATCH_BYTES:
        raise EventRejected(
            "too_large",
            f"batch message is {len(data)} bytes; the limit is {MAX_BATCH_BYTES}: "
            f"split it (at most {MAX_BATCH_LINES} lines per batch)",
        )
    payload = decode_json(data, "batch message")
    org_id = payload.get("org_id") if isinstance(payload, dict) else None
    org_ok = org_id if isinstance(org_id, str) and _valid_id(org_id) else None
    try:
        batch = RecordsBatch.model_validate(payload)
    except ValidationError as exc:
        raise EventRejected(
            "invalid_batch", describe_validation_error(exc).replace("contract v1", "records.batch"), org_ok
        ) from None
    lines: list[FinancialEvent | EventRejected] = []
    raws: list[bytes] = []
    for number, line in enumerate(batch.events, 1):
        raws.append(json.dumps(line, separators=(",", ":")).encode())
        lines.append(parse_line(line, batch.org_id, number))
    return ParsedBatch(batch.batch_id, batch.org_id, tuple(lines), tuple(raws))


def parse_line(line: Mapping[str, Any], org_id: str, number: int) -> FinancialEvent | EventRejected:
    """One line of a batch as an event (inheriting the batch's org), or the reason it is rejected."""
    body = dict(line)
    given = body.setdefault("org_id", org_id)
    if given != org_id:
        event_id = (
            body.get("event_id") if isinstance(body.get("event_id"), str) and _valid_id(body["event_id"]) else None
        )
        return EventRejected(
            "org_mismatch",
            f"line {number} names org {quoted(given)} but the batch is for {org_id!r}: "
            "every line of a batch belongs to the batch's org",
            org_id,
            event_id,
        )
    try:
        return parse_event(body)
    except EventRejected as rejection:
        return EventRejected(rejection.code, f"line {number}: {rejection.reason}", org_id, rejection.event_id)


def _valid_id(value: str) -> bool:
    return identifier_problem(value, "id") is None


def batch_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the batch message, lines included, as published for integrators."""
    from finance_core.events import event_json_schema

    line = event_json_schema()
    line_defs = line.pop("$defs", {})
    for key in ("$schema", "$id"):
        line.pop(key, None)
    line["required"] = [name for name in line.get("required", []) if name != "org_id"]
    line["description"] = "A contract-v1 event; org_id may be omitted (the batch's org is meant)."
    schema = RecordsBatch.model_json_schema(mode="validation")
    schema["properties"]["events"]["items"] = {"$ref": "#/$defs/FinancialEvent"}
    schema["$defs"] = {**line_defs, "FinancialEvent": line}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://finance-live.dev/schemas/records-batch.v1.json"
    return schema


# --- the plan of a chunk -------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRecord:
    """What is stored for one record id: its live record document, its tombstone, and the event ids it has seen."""

    record: RecordState | None = None
    tombstone: RecordState | None = None
    seen_event_ids: tuple[str, ...] = ()

    @property
    def current(self) -> RecordState | None:
        """The newest of the record and its tombstone: what a new version must beat."""
        candidates = [s for s in (self.record, self.tombstone) if s is not None]
        return max(candidates, key=lambda s: s.version) if candidates else None

    def seeing(self, event_id: str) -> StoredRecord:
        """The same state having seen one more event id (the oldest ids are forgotten first)."""
        if event_id in self.seen_event_ids:
            return self
        return replace(self, seen_event_ids=(*self.seen_event_ids, event_id)[-SEEN_EVENT_IDS_KEPT:])


@dataclass(frozen=True)
class IngestLine:
    """A valid event to apply; `next_version` when its version is the stored one + 1 (manual entries, uploads)."""

    event: FinancialEvent
    next_version: bool = False


@dataclass(frozen=True)
class LineResult:
    """What one line did."""

    outcome: Outcome
    reason: str
    code: str | None = None
    version: int | None = None


@dataclass
class BatchPlan:
    """Outcome per line, the record changes in order, and the final stored state of every record it writes."""

    results: list[LineResult] = field(default_factory=list)
    changes: list[RecordChange] = field(default_factory=list)
    stored: dict[str, StoredRecord] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Lines per outcome."""
        counted: dict[str, int] = {}
        for result in self.results:
            counted[result.outcome.value] = counted.get(result.outcome.value, 0) + 1
        return counted


def plan_batch(lines: Sequence[IngestLine], stored: Mapping[str, StoredRecord], reference: OrgReference) -> BatchPlan:
    """Apply `lines` in order to the stored state of their records; pure, and the same as one line at a time.

    `stored` must hold every record id of the lines (an empty StoredRecord for a new one) and
    `reference` the live status of every period involved. Rejections carry their code; whether a
    rejected line was already rejected before (a duplicate) is for the caller to tell, from the
    rejections it has stored.
    """
    plan = BatchPlan()
    state = dict(stored)
    for line in lines:
        event = line.event
        before = state[event.record_id]
        result, after, change = _apply(line, before, reference)
        plan.results.append(result)
        if after is not before:
            state[event.record_id] = after
            plan.stored[event.record_id] = after
        if change is not None:
            plan.changes.append(change)
    return plan


def _apply(
    line: IngestLine, stored: StoredRecord, reference: OrgReference
) -> tuple[LineResult, StoredRecord, RecordChange | None]:
    event = line.event
    if event.event_id in stored.seen_event_ids:
        return LineResult(Outcome.DUPLICATE, f"event {event.event_id} was already processed"), stored, None
    current = stored.current
    effective = event
    if line.next_version:
        effective = event.model_copy(update={"version": (current.version if current else 0) + 1})
    try:
        check_event(effective, reference)
        check_existing_record(effective, stored.record, reference)
    except EventRejected as rejection:
        return LineResult(Outcome.REJECTED, rejection.reason, rejection.code, effective.version), stored, None
    proposed = None if effective.is_delete else record_state(effective, reference)
    decision = merge(current, effective, proposed, False)
    if decision.outcome is not Outcome.APPLIED or decision.new_state is None:
        return (
            LineResult(decision.outcome, decision.reason, None, effective.version),
            stored.seeing(event.event_id),
            None,
        )
    new = decision.new_state
    if new.deleted:
        after = StoredRecord(None, new, stored.seen_event_ids).seeing(event.event_id)
        change = RecordChange(event.record_id, new.event_id, new.version, stored.record, new) if stored.record else None
    else:
        after = StoredRecord(new, None, stored.seen_event_ids).seeing(event.event_id)
        change = RecordChange(event.record_id, new.event_id, new.version, stored.record, new)
    return LineResult(Outcome.APPLIED, decision.reason, None, new.version), after, change


def live_records(stored: Mapping[str, StoredRecord]) -> list[RecordState]:
    """The live records of a stored state (what the aggregates must equal)."""
    return [s.record for s in stored.values() if s.record is not None]

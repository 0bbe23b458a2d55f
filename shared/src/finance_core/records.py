"""Stored record state and the version-aware merge that decides what an incoming event does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from finance_core.events import FinancialEvent


@dataclass(frozen=True)
class RecordState:
    """A financial record as stored, or the tombstone of a deleted one (`deleted=True`)."""

    org_id: str
    record_id: str
    version: int
    event_id: str
    deleted: bool = False
    entity_id: str | None = None
    account_id: str | None = None
    period: str | None = None
    scenario: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    amount_minor: int | None = None
    reporting_amount_minor: int | None = None
    occurred_at: str | None = None
    source: str | None = None
    memo: str | None = None
    # Declared dimension -> value (finance_core.dimensions); None when the record carries none.
    dimensions: Mapping[str, str] | None = None
    # Booking date 'YYYY-MM-DD' inside the period, or None: the record then counts for the month only.
    date: str | None = None

    @property
    def day(self) -> str | None:
        """Day of the month of the booking date ('05'), the key of the daily totals; None without a date."""
        return self.date[8:10] if self.date else None

    @property
    def is_live(self) -> bool:
        """True for a record that counts in aggregates (not a tombstone)."""
        return not self.deleted


class Outcome(StrEnum):
    """What happened to one delivered event."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    REJECTED = "rejected"


@dataclass(frozen=True)
class MergeDecision:
    """The outcome of merging an event into the current state, and the state to store if applied."""

    outcome: Outcome
    new_state: RecordState | None
    reason: str


def merge(
    current: RecordState | None,
    event: FinancialEvent,
    proposed: RecordState | None,
    event_seen_before: bool,
) -> MergeDecision:
    """Decide what `event` does given the stored state (record or tombstone) of its record.

    `proposed` is the state the event would produce (None for a delete: a tombstone is built
    here). The highest version wins whatever the arrival order; an event id seen before changes
    nothing; a delete leaves a tombstone so an older upsert arriving later cannot resurrect it.
    """
    if event_seen_before:
        return MergeDecision(Outcome.DUPLICATE, None, f"event {event.event_id} was already processed")
    if current is not None and event.version <= current.version:
        kind = "tombstone" if current.deleted else "record"
        return MergeDecision(
            Outcome.STALE,
            None,
            f"version {event.version} is not newer than the stored {kind} version {current.version}",
        )
    if event.is_delete:
        tombstone = RecordState(
            org_id=event.org_id,
            record_id=event.record_id,
            version=event.version,
            event_id=event.event_id,
            deleted=True,
            occurred_at=event.occurred_at.isoformat(),
        )
        return MergeDecision(Outcome.APPLIED, tombstone, "deleted")
    if proposed is None:
        raise ValueError("an upsert needs the proposed record state")
    return MergeDecision(Outcome.APPLIED, proposed, "upserted")


def replay(events: Iterable[tuple[FinancialEvent, RecordState | None]]) -> tuple[RecordState | None, list[Outcome]]:
    """Fold a delivery sequence of (event, proposed state) for ONE record; the reference semantics.

    Used by property tests: any order and any duplication of the same events must end in the
    state of the highest version.
    """
    current: RecordState | None = None
    seen: set[str] = set()
    outcomes = []
    for event, proposed in events:
        decision = merge(current, event, proposed, event.event_id in seen)
        seen.add(event.event_id)
        outcomes.append(decision.outcome)
        if decision.new_state is not None:
            current = decision.new_state
    return current, outcomes


def with_version(state: RecordState, version: int, event_id: str) -> RecordState:
    """A copy of the state carrying another version and event id."""
    return replace(state, version=version, event_id=event_id)

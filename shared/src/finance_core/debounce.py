"""Debounced recomputation: when a change is already covered, who computes, and how long to wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# Timestamps of different services (Pub/Sub publish time, Firestore commit time) are compared;
# a change is only taken as covered with this much to spare.
CLOCK_MARGIN = timedelta(milliseconds=250)


@dataclass(frozen=True)
class DebounceState:
    """The request document of one debounced computation (all times are server commit times).

    A computation *started* at S (the commit time of the write that marked its start) reads data
    committed before S, so it reflects every change whose data was committed before S.
    """

    requested_at: datetime | None = None
    """Commit time of the latest request (written after the change's data was committed)."""
    computed_at: datetime | None = None
    """Start of the latest finished computation."""
    lease_until: datetime | None = None
    """A computation holds the lease until then (None: nobody computes)."""

    @property
    def pending(self) -> bool:
        """True when a request arrived after the start of the latest computation."""
        if self.requested_at is None:
            return False
        return self.computed_at is None or self.requested_at >= self.computed_at

    def leased(self, now: datetime) -> bool:
        """True while another invocation holds the computation lease."""
        return self.lease_until is not None and self.lease_until > now


class Decision(StrEnum):
    """What an invocation does for one change."""

    COVERED = "covered"
    """A finished computation started after the change's data was committed: nothing to do."""
    QUEUED = "queued"
    """A pending request newer than the change exists; whoever answers it covers this change."""
    REQUEST = "request"
    """Write a request, then try to take the lease."""


def decide(state: DebounceState, data_committed_at: datetime | None) -> Decision:
    """Whether a change whose data was committed at `data_committed_at` still needs a request.

    With no commit time known the change is always requested (never wrongly skipped).
    """
    if data_committed_at is None:
        return Decision.REQUEST
    threshold = data_committed_at + CLOCK_MARGIN
    if state.computed_at is not None and state.computed_at >= threshold:
        return Decision.COVERED
    if state.pending and state.requested_at is not None and state.requested_at >= threshold:
        return Decision.QUEUED
    return Decision.REQUEST


def wait_before_computing(state: DebounceState, now: datetime, window: timedelta) -> float:
    """Seconds to wait so two computations start at least `window` apart (0 if already past)."""
    if state.computed_at is None:
        return 0.0
    return max(0.0, (state.computed_at + window - now).total_seconds())


def hold_seconds(last_written_at: datetime | None, read_at: datetime | None, interval: timedelta) -> float:
    """Seconds a document read at `read_at` must still wait before it is rewritten (0: write now).

    A document dashboards listen to costs every listener one read per write, so its writers keep
    `interval` between two writes (docs/performance.md, "1,000 live dashboards"). Both times are the
    database's own (a snapshot's update and read times): no clock of a function is compared.
    """
    if last_written_at is None or read_at is None or interval <= timedelta(0):
        return 0.0
    return max(0.0, (last_written_at + interval - read_at).total_seconds())

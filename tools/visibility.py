"""When each applied event became visible to a listener of an aggregate: exact per event, not sampled.

The pipeline leaves two server timestamps behind: a change document's `applied_at` (the commit
that added its deltas to the aggregate shards) and a readable aggregate's `shards_read_at` (the
read its fold was computed from). A listener's snapshot shows an event exactly when the fold it
shows read the shards at or after the event was applied. So, for every event, publish time (client
clock) to the arrival of the first such snapshot (client clock) is its publish-to-dashboard lag:
no sampling through `last_event_id`, which a fold that brings several changes at once names only
one of. The demo's summary and bench/bench_pipeline.py measure with it.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from finance_core.aggregates import AggregateKey
from finance_core.changes import ChangeMessageError, decode_changes

# Stage name -> the change document's field that records when the event passed it.
CHANGE_STAGES = (
    ("ingest", "received_at"),
    ("stored", "created_at"),
    ("change applied", "applied_at"),
    ("change message", "message_published_at"),
)
# Every stage from publish to the listener, in pipeline order.
STAGES = ("ingest", "stored", "change applied", "change message", "view folded", "document written", "listener")


def percentile(samples: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile (None without samples)."""
    ordered = sorted(samples)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass
class VisibilityLog:
    """Publish times, applied times and listener snapshots of one aggregate document; thread-safe.

    `published` is filled by the publisher, `on_change_document` by a listener on the org's
    `record_changes`, `on_aggregate_snapshot` by a listener on the aggregate document.
    """

    key: AggregateKey
    published: dict[str, float] = field(default_factory=dict)
    applied: dict[str, datetime] = field(default_factory=dict)
    # Per event, the server times its change document recorded (CHANGE_STAGES).
    stage_times: dict[str, dict[str, datetime]] = field(default_factory=dict)
    # (arrival on the client, server time the fold read its shards, time the document was written).
    snapshots: list[tuple[float, datetime, datetime | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_published(self, event_id: str, at: float | None = None) -> None:
        """An event was published (client clock, seconds since the epoch)."""
        with self.lock:
            self.published.setdefault(event_id, time.time() if at is None else at)

    def on_change_document(self, body: Mapping[str, Any]) -> None:
        """A `record_changes` document: once applied, the events whose change moves the key get its time."""
        applied_at = body.get("applied_at")
        if not isinstance(applied_at, datetime) or body.get("state") == "pending":
            return
        try:
            changes = decode_changes(str(body.get("changes") or "[]"))
        except ChangeMessageError:
            return
        times = {stage: body[field] for stage, field in CHANGE_STAGES if isinstance(body.get(field), datetime)}
        with self.lock:
            for change in changes:
                if self._moves_key(change.deltas()):
                    self.applied.setdefault(change.event_id, applied_at)
                    known = self.stage_times.setdefault(change.event_id, {})
                    for stage, at in times.items():
                        known.setdefault(stage, at)

    def on_aggregate_snapshot(
        self, body: Mapping[str, Any], arrived: float | None = None, written_at: datetime | None = None
    ) -> None:
        """A snapshot of the listened aggregate document arrived (`written_at`: its update time)."""
        read_at = body.get("shards_read_at")
        if isinstance(read_at, datetime):
            with self.lock:
                self.snapshots.append((time.time() if arrived is None else arrived, read_at, written_at))

    def _moves_key(self, deltas: Mapping[AggregateKey, Any]) -> bool:
        return self.key in deltas

    def _visible_in(self) -> dict[str, tuple[float, datetime, datetime | None]]:
        """For each applied, published event: the first snapshot that shows it (arrival, read at, written at)."""
        with self.lock:
            snapshots = list(self.snapshots)
            applied = dict(self.applied)
            published = set(self.published)
        # The first arrival whose fold read the shards at or after the event's commit is when the
        # event became visible (later snapshots with an older read add nothing).
        shown: list[tuple[float, datetime, datetime | None]] = []
        for snapshot in snapshots:
            if not shown or snapshot[1] > shown[-1][1]:
                shown.append(snapshot)
        reads = [read_at for _, read_at, _ in shown]
        found = {}
        for event_id, applied_at in applied.items():
            index = bisect.bisect_left(reads, applied_at)
            if event_id in published and index < len(reads):
                found[event_id] = shown[index]
        return found

    def lags_ms(self) -> dict[str, float]:
        """Publish -> visible on the listener, in ms, for every published event that is visible by now."""
        with self.lock:
            published = dict(self.published)
        return {
            event_id: max(0.0, (arrived - published[event_id]) * 1000)
            for event_id, (arrived, _, _) in self._visible_in().items()
        }

    def stages_ms(self) -> dict[str, dict[str, float]]:
        """Per visible event, the time from its publish to each stage it passed, in ms (STAGES)."""
        with self.lock:
            published = dict(self.published)
            recorded = {event_id: dict(times) for event_id, times in self.stage_times.items()}
        found = {}
        for event_id, (arrived, read_at, written_at) in self._visible_in().items():
            start = published[event_id]
            times = {stage: at.timestamp() for stage, at in recorded.get(event_id, {}).items()}
            times["view folded"] = read_at.timestamp()
            if written_at is not None:
                times["document written"] = written_at.timestamp()
            times["listener"] = arrived
            found[event_id] = {stage: (times[stage] - start) * 1000 for stage in STAGES if stage in times}
        return found

    def summary(self) -> LagSummary:
        """p50 / p99 of the lags, with how many events they cover out of those applied."""
        lags = list(self.lags_ms().values())
        with self.lock:
            applied = sum(1 for event_id in self.applied if event_id in self.published)
        return LagSummary(percentile(lags, 0.5), percentile(lags, 0.99), max(lags, default=None), len(lags), applied)


@dataclass(frozen=True)
class LagSummary:
    """Lag percentiles in ms over `measured` events, of `applied` published events applied to the key."""

    p50: float | None
    p99: float | None
    worst: float | None
    measured: int
    applied: int

    @property
    def coverage(self) -> float:
        """Share of the applied events whose visibility was measured."""
        return self.measured / self.applied if self.applied else 0.0

    def describe(self) -> str:
        """'p50 97 ms, p99 319 ms (412 of 412 applied events)'."""
        if self.p50 is None or self.p99 is None:
            return f"not measured (0 of {self.applied} applied events seen)"
        return f"p50 {self.p50:,.0f} ms, p99 {self.p99:,.0f} ms ({self.measured} of {self.applied} applied events)"

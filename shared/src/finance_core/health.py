"""Pipeline health from what the pipeline leaves behind: backlog, lag percentiles, dead letters, rejections.

Pure functions over plain values (the operations capability reads them from Firestore and
Pub/Sub); the same figures per org and for the whole deployment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# What makes a pipeline "degraded" (the alert policies of infra/terraform/monitoring.tf use the
# same thresholds on the log-based metrics).
LAG_P99_LIMIT_MS = 2000.0
BACKLOG_AGE_LIMIT_SECONDS = 120.0
REJECTED_RATE_LIMIT = 0.05
# Fewer lag samples than this in the window are reported, but called too few to judge a trend by.
FEW_LAG_SAMPLES = 20
# The most recent part of the window, compared with the whole to say whether the lag is recovering.
RECENT_SECONDS = 60.0


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (share in 0..1) of `values`; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LagSample:
    """One change message folded into the readable aggregates: its org and publish-to-folded lag."""

    org_id: str
    lag_ms: float


@dataclass
class OrgHealth:
    """The health figures of one org (or of all: org_id None)."""

    org_id: str | None
    unfinished_changes: int = 0
    oldest_unfinished_at: datetime | None = None
    lag_samples: list[float] = field(default_factory=list)
    # Lag samples of the messages folded in the last RECENT_SECONDS of the window.
    recent_lag_samples: list[float] = field(default_factory=list)
    # The backlog at the previous refresh (None: unknown), to say whether it shrinks.
    previous_unfinished_changes: int | None = None
    # The data-quality counters summed over their shards (data_quality_view), when read.
    data_quality: dict[str, Any] | None = None
    dead_letters_waiting: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    previous_counts: dict[str, int] = field(default_factory=dict)
    reconciliation: Mapping[str, Any] | None = None

    def backlog_age_seconds(self, now: datetime) -> float:
        """Age of the oldest change not yet folded (0 without a backlog)."""
        if self.oldest_unfinished_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_unfinished_at).total_seconds())

    def rejected_rate(self) -> tuple[int, int, float | None]:
        """Rejected lines, all lines and their ratio since the previous refresh (None: no line)."""
        total = sum(self.counts.values()) - sum(self.previous_counts.values())
        rejected = self.counts.get("rejected", 0) - self.previous_counts.get("rejected", 0)
        if total <= 0:
            return 0, 0, None
        return rejected, total, rejected / total

    def problems(self, now: datetime) -> list[str]:
        """Why the pipeline is degraded (empty: healthy)."""
        found = []
        age = self.backlog_age_seconds(now)
        if age > BACKLOG_AGE_LIMIT_SECONDS:
            found.append(f"backlog: the oldest unfinished change is {age:.0f} s old")
        p99 = percentile(self.lag_samples, 0.99)
        if p99 is not None and p99 > LAG_P99_LIMIT_MS:
            found.append(f"lag: p99 {p99:.0f} ms over {LAG_P99_LIMIT_MS:.0f} ms")
        if self.dead_letters_waiting:
            found.append(f"dead letters: {self.dead_letters_waiting} waiting")
        _, _, rate = self.rejected_rate()
        if rate is not None and rate > REJECTED_RATE_LIMIT:
            found.append(f"rejections: {rate:.1%} of recent lines")
        return found

    def explanations(self, now: datetime, window_seconds: int) -> list[str]:
        """Each problem in words a newcomer can act on: what is behind, since when, whether it recovers, what to do."""
        said = []
        age = self.backlog_age_seconds(now)
        if age > BACKLOG_AGE_LIMIT_SECONDS and self.oldest_unfinished_at is not None:
            trend = ""
            if self.previous_unfinished_changes is not None:
                before = self.previous_unfinished_changes
                if self.unfinished_changes < before:
                    trend = f" It is catching up: {before} were waiting at the previous check."
                elif self.unfinished_changes > before:
                    trend = f" It is falling behind: {before} were waiting at the previous check."
                else:
                    trend = " It is not moving: as many were waiting at the previous check."
            said.append(
                f"{self.unfinished_changes} record change(s) have not reached the aggregates yet; the oldest has "
                f"waited since {self.oldest_unfinished_at:%H:%M:%S} UTC ({age:.0f} s).{trend} The outbox sweep "
                "(publish_pending_changes, every minute) finishes what a failed trigger left; if the count does "
                "not shrink, look for errors of apply_record_changes in .stack/logs/firebase.log."
            )
        p99 = percentile(self.lag_samples, 0.99)
        if p99 is not None and p99 > LAG_P99_LIMIT_MS:
            p50 = percentile(self.lag_samples, 0.5) or 0.0
            samples = len(self.lag_samples)
            few = (
                f" Only {samples} message(s) were folded in that time: too few to call it a trend."
                if samples < FEW_LAG_SAMPLES
                else ""
            )
            recent = percentile(self.recent_lag_samples, 0.5)
            if recent is None:
                trend = f" Nothing was folded in the last {RECENT_SECONDS:.0f} s."
            elif recent <= LAG_P99_LIMIT_MS:
                trend = f" It has recovered: the last {RECENT_SECONDS:.0f} s had a median of {recent / 1000:.1f} s."
            else:
                trend = f" It is still slow: the last {RECENT_SECONDS:.0f} s had a median of {recent / 1000:.1f} s."
            said.append(
                f"Changes took long to reach the dashboards in the last {window_seconds // 60} minutes: median "
                f"{p50 / 1000:.1f} s, p99 {p99 / 1000:.1f} s (the limit is {LAG_P99_LIMIT_MS / 1000:.0f} s).{trend}"
                f"{few} A busy machine (other processes on its cores) slows the local stack the same way."
            )
        if self.dead_letters_waiting:
            said.append(
                f"{self.dead_letters_waiting} change message(s) are parked in dead letters after failing "
                "repeatedly; once the cause is fixed, ./dev replay --dead-letters writes them."
            )
        rejected, total, rate = self.rejected_rate()
        if rate is not None and rate > REJECTED_RATE_LIMIT:
            org = f"organizations/{self.org_id}/ingestion_errors" if self.org_id else "each org's ingestion_errors"
            said.append(
                f"{rejected} of the last {total} lines were rejected ({rate:.1%}); every rejection is stored with "
                f"its reason in {org}: fix the sender and send the lines again."
            )
        return said

    def document(self, now: datetime, window_seconds: int) -> dict[str, Any]:
        """The health document's body."""
        rejected, total, rate = self.rejected_rate()
        problems = self.problems(now)
        lag = self.lag_samples
        return {
            "computed_at": now,
            "window_seconds": window_seconds,
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "explanations": self.explanations(now, window_seconds),
            "backlog": {
                "unfinished_changes": self.unfinished_changes,
                "oldest_at": self.oldest_unfinished_at,
                "age_seconds": round(self.backlog_age_seconds(now), 1),
            },
            "lag_ms": {
                "p50": _round(percentile(lag, 0.5)),
                "p99": _round(percentile(lag, 0.99)),
                "max": _round(max(lag) if lag else None),
                "samples": len(lag),
            },
            "dead_letters_waiting": self.dead_letters_waiting,
            "rejected": {"lines": rejected, "of_lines": total, "rate": None if rate is None else round(rate, 4)},
            "counts": dict(self.counts),
            "reconciliation": dict(self.reconciliation) if self.reconciliation else None,
        }


DATA_QUALITY_OUTCOMES = ("applied", "duplicate", "stale", "rejected")


def data_quality_view(shards: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The org's data-quality counters from its shard documents (each delivery increments one shard).

    Counts per outcome, rejections per reason code, their total and the time of the last event:
    what dashboards show, summed where they read it, so no writer ever folds the shards.
    """
    counts: dict[str, int] = dict.fromkeys(DATA_QUALITY_OUTCOMES, 0)
    by_reason: dict[str, int] = {}
    last_event_at = None
    for doc in shards:
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


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def combine(orgs: Iterable[OrgHealth]) -> OrgHealth:
    """The deployment's health from its orgs': sums, the oldest backlog, all lag samples."""
    total = OrgHealth(None)
    for org in orgs:
        total.unfinished_changes += org.unfinished_changes
        if org.oldest_unfinished_at is not None and (
            total.oldest_unfinished_at is None or org.oldest_unfinished_at < total.oldest_unfinished_at
        ):
            total.oldest_unfinished_at = org.oldest_unfinished_at
        total.lag_samples.extend(org.lag_samples)
        total.recent_lag_samples.extend(org.recent_lag_samples)
        if org.previous_unfinished_changes is not None:
            total.previous_unfinished_changes = (
                total.previous_unfinished_changes or 0
            ) + org.previous_unfinished_changes
        total.dead_letters_waiting += org.dead_letters_waiting
        for name, value in org.counts.items():
            total.counts[name] = total.counts.get(name, 0) + value
        for name, value in org.previous_counts.items():
            total.previous_counts[name] = total.previous_counts.get(name, 0) + value
    return total

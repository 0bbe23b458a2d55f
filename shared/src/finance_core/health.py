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
        total.dead_letters_waiting += org.dead_letters_waiting
        for name, value in org.counts.items():
            total.counts[name] = total.counts.get(name, 0) + value
        for name, value in org.previous_counts.items():
            total.previous_counts[name] = total.previous_counts.get(name, 0) + value
    return total

"""Per-user rate limits on what members write (comments, manual entries), enforced by the backend.

A fixed window per user and kind in `organizations/{org}/rate_limits/{uid}`: the trigger that
handles a member's write counts it in a transaction and refuses it when the window is full. The
rules cannot count, so this is where a viewer posting comments in a loop is stopped: whatever
gets past is deleted or rejected before it costs any further write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from google.cloud import firestore

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path, utc_now

COLLECTION = "rate_limits"


@dataclass(frozen=True)
class Limit:
    """At most `count` writes of one kind per user in `window`."""

    kind: str
    count: int
    window: timedelta


@dataclass(frozen=True)
class Verdict:
    """Whether one write is allowed, and how many the user made in the current window (this one included)."""

    allowed: bool
    used: int
    limit: Limit

    @property
    def reason(self) -> str:
        """The error shown to the member when refused."""
        seconds = int(self.limit.window.total_seconds())
        return (
            f"rate limit: at most {self.limit.count} {self.limit.kind.replace('_', ' ')} per user every "
            f"{seconds} s; try again in a moment"
        )


class RateLimiter:
    """Counts members' writes per window; one transaction per counted write."""

    def __init__(self, db: firestore.Client, clock: Callable[[], datetime] = utc_now):
        self._db = db
        self._clock = clock

    def ref(self, org_id: str, uid: str) -> firestore.DocumentReference:
        """The counters of one member."""
        return self._db.document(f"{org_path(org_id)}/{COLLECTION}/{uid}")

    def take(self, org_id: str, uid: str, limit: Limit, key: str) -> Verdict:
        """Count write `key` (e.g. the comment id) against the user's window; idempotent per key.

        A redelivered trigger event counts its write once: the window remembers the keys it counted.
        """
        ref = self.ref(org_id, uid)
        now = self._clock()

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> Verdict:
            snap = ref.get(transaction=transaction)
            window = dict(((snap.to_dict() or {}).get(limit.kind) or {}) if snap.exists else {})
            started = window.get("started_at")
            keys = list(window.get("keys") or [])
            if started is None or now - started >= limit.window:
                started, keys = now, []
            if key in keys:
                return Verdict(keys.index(key) < limit.count, len(keys), limit)
            keys.append(key)
            # The keys of refused writes are kept too (bounded): a flood is counted, not forgotten.
            transaction.set(
                ref,
                {
                    limit.kind: {
                        "started_at": started,
                        "keys": keys[: limit.count * 2],
                        "refused": max(0, len(keys) - limit.count),
                    }
                },
                merge=True,
            )
            return Verdict(len(keys) <= limit.count, len(keys), limit)

        with map_exceptions(f"counting {limit.kind} of {uid} in {org_id}"):
            return run(self._db.transaction(max_attempts=10))

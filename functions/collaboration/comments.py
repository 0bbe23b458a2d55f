"""Comment counts: `comment_count` on a target is recounted from its comments, coalesced on busy targets.

A count is never incremented: the target's comments are counted (one aggregation query) and the
count written only if it differs, with the target's update time as precondition, so a
redelivered or late trigger event, a lost one (the sweeps recount), and two triggers racing
(the later write fails its precondition and counts again) all end in the true count. A target
recounted less than COUNT_INTERVAL ago is recounted once that interval has passed, by one of the
invocations waiting for it: a burst of comments on a busy aggregate or alert costs about one
write of the target per interval, not one per comment. Who may comment how often is bounded by
the per-user rate limit (adapters/rate_limits.py).
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import LostRace, is_lost_race, map_exceptions
from adapters.firestore_codec import org_path, utc_now
from adapters.rate_limits import Limit, RateLimiter
from adapters.retry import compare_and_set
from adapters.sweeps import OrgSweep
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

log = logging.getLogger(__name__)

COMMENTS = "comments"
# At most one count write per target per interval (Firestore's guidance is about one sustained
# write per second per document, and aggregates and alerts are written by the pipeline too).
COUNT_INTERVAL = timedelta(seconds=1)
# Timestamps of two services are compared (the event's commit time, the target's count time).
CLOCK_MARGIN = timedelta(milliseconds=250)
# The sweep recounts the targets of comments written this recently (a trigger lost meanwhile).
SWEEP_WINDOW = timedelta(minutes=15)

# Documents that show a comment count: the numbers dashboards discuss. Reference data (members,
# accounts, periods ...) is excluded on purpose: the rules pin those documents' exact shape, so a
# server-added field would make every later edit by an admin fail.
COUNTED_COLLECTIONS = frozenset({"financial_records", "aggregates", "kpis", "variance", "trends", "alerts"})
_DOC_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def comment_target(org_id: str, comment: Mapping[str, Any] | None) -> str | None:
    """The document whose comment_count a comment counts in, or None if it counts nowhere.

    Only a document of the same org in a counted collection ("organizations/{org}/{coll}/{id}");
    the rules already refuse other targets from clients, this also holds for admin-SDK writes.
    """
    if not comment:
        return None
    path = comment.get("target_path")
    if not isinstance(path, str) or len(path) > 300:
        return None
    parts = path.split("/")
    if len(parts) != 4 or parts[0] != "organizations" or parts[1] != org_id or parts[2] not in COUNTED_COLLECTIONS:
        return None
    doc_id = parts[3]
    # Aggregate ids such as "_all__2026-10__actual" start with '_' and contain "__", so only the
    # character set is checked here (the same set as the contract's identifiers).
    if not doc_id or len(doc_id) > 300 or not set(doc_id) <= _DOC_ID_CHARS or doc_id in {".", ".."}:
        return None
    return path


def count_changes(org_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, int]:
    """How a comment write moves counts: +1 on a created comment's target, -1 on a deleted one's.

    An edit of the text changes nothing; a comment moved to another target (only the backend
    could do it) moves its count.
    """
    old, new = comment_target(org_id, before), comment_target(org_id, after)
    if old == new:
        return {}
    changes: dict[str, int] = {}
    if old:
        changes[old] = -1
    if new:
        changes[new] = changes.get(new, 0) + 1
    return changes


class CommentCounter:
    """Keeps comment_count on targets equal to the number of their comments."""

    def __init__(
        self,
        db: firestore.Client,
        limiter: RateLimiter | None = None,
        per_minute: Callable[[], int] = lambda: 20,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._db = db
        self._limiter = limiter
        self._per_minute = per_minute
        self._clock = clock
        self._sleep = sleep

    def on_write(
        self,
        org_id: str,
        comment_id: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        committed_at: datetime | None = None,
    ) -> dict[str, int | None]:
        """Handle one comment write: refuse a new comment over its author's rate limit, recount the targets."""
        if before is None and after is not None and self._limiter is not None and after.get("uid"):
            verdict = self._limiter.take(
                org_id, str(after["uid"]), Limit(COMMENTS, self._per_minute(), timedelta(minutes=1)), comment_id
            )
            if not verdict.allowed:
                log.warning(
                    "comment deleted by the rate limit",
                    extra={"json_fields": {"outcome": "rate_limited", "uid": after.get("uid"), "used": verdict.used}},
                )
                with map_exceptions(f"deleting rate-limited comment {comment_id} of {org_id}"):
                    self._db.document(f"{org_path(org_id)}/{COMMENTS}/{comment_id}").delete()
                return {}
        targets = {t for t in (comment_target(org_id, before), comment_target(org_id, after)) if t}
        return {target: self.recount_coalesced(target, committed_at) for target in sorted(targets)}

    def recount_coalesced(self, target: str, committed_at: datetime | None) -> int | None:
        """Recount `target` for a comment committed at `committed_at`, at most once per COUNT_INTERVAL.

        If the target was recounted less than an interval ago, wait for the interval; a recount
        that started after the comment's commit (by another invocation meanwhile) covers it.
        """
        ref = self._db.document(target)
        with map_exceptions(f"reading {target}"):
            snap = ref.get(field_paths=["comment_count_at"])
        if not snap.exists:
            return None
        counted_at = snap.get("comment_count_at") if "comment_count_at" in (snap.to_dict() or {}) else None
        if counted_at is not None:
            if committed_at is not None and counted_at >= committed_at + CLOCK_MARGIN:
                return None  # a recount that started after this comment's commit covered it
            wait = (counted_at + COUNT_INTERVAL - self._clock()).total_seconds()
            if wait > 0:
                self._sleep(min(wait, COUNT_INTERVAL.total_seconds()))
                with map_exceptions(f"reading {target}"):
                    again = ref.get(field_paths=["comment_count_at"])
                latest = (again.to_dict() or {}).get("comment_count_at") if again.exists else None
                if (
                    latest is not None
                    and latest != counted_at
                    and committed_at is not None
                    and latest >= committed_at + CLOCK_MARGIN
                ):
                    return None
        return self.recount(target)

    def recount(self, target: str) -> int | None:
        """Set the target's comment_count to the number of its comments (None if the target does not exist).

        The count is written only if it differs, conditional on the target being unchanged since
        it was read before counting: a recount that raced a newer one reads and counts again.
        """
        ref = self._db.document(target)
        org_id = target.split("/")[1]
        comments = self._db.collection(f"{org_path(org_id)}/{COMMENTS}").where(
            filter=FieldFilter("target_path", "==", target)
        )

        def attempt() -> int | None:
            with map_exceptions(f"recounting the comments of {target}"):
                snap = ref.get()
                if not snap.exists:
                    return None
                aggregation: Any = comments.count()
                number = int(aggregation.get()[0][0].value)
            stored = (snap.to_dict() or {}).get("comment_count")
            if (stored is None and number == 0) or (stored is not None and int(stored) == number):
                return number
            try:
                with map_exceptions(f"writing the comment count of {target}"):
                    ref.update(
                        {"comment_count": number, "comment_count_at": firestore.SERVER_TIMESTAMP},
                        option=self._db.write_option(last_update_time=snap.update_time),
                    )
            except Exception as exc:
                if is_lost_race(exc):
                    raise LostRace(str(exc)) from exc
                raise
            return number

        return compare_and_set(attempt, what=f"counting the comments of {target}")

    def sweep(self, org_id: str | None = None, window: timedelta = SWEEP_WINDOW) -> OrgSweep:
        """Recount the targets of comments written in the last `window` (a lost trigger's count is repaired)."""
        source = (
            self._db.collection(f"{org_path(org_id)}/{COMMENTS}") if org_id else self._db.collection_group(COMMENTS)
        )
        query = source.where(filter=FieldFilter("created_at", ">", self._clock() - window)).select(["target_path"])
        with map_exceptions("listing recent comments"):
            found = [(s.reference.parent.parent.id, s.get("target_path")) for s in query.stream()]
        sweep = OrgSweep("comment_counts")
        for org, target in sorted({(org, comment_target(org, {"target_path": t})) for org, t in found}):
            if target:
                sweep.run(org, functools.partial(self.recount, target))
        return sweep

    def reconcile(self, org_id: str) -> int:
        """Recount every counted target of an org (deleted comments included); returns the counts corrected."""
        comments = self._db.collection(f"{org_path(org_id)}/{COMMENTS}").select(["target_path"])
        with map_exceptions(f"reading the comments of {org_id}"):
            expected = Counter(t for t in (comment_target(org_id, s.to_dict()) for s in comments.stream()) if t)
        shown: set[str] = set()
        for collection in sorted(COUNTED_COLLECTIONS):
            query = (
                self._db.collection(f"{org_path(org_id)}/{collection}")
                .where(filter=FieldFilter("comment_count", ">", 0))
                .select(["comment_count"])
            )
            with map_exceptions(f"reading comment counts of {org_id}/{collection}"):
                shown |= {s.reference.path for s in query.stream()}
        corrected = 0
        for target in sorted(shown | set(expected)):
            before = self._db.document(target).get(field_paths=["comment_count"])
            stored = (before.to_dict() or {}).get("comment_count") if before.exists else None
            if before.exists and int(stored or 0) != expected.get(target, 0):
                self.recount(target)
                corrected += 1
        return corrected

    def reconcile_all(self, org_ids: Iterable[str]) -> OrgSweep:
        """Recount every org's counted targets, each org isolated."""
        sweep = OrgSweep("comment_count_reconciliation")
        corrected = 0
        for org_id in org_ids:
            corrected += sweep.run(org_id, functools.partial(self.reconcile, org_id)) or 0
        sweep.counts["corrected"] = corrected
        return sweep

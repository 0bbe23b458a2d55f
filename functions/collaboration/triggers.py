"""Collaboration triggers: presence cleanup every 5 minutes, and comment counts kept on comment writes."""

from __future__ import annotations

import functools

from adapters import deployment
from adapters.clients import firestore_client
from adapters.firestore_codec import utc_now
from adapters.logs import bind, observed
from adapters.rate_limits import RateLimiter
from adapters.settings import COMMENTS_PER_MINUTE
from firebase_functions import firestore_fn, scheduler_fn

from collaboration import presence
from collaboration.comments import CommentCounter


@functools.cache
def comment_counter() -> CommentCounter:
    """The instance's comment counter (with the per-user comment rate limit)."""
    db = firestore_client()
    return CommentCounter(db, RateLimiter(db), lambda: COMMENTS_PER_MINUTE.value)


@scheduler_fn.on_schedule(schedule="every 5 minutes", **deployment.scheduled("scheduled"))
@observed("expire_presence")
def expire_presence(event: scheduler_fn.ScheduledEvent) -> None:
    """Delete the expired presence heartbeats of every org (the TTL policy deletes them only within a day)."""
    presence.expire_presence(firestore_client(), utc_now())


# Retry is turned on after deploy (apply_trigger_policies.py); a lost event is repaired by
# sweep_comment_counts within 5 minutes (deletes: by reconcile_comment_counts, nightly).
@firestore_fn.on_document_written(
    document="organizations/{org_id}/comments/{comment_id}", **deployment.background("scheduled")
)
@observed("on_comment_written")
def on_comment_written(event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]]) -> None:
    """Recount comment_count on the comment's target(s) (coalesced on busy targets); refuse one over the rate limit."""
    change = event.data
    before = change.before.to_dict() if change.before is not None and change.before.exists else None
    after = change.after.to_dict() if change.after is not None and change.after.exists else None
    bind(org_id=event.params["org_id"], comment_id=event.params["comment_id"])
    # The commit time of the write, when there is a document to carry it (a deletion always recounts).
    committed_at = change.after.update_time if after is not None and change.after is not None else None
    comment_counter().on_write(event.params["org_id"], event.params["comment_id"], before, after, committed_at)


@scheduler_fn.on_schedule(schedule="every 5 minutes", **deployment.scheduled("scheduled"))
@observed("sweep_comment_counts")
def sweep_comment_counts(event: scheduler_fn.ScheduledEvent) -> None:
    """Recount the targets of the last 15 minutes' comments (a lost trigger's count); each org isolated."""
    comment_counter().sweep().finish()


@scheduler_fn.on_schedule(
    schedule="every day 03:30",
    timezone=scheduler_fn.Timezone("UTC"),
    **deployment.scheduled("scheduled", timeout_sec=540),
)
@observed("reconcile_comment_counts")
def reconcile_comment_counts(event: scheduler_fn.ScheduledEvent) -> None:
    """Recount every counted target of every org (deleted comments included); each org isolated."""
    orgs = [org.id for org in firestore_client().collection("organizations").list_documents()]
    comment_counter().reconcile_all(orgs).finish()

"""Collaboration triggers: presence cleanup every 5 minutes, and comment counts kept on comment writes."""

from __future__ import annotations

import functools

from firebase_functions import firestore_fn, scheduler_fn

from adapters import deployment
from adapters.clients import firestore_client
from adapters.firestore_codec import utc_now
from collaboration import presence
from collaboration.comments import CommentCounter


@functools.cache
def comment_counter() -> CommentCounter:
    """The instance's comment counter."""
    return CommentCounter(firestore_client())


@scheduler_fn.on_schedule(schedule="every 5 minutes", **deployment.scheduled("scheduled"))
def expire_presence(event: scheduler_fn.ScheduledEvent) -> None:
    """Delete the expired presence heartbeats of every org (the TTL policy deletes them only within a day)."""
    presence.expire_presence(firestore_client(), utc_now())


@firestore_fn.on_document_written(document="organizations/{org_id}/comments/{comment_id}",
                                  **deployment.background("scheduled"))
def on_comment_written(event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]]) -> None:
    """Move comment_count on the comment's target: +1 when created, -1 when deleted, once per event."""
    change = event.data
    before = change.before.to_dict() if change.before is not None and change.before.exists else None
    after = change.after.to_dict() if change.after is not None and change.after.exists else None
    comment_counter().apply(event.params["org_id"], event.id, before, after)

"""Comment counts: each comment created or deleted moves `comment_count` on its target exactly once."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from google.cloud import firestore

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path, utc_now

log = logging.getLogger(__name__)

# Documents that show a comment count: the numbers dashboards discuss. Reference data (members,
# accounts, periods ...) is excluded on purpose: the rules pin those documents' exact shape, so a
# server-added field would make every later edit by an admin fail.
COUNTED_COLLECTIONS = frozenset({"financial_records", "aggregates", "kpis", "variance", "trends", "alerts"})
# Trigger event ids are remembered this long; Firestore redelivers within minutes, not days.
COMMENT_EVENT_TTL = timedelta(days=7)
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
    """Keeps comment_count on targets, exactly once per trigger event."""

    def __init__(self, db: firestore.Client):
        self._db = db

    def marker_ref(self, org_id: str, event_id: str) -> firestore.DocumentReference:
        """The exactly-once marker of one trigger event."""
        return self._db.document(f"{org_path(org_id)}/comment_events/{event_id}")

    def apply(self, org_id: str, event_id: str, before: Mapping[str, Any] | None,
              after: Mapping[str, Any] | None) -> bool:
        """Apply the count changes of one comment write; False if this event was applied before.

        The marker is read in the transaction that writes the counts (as AggregateStore.apply_once
        does), so a redelivered event changes nothing. Counts are read and written in the same
        transaction, so they never go below zero, and a target that does not exist (not created
        yet, or deleted) is left alone rather than created as a document with only a count.
        """
        changes = count_changes(org_id, before, after)
        if not changes:
            return False
        marker_ref = self.marker_ref(org_id, event_id)
        target_refs = [self._db.document(path) for path in sorted(changes)]

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> bool:
            snaps = {s.reference.path: s for s in transaction.get_all([marker_ref, *target_refs])}
            if snaps[marker_ref.path].exists:
                return False
            applied = []
            for ref in target_refs:
                snap = snaps[ref.path]
                if not snap.exists:
                    log.info("comment on %s not counted: the document does not exist", ref.path)
                    continue
                count = int((snap.to_dict() or {}).get("comment_count") or 0)
                transaction.update(ref, {"comment_count": max(0, count + changes[ref.path])})
                applied.append({"target_path": ref.path, "change": changes[ref.path]})
            transaction.set(marker_ref, {
                "changes": applied,
                "applied_at": firestore.SERVER_TIMESTAMP,
                "expires_at": utc_now() + COMMENT_EVENT_TTL,
            })
            return True

        with map_exceptions(f"counting comment event {event_id}"):
            return run(self._db.transaction(max_attempts=15))


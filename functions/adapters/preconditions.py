"""Writes that only land if a document is still as it was read: the commit half of compare-and-set.

Optimistic writers (folds, derived documents, metric series, alerts) read, plan, then commit with
`conditional_put` and `commit_or_lose_race` inside adapters.retry.compare_and_set, which reads and
plans again when another writer came first.
"""

from __future__ import annotations

from typing import Any

from google.cloud import firestore

from adapters.errors import LostRace, is_lost_race, map_exceptions


def conditional_put(
    db: firestore.Client,
    batch: firestore.WriteBatch,
    ref: firestore.DocumentReference,
    snap: firestore.DocumentSnapshot,
    body: dict[str, Any],
) -> None:
    """Write `body` only if the document is still as read: same update time, or still absent."""
    if snap.exists:
        batch.update(ref, body, option=db.write_option(last_update_time=snap.update_time))
    else:
        batch.create(ref, body)


def commit_or_lose_race(batch: firestore.WriteBatch, action: str) -> None:
    """Commit; LostRace when a precondition failed (another writer came first: read again)."""
    try:
        with map_exceptions(action):
            batch.commit()
    except Exception as exc:
        if is_lost_race(exc):
            raise LostRace(f"{action}: {exc}") from exc
        raise

"""Writes that only land if a document is still as it was read: the commit half of compare-and-set.

Optimistic writers (folds, derived documents, metric series, alerts) read, plan, then commit with
`conditional_put` and `commit_or_lose_race` inside adapters.retry.compare_and_set, which reads and
plans again when another writer came first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.field_path import FieldPath

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


def changed_fields(current: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `body` that differ from `current`, as update paths: a map is compared key by key.

    A write then sends only what moved: a metric series where one period changed rewrites the
    rows that changed, not its definitions, periods and every other row.
    """
    changed: dict[str, Any] = {}
    for name, value in body.items():
        before = current.get(name, _MISSING)
        if isinstance(value, Mapping) and isinstance(before, Mapping) and value and before:
            for key, item in value.items():
                if before.get(key, _MISSING) != item:
                    changed[FieldPath(name, str(key)).to_api_repr()] = item
            for key in before.keys() - value.keys():
                changed[FieldPath(name, str(key)).to_api_repr()] = firestore.DELETE_FIELD
        elif before != value or isinstance(value, type(firestore.SERVER_TIMESTAMP)):
            changed[FieldPath(name).to_api_repr()] = value
    return changed


def conditional_update(
    db: firestore.Client,
    batch: firestore.WriteBatch,
    ref: firestore.DocumentReference,
    snap: firestore.DocumentSnapshot,
    body: dict[str, Any],
    current: Mapping[str, Any] | None,
) -> None:
    """conditional_put that sends only the fields that differ from `current` (the document as read)."""
    if snap.exists and current is not None:
        batch.update(ref, changed_fields(current, body), option=db.write_option(last_update_time=snap.update_time))
    else:
        conditional_put(db, batch, ref, snap, body)


_MISSING = object()


def commit_or_lose_race(batch: firestore.WriteBatch, action: str) -> None:
    """Commit; LostRace when a precondition failed (another writer came first: read again)."""
    try:
        with map_exceptions(action):
            batch.commit()
    except Exception as exc:
        if is_lost_race(exc):
            raise LostRace(f"{action}: {exc}") from exc
        raise

"""Sharded documents on Firestore: blind increments into shards, and an idempotent compare-and-set fold.

The pattern of firebase/extensions firestore-counter: writers never read-modify-write the hot
document; they increment one of N shard documents. The readable document is rebuilt from a
consistent read of all shards and written only if it is newer (every shard's sequence number at
least the stored one) with an update-time precondition, so concurrent folds never move it back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.errors import map_exceptions
from adapters.preconditions import commit_or_lose_race, conditional_put
from adapters.retry import CONTENDED_WRITE, WriteHeld, compare_and_set
from adapters.settings import hot_document_interval
from adapters.shard_counters import shard_ref
from finance_core.aggregates import SHARD_SEQ_FIELD, dominates
from finance_core.debounce import hold_seconds
from google.cloud import firestore

log = logging.getLogger(__name__)

SEQ_FIELD = SHARD_SEQ_FIELD
READ_AT_FIELD = "shards_read_at"


Build = Callable[[dict[str, dict[str, Any]], dict[str, Any] | None], dict[str, Any]]
# Documents one commit writes at most (production Firestore accepts 500 writes per commit).
MAX_WRITES_PER_COMMIT = 400


def hold_if_written_recently(snapshots: Iterable[firestore.DocumentSnapshot], what: str) -> None:
    """Raise WriteHeld when any of these documents, about to be rewritten, was written less than the
    hot-document interval ago (adapters.settings.hot_document_interval).

    Every document a dashboard listens to costs each listener one read per write, so its writers
    pace themselves: the first change after a quiet interval is written at once (a lone event is not
    delayed), later ones wait for the interval's end and the write then takes everything folded so
    far. The held writer itself writes the trailing edge (compare_and_set runs it again after the
    hold), so no change waits for a later event; if another writer got there first, nothing is left
    to write. Compares the database's own times (update and read time of the same snapshot).
    """
    interval = hot_document_interval()
    seconds = max(
        (hold_seconds(snap.update_time if snap.exists else None, snap.read_time, interval) for snap in snapshots),
        default=0.0,
    )
    if seconds > 0:
        raise WriteHeld(seconds, what)


@dataclass(frozen=True)
class ShardedView:
    """A readable document, how many shards feed it, and how to build it from them."""

    ref: firestore.DocumentReference
    shard_count: int
    build: Build


def fold(
    db: firestore.Client,
    view_ref: firestore.DocumentReference,
    shard_count: int,
    build: Build,
    force: bool = False,
) -> dict[str, Any] | None:
    """Bring the readable document up to date with its shards; idempotent and safe to run concurrently.

    `build(shards, previous)` returns the readable document body from the shard documents (by
    shard id) and the previously stored body. Returns the body written, or None if the stored
    document already included everything this fold saw. `force` rewrites it anyway (repair).
    """
    return fold_many(db, [ShardedView(view_ref, shard_count, build)], force=force).get(view_ref.path)


def fold_many(db: firestore.Client, views: Sequence[ShardedView], force: bool = False) -> dict[str, dict[str, Any]]:
    """Fold many readable documents with one read of all their shards and one conditional commit.

    Each document is written only if its shards moved past what it shows, with its update time
    (or its absence) as precondition. When another fold wins a race on one of them, the commit
    fails as a whole and everything is read again: documents the other fold brought up to date
    are then skipped. Returns the bodies written, by document path.
    """
    written: dict[str, dict[str, Any]] = {}
    for start in range(0, len(views), MAX_WRITES_PER_COMMIT):
        written.update(_fold_group(db, views[start : start + MAX_WRITES_PER_COMMIT], force))
    return written


def _fold_group(db: firestore.Client, views: Sequence[ShardedView], force: bool) -> dict[str, dict[str, Any]]:
    refs = [ref for view in views for ref in (view.ref, *(shard_ref(view.ref, i) for i in range(view.shard_count)))]
    paths = ", ".join(view.ref.path for view in views[:3]) + (" ..." if len(views) > 3 else "")

    def attempt() -> dict[str, dict[str, Any]]:
        with map_exceptions(f"reading shards of {paths}"):
            snapshots = {snap.reference.path: snap for snap in db.get_all(refs)}
        batch = db.batch()
        planned: dict[str, dict[str, Any]] = {}
        stale = []
        for view in views:
            snap = snapshots[view.ref.path]
            shard_docs = {}
            for index in range(view.shard_count):
                shard = snapshots[shard_ref(view.ref, index).path]
                if shard.exists:
                    shard_docs[shard.reference.id] = shard.to_dict() or {}
            seq = {shard_id: int(doc.get("seq", 0)) for shard_id, doc in shard_docs.items()}
            previous = snap.to_dict() if snap.exists else None
            if not force and previous is not None and dominates(previous.get(SEQ_FIELD, {}), seq):
                continue
            stale.append((view, snap, shard_docs, seq, previous))
        hold_if_written_recently((snap for _, snap, *_ in stale), f"folding {paths}")
        for view, snap, shard_docs, seq, previous in stale:
            body = view.build(shard_docs, previous)
            body[SEQ_FIELD] = seq
            body["updated_at"] = firestore.SERVER_TIMESTAMP
            # The shards as of this time are what the document shows: a change applied (committed to
            # a shard) at or before it is visible (tools/visibility.py measures every event with it).
            body[READ_AT_FIELD] = snap.read_time
            conditional_put(db, batch, view.ref, snap, body)
            planned[view.ref.path] = body
        if planned:
            commit_or_lose_race(batch, f"writing {paths}")
        return planned

    return compare_and_set(attempt, CONTENDED_WRITE, what=f"folding {paths}")


@dataclass(frozen=True)
class DerivedDocument:
    """A document computed from sources whose versions only grow (see write_many_if_newer)."""

    ref: firestore.DocumentReference
    source_versions: Mapping[str, int]
    compute: Callable[[], dict[str, Any]]


def write_if_newer(
    db: firestore.Client,
    ref: firestore.DocumentReference,
    source_versions: Mapping[str, int],
    compute: Callable[[], dict[str, Any]],
) -> bool:
    """Write a derived document unless the stored one was computed from sources at least as new."""
    return bool(write_many_if_newer(db, [DerivedDocument(ref, source_versions, compute)]))


def write_many_if_newer(db: firestore.Client, documents: Sequence[DerivedDocument]) -> list[str]:
    """Write each derived document unless the stored one was computed from sources at least as new.

    `source_versions` maps each source document to a number that only grows (the sum of its shard
    sequence numbers); the comparison is the same dominance test as the fold's. One read of all
    the documents and one conditional commit; a lost race reads again. Returns the paths written.
    """
    written: list[str] = []
    for start in range(0, len(documents), MAX_WRITES_PER_COMMIT):
        group = documents[start : start + MAX_WRITES_PER_COMMIT]
        paths = ", ".join(doc.ref.path for doc in group[:3]) + (" ..." if len(group) > 3 else "")

        def attempt(group: Sequence[DerivedDocument] = group, paths: str = paths) -> list[str]:
            # Only the versions decide: the rest of a stored document is not read (nor decoded).
            with map_exceptions(f"reading {paths}"):
                snapshots = {
                    snap.reference.path: snap
                    for snap in db.get_all([doc.ref for doc in group], field_paths=["source_versions"])
                }
            batch = db.batch()
            planned = []
            stale = []
            for doc in group:
                current = snapshots[doc.ref.path]
                stored = (current.to_dict() or {}).get("source_versions", {}) if current.exists else {}
                if current.exists and stored and dominates(stored, doc.source_versions):
                    continue
                stale.append((doc, current))
            hold_if_written_recently((current for _, current in stale), f"writing {paths}")
            for doc, current in stale:
                body = doc.compute()
                body["source_versions"] = dict(doc.source_versions)
                body["updated_at"] = firestore.SERVER_TIMESTAMP
                conditional_put(db, batch, doc.ref, current, body)
                planned.append(doc.ref.path)
            if planned:
                commit_or_lose_race(batch, f"writing {paths}")
            return planned

        written += compare_and_set(attempt, CONTENDED_WRITE, what=f"writing {paths}")
    return written

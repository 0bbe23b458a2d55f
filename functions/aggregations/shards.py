"""Sharded documents on Firestore: blind increments into shards, and an idempotent compare-and-set fold.

The pattern of firebase/extensions firestore-counter: writers never read-modify-write the hot
document; they increment one of N shard documents. The readable document is rebuilt from a
consistent read of all shards and written only if it is newer (every shard's sequence number at
least the stored one) with an update-time precondition, so concurrent folds never move it back.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from google.cloud import firestore

from adapters.errors import TransientError, is_lost_race, map_exceptions
from finance_core.aggregates import dominates

log = logging.getLogger(__name__)

SEQ_FIELD = "shard_seq"
MAX_FOLD_ATTEMPTS = 25


def shard_index(key: str, shard_count: int) -> int:
    """Stable shard of a writer key (a change id spreads writes evenly)."""
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % shard_count


def shard_ref(view_ref: firestore.DocumentReference, index: int) -> firestore.DocumentReference:
    """Reference of one shard of a readable document."""
    return view_ref.collection("shards").document(f"{index:03d}")


def increment_body(counters: Mapping[str, Any]) -> dict[str, Any]:
    """Turn nested int counters into Increment transforms, plus the shard's sequence bump."""

    def convert(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: convert(v) for k, v in value.items()}
        return firestore.Increment(int(value))

    body = {k: convert(v) for k, v in counters.items()}
    body["seq"] = firestore.Increment(1)
    return body


def fold(
    db: firestore.Client,
    view_ref: firestore.DocumentReference,
    shard_count: int,
    build: Callable[[dict[str, dict[str, Any]], dict[str, Any] | None], dict[str, Any]],
    force: bool = False,
) -> dict[str, Any] | None:
    """Bring the readable document up to date with its shards; idempotent and safe to run concurrently.

    `build(shards, previous)` returns the readable document body from the shard documents (by
    shard id) and the previously stored body. Returns the body written, or None if the stored
    document already included everything this fold saw. `force` rewrites it anyway (repair).
    """
    refs = [view_ref] + [shard_ref(view_ref, i) for i in range(shard_count)]
    for _ in range(MAX_FOLD_ATTEMPTS):
        with map_exceptions(f"reading shards of {view_ref.path}"):
            snapshots = {snap.reference.path: snap for snap in db.get_all(refs)}
        view = snapshots[view_ref.path]
        shards = {
            ref.id: snapshots[ref.path].to_dict() or {} for ref in refs[1:] if snapshots[ref.path].exists
        }
        seq = {shard_id: int(doc.get("seq", 0)) for shard_id, doc in shards.items()}
        previous = view.to_dict() if view.exists else None
        if not force and previous is not None and dominates(previous.get(SEQ_FIELD, {}), seq):
            return None
        body = build(shards, previous)
        body[SEQ_FIELD] = seq
        body["updated_at"] = firestore.SERVER_TIMESTAMP
        try:
            with map_exceptions(f"writing {view_ref.path}"):
                if previous is None:
                    view_ref.create(body)
                else:
                    view_ref.update(body, option=db.write_option(last_update_time=view.update_time))
            return body
        except TransientError as exc:
            # A failed precondition surfaces as a permanent API error; contention as transient.
            log.debug("fold of %s retried: %s", view_ref.path, exc)
        except Exception as exc:  # noqa: BLE001 - only the CAS races are expected here
            if is_lost_race(exc):
                continue
            raise
    raise TransientError(f"could not fold {view_ref.path} after {MAX_FOLD_ATTEMPTS} attempts (heavy contention)")


def write_if_newer(
    db: firestore.Client,
    ref: firestore.DocumentReference,
    source_versions: Mapping[str, int],
    compute: Callable[[], dict[str, Any]],
) -> bool:
    """Write a derived document unless the stored one was computed from sources at least as new.

    `source_versions` maps each source document to a number that only grows (the sum of its shard
    sequence numbers); the comparison is the same dominance test as the fold's.
    """
    for _ in range(MAX_FOLD_ATTEMPTS):
        with map_exceptions(f"reading {ref.path}"):
            current = ref.get()
        stored = (current.to_dict() or {}).get("source_versions", {}) if current.exists else {}
        if current.exists and dominates(stored, source_versions) and stored:
            return False
        body = compute()
        body["source_versions"] = dict(source_versions)
        body["updated_at"] = firestore.SERVER_TIMESTAMP
        try:
            with map_exceptions(f"writing {ref.path}"):
                if current.exists:
                    ref.update(body, option=db.write_option(last_update_time=current.update_time))
                else:
                    ref.create(body)
            return True
        except Exception as exc:  # noqa: BLE001
            if is_lost_race(exc) or isinstance(exc, TransientError):
                continue
            raise
    raise TransientError(f"could not write {ref.path} after {MAX_FOLD_ATTEMPTS} attempts (heavy contention)")

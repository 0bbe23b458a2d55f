"""Sharded counters on Firestore: writers increment one of N shard documents, never a hot readable one.

The pattern of Firebase's distributed counters (and of firebase/extensions firestore-counter):
a writer picks a shard from a key of its own (a change id spreads writes evenly) and adds to it
with Increment transforms, without reading anything, so concurrent writers never contend. The
aggregates fold their shards into readable documents (aggregations.shards); the data-quality
counters are summed where they are read (adapters.data_quality).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from google.cloud import firestore


def shard_index(key: str, shard_count: int) -> int:
    """Stable shard of a writer key (a change id spreads writes evenly)."""
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % shard_count


def shard_ref(view_ref: firestore.DocumentReference, index: int) -> firestore.DocumentReference:
    """Reference of one shard of a readable document."""
    return view_ref.collection("shards").document(f"{index:03d}")


def increment_body(counters: Mapping[str, Any]) -> dict[str, Any]:
    """Turn nested int counters into Increment transforms, plus the shard's sequence bump.

    Empty maps are left out: in a merge, an empty map is a value, and it would replace the shard's
    whole map (a change of one day's amount with no change of its record count would wipe every
    day's count, a new zero-amount record every account total).
    """

    def convert(value: Any) -> Any:
        """Increments of a counter or a map of counters; None for a map with nothing in it."""
        if not isinstance(value, Mapping):
            return firestore.Increment(int(value))
        converted = {k: c for k, c in ((k, convert(v)) for k, v in value.items()) if c is not None}
        return converted or None

    body = {k: c for k, c in ((k, convert(v)) for k, v in counters.items()) if c is not None}
    body["seq"] = firestore.Increment(1)
    return body

"""Shard increments: a map with nothing to add is left out, so a merge never replaces a shard's map with {}."""

from __future__ import annotations

from adapters.shard_counters import increment_body
from google.cloud import firestore


def test_empty_maps_are_left_out_and_counters_become_increments():
    body = increment_body({"accounts": {}, "record_count": 1, "days": {"05": {}, "06": {"4100": 5}}, "day_counts": {}})
    assert set(body) == {"record_count", "days", "seq"}, "an empty map in a merge would wipe the stored one"
    assert set(body["days"]) == {"06"}
    assert isinstance(body["days"]["06"]["4100"], firestore.Increment)
    assert isinstance(body["record_count"], firestore.Increment) and isinstance(body["seq"], firestore.Increment)

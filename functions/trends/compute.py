"""Computes an org's consolidated actual trends from the aggregate shards and writes the trends/* documents."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.reference_store import ReferenceStore
from adapters.shard_counters import shard_ref
from aggregations.store import AggregateStore
from finance_core.aggregates import AggregateKey, fold_shards
from finance_core.identifiers import CONSOLIDATED_ENTITY
from finance_core.trend_series import trend_documents
from google.cloud import firestore

log = logging.getLogger(__name__)

_BATCH_WRITES = 400


def _unchanged(stored: Mapping[str, Any] | None, body: Mapping[str, Any]) -> bool:
    """True when every field this computer writes already has that value (others' fields are ignored)."""
    return stored is not None and all(stored.get(key) == value for key, value in body.items())


class TrendComputer:
    """Reads the consolidated actual shards of every period and rewrites the trend documents that changed.

    The shards, not the readable aggregates, are read: a change is in the shards before its
    message is published, while the readable documents are folded by another consumer of the
    same message and may not include it yet.
    """

    def __init__(self, db: firestore.Client, references: ReferenceStore, shard_count: int, horizon: int = 3):
        self._db = db
        self._references = references
        self._shard_count = shard_count
        self._aggregates = AggregateStore(db, shard_count)
        self._horizon = horizon

    def totals(self, org_id: str, periods: list[str]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """Consolidated actual account totals and live record counts per period, from the shards."""
        keys = {period: AggregateKey(CONSOLIDATED_ENTITY, period, "actual") for period in periods}
        refs = {
            shard_ref(self._aggregates.view_ref(org_id, key), i).path: period
            for period, key in keys.items()
            for i in range(self._shard_count)
        }
        grouped: dict[str, dict[str, dict[str, Any]]] = {period: {} for period in periods}
        with map_exceptions(f"reading the actual shards of {org_id}"):
            for snapshot in self._db.get_all([self._db.document(path) for path in refs]):
                if snapshot.exists:
                    grouped[refs[snapshot.reference.path]][snapshot.id] = snapshot.to_dict() or {}
        totals, counts = {}, {}
        for period, shard_docs in grouped.items():
            folded = fold_shards(shard_docs)
            totals[period] = folded.accounts
            counts[period] = folded.record_count
        return totals, counts

    def compute(self, org_id: str) -> int:
        """Rewrite the org's trend documents from the current shards; returns how many changed."""
        reference = self._references.get(org_id)
        if reference is None:
            return 0
        totals, counts = self.totals(org_id, sorted(reference.period_status))
        documents = trend_documents(totals, counts, reference.chart, reference.reporting_currency, self._horizon)
        collection = self._db.collection(f"{org_path(org_id)}/trends")
        with map_exceptions(f"reading the trends of {org_id}"):
            stored = {s.id: s.to_dict() for s in collection.stream()}
        writes: list[tuple[str, dict[str, Any] | None]] = [
            (doc_id, body) for doc_id, body in documents.items() if not _unchanged(stored.get(doc_id), body)
        ]
        # A line whose actuals were all deleted has no trend any more; documents written by
        # anything else (no `kind`) are left alone.
        writes += [
            (doc_id, None)
            for doc_id, doc in stored.items()
            if doc_id not in documents and (doc or {}).get("kind") in ("account", "metric")
        ]
        for start in range(0, len(writes), _BATCH_WRITES):
            batch = self._db.batch()
            for doc_id, body in writes[start : start + _BATCH_WRITES]:
                if body is None:
                    batch.delete(collection.document(doc_id))
                else:
                    # Merge: other writers own fields of these documents too (comment_count).
                    batch.set(
                        collection.document(doc_id), {**body, "computed_at": firestore.SERVER_TIMESTAMP}, merge=True
                    )
            with map_exceptions(f"writing the trends of {org_id}"):
                batch.commit()
        return len(writes)

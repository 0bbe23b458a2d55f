"""Aggregate documents on Firestore: exactly-once delta application to shards and the readable fold."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from google.cloud import firestore

from adapters.errors import map_exceptions
from adapters.firestore_codec import metric_values, org_path, utc_now
from aggregations import shards
from finance_core.accounts import ChartOfAccounts
from finance_core.aggregates import AggregateDelta, AggregateKey, build_view, fold_shards
from finance_core.metrics import MetricGraph

# Trigger event ids are remembered this long; Firestore redelivers within minutes, not weeks.
APPLIED_CHANGE_TTL = timedelta(days=7)


class AggregateStore:
    """Applies record deltas to sharded aggregates exactly once and folds them into readable documents."""

    def __init__(self, db: firestore.Client, shard_count: int, graph: MetricGraph | None = None):
        self._db = db
        self._shards = shard_count
        self._graph = graph or MetricGraph()

    def view_ref(self, org_id: str, key: AggregateKey) -> firestore.DocumentReference:
        """The readable aggregate document of a key."""
        return self._db.document(f"{org_path(org_id)}/aggregates/{key.doc_id}")

    def marker_ref(self, org_id: str, change_id: str) -> firestore.DocumentReference:
        """The exactly-once marker (and outbox entry) of one change."""
        return self._db.document(f"{org_path(org_id)}/applied_changes/{change_id}")

    def apply_once(
        self,
        org_id: str,
        change_id: str,
        deltas: Mapping[AggregateKey, AggregateDelta],
        outbox: Mapping[str, Any] | None = None,
    ) -> bool:
        """Add the deltas to one shard per key and record the change id, in one transaction.

        Returns False if the change was applied before (a redelivered trigger event): the marker
        is read in the same transaction that writes the increments, so it is exactly once.
        Shards are only incremented (never read), so writers of one hot key do not contend.
        `outbox` (the change message) is stored on the marker with published=False, so a message
        lost after the commit is still published later by the outbox sweep.
        """
        marker_ref = self.marker_ref(org_id, change_id)
        shard = shards.shard_index(change_id, self._shards)

        @firestore.transactional
        def run(transaction: firestore.Transaction) -> bool:
            if marker_ref.get(transaction=transaction).exists:
                return False
            for key, delta in deltas.items():
                body = shards.increment_body({"accounts": delta.accounts, "record_count": delta.record_count})
                transaction.set(shards.shard_ref(self.view_ref(org_id, key), shard), body, merge=True)
            marker: dict[str, Any] = {
                "keys": sorted(key.doc_id for key in deltas),
                "applied_at": firestore.SERVER_TIMESTAMP,
                "expires_at": utc_now() + APPLIED_CHANGE_TTL,
            }
            if outbox is not None:
                marker.update({"outbox": dict(outbox), "published": False})
            transaction.set(marker_ref, marker)
            return True

        with map_exceptions(f"applying change {change_id} to aggregates"):
            return run(self._db.transaction(max_attempts=15))

    def fold(
        self,
        org_id: str,
        key: AggregateKey,
        chart: ChartOfAccounts,
        currency: str,
        force: bool = False,
        last_event_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Refresh the readable aggregate of `key` from its shards (no-op if already current unless forced)."""

        def build(shard_docs: dict[str, dict[str, Any]], previous: dict[str, Any] | None) -> dict[str, Any]:
            totals = fold_shards(shard_docs)
            # A forced fold repairs a damaged readable document: recompute everything from the shards.
            trusted = None if force else previous
            view = build_view(
                totals,
                chart,
                self._graph,
                previous_metrics=(trusted or {}).get("metrics"),
                previous_totals_by_type=(trusted or {}).get("totals_by_type"),
            )
            return {
                "entity_id": key.entity_id,
                "period": key.period,
                "scenario": key.scenario,
                "currency": currency,
                "accounts": view.accounts,
                "rollups": view.rollups,
                "metrics": metric_values(view.metrics),
                "totals_by_type": view.totals_by_type,
                "record_count": view.record_count,
                # The event whose change triggered this fold: lets dashboards measure lag.
                "last_event_id": last_event_id,
            }

        return shards.fold(self._db, self.view_ref(org_id, key), self._shards, build, force=force)

    def shard_totals(self, org_id: str, key: AggregateKey) -> AggregateDelta:
        """Sum of the shards of a key, read consistently (what the readable document should show)."""
        refs = [shards.shard_ref(self.view_ref(org_id, key), i) for i in range(self._shards)]
        with map_exceptions(f"reading shards of {key.doc_id}"):
            docs = {s.reference.id: s.to_dict() or {} for s in self._db.get_all(refs) if s.exists}
        totals = fold_shards(docs)
        return AggregateDelta(dict(totals.accounts), totals.record_count)

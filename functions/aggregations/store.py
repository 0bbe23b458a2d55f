"""Aggregate documents on Firestore: exactly-once delta application to shards and the readable fold."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from adapters.errors import PermanentError, is_lost_race, map_exceptions
from adapters.firestore_codec import metric_values, org_path, utc_now
from adapters.shard_counters import increment_body, shard_index, shard_ref
from finance_core.accounts import ChartOfAccounts
from finance_core.aggregates import AggregateDelta, AggregateKey, build_view, fold_shards
from finance_core.days import day_fields
from finance_core.dimensions import DimensionKey
from finance_core.metrics import MetricGraph
from google.cloud import firestore

from aggregations import shards

# Change ids are remembered this long; Firestore redelivers a trigger event within hours, not weeks.
APPLIED_CHANGE_TTL = timedelta(days=7)
# Documents one commit may write (the shards' limit), for callers that size their commits.
MAX_WRITES_PER_COMMIT = shards.MAX_WRITES_PER_COMMIT


class AggregateStore:
    """Applies record deltas to sharded aggregates exactly once and folds them into readable documents."""

    def __init__(self, db: firestore.Client, shard_count: int, graph: MetricGraph | None = None):
        self._db = db
        self._shards = shard_count
        self._graph = graph or MetricGraph()

    def view_ref(self, org_id: str, key: AggregateKey) -> firestore.DocumentReference:
        """The readable aggregate document of a key."""
        return self._db.document(f"{org_path(org_id)}/aggregates/{key.doc_id}")

    def dimension_ref(self, org_id: str, key: DimensionKey) -> firestore.DocumentReference:
        """The readable aggregate document of one dimension value (docs/kpis.md, Dimensions)."""
        return self._db.document(f"{org_path(org_id)}/dimension_aggregates/{key.doc_id}")

    def marker_ref(self, org_id: str, change_id: str) -> firestore.DocumentReference:
        """The exactly-once marker (and outbox entry) of one change."""
        return self._db.document(f"{org_path(org_id)}/applied_changes/{change_id}")

    def apply_once(
        self,
        org_id: str,
        change_id: str,
        deltas: Mapping[AggregateKey, AggregateDelta],
        dimension_deltas: Mapping[DimensionKey, AggregateDelta] | None = None,
    ) -> bool:
        """Add the deltas to one shard per key and record the change id, in one atomic commit.

        Returns False if the change was applied before: the commit creates the change's marker
        (`applied_changes/{change_id}`), which fails if it exists, and the increments commit with
        it or not at all. Used for reconciliation's corrections, whose ids are deterministic.
        """
        batch = self._db.batch()
        batch.create(
            self.marker_ref(org_id, change_id),
            {
                "keys": sorted([key.doc_id for key in deltas] + [key.doc_id for key in dimension_deltas or {}]),
                "applied_at": firestore.SERVER_TIMESTAMP,
                "expires_at": utc_now() + APPLIED_CHANGE_TTL,
            },
        )
        self._add_to_shards(batch, org_id, change_id, deltas, dimension_deltas)
        return self._commit_unless_applied(batch, f"applying change {change_id} to aggregates")

    def apply_change_documents(
        self,
        change_ref: firestore.DocumentReference,
        read_at_update_time: Any,
        deltas: Mapping[AggregateKey, AggregateDelta],
        merged: Mapping[str, Any] | None = None,
        dimension_deltas: Mapping[DimensionKey, AggregateDelta] | None = None,
        dimensions_deferred: bool = False,
    ) -> bool:
        """Apply change documents' summed deltas once: the increments commit with their new states.

        The deltas per dimension value (`dimension_deltas`) go to the shards of their own
        documents in the same commit, so they are applied exactly when the base deltas are; or,
        when they do not fit, `dimensions_deferred` marks the document so they follow in parts.

        `change_ref` becomes 'applied' (listing the documents merged into it) and each document of
        `merged` (change id -> update time as read, same org) becomes 'merged'. Every state update
        carries the document's update time as read (still 'pending') as precondition, so a second
        application of any of them (a redelivered trigger event, the outbox sweep racing the
        trigger, another invocation taking the same late document) fails as a whole and returns
        False. Nothing is read and no lock is taken: writers of one hot key only add to shards.
        """
        merged = dict(merged or {})
        org_id = change_ref.parent.parent.id
        batch = self._db.batch()
        state = {
            "state": "applied",
            "applied_at": firestore.SERVER_TIMESTAMP,
            "keys": sorted(key.doc_id for key in deltas),
            "merged": sorted(merged),
        }
        if dimensions_deferred:
            state["dimensions_deferred"] = True
        batch.update(change_ref, state, option=self._db.write_option(last_update_time=read_at_update_time))
        for change_id, update_time in merged.items():
            batch.update(
                change_ref.parent.document(change_id),
                {"state": "merged", "merged_into": change_ref.id, "applied_at": firestore.SERVER_TIMESTAMP},
                option=self._db.write_option(last_update_time=update_time),
            )
        self._add_to_shards(batch, org_id, change_ref.id, deltas, dimension_deltas or {})
        return self._commit_unless_applied(batch, f"applying {change_ref.path} to aggregates")

    def _add_to_shards(
        self,
        batch: firestore.WriteBatch,
        org_id: str,
        spread_key: str,
        deltas: Mapping[AggregateKey, AggregateDelta],
        dimension_deltas: Mapping[DimensionKey, AggregateDelta] | None = None,
    ) -> None:
        # One shard per change (chosen from its id): shards are only incremented, never read.
        shard = shard_index(spread_key, self._shards)
        targets = [(self.view_ref(org_id, key), delta) for key, delta in deltas.items()]
        targets += [(self.dimension_ref(org_id, key), delta) for key, delta in (dimension_deltas or {}).items()]
        for ref, delta in targets:
            body = increment_body(delta.counters())
            batch.set(shard_ref(ref, shard), body, merge=True)

    @staticmethod
    def _commit_unless_applied(batch: firestore.WriteBatch, action: str) -> bool:
        try:
            with map_exceptions(action):
                batch.commit()
        except PermanentError as exc:
            if is_lost_race(exc):
                return False
            raise
        return True

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
        view = self._sharded_view(self.view_ref(org_id, key), _identity(key), chart, currency, force, last_event_id)
        return shards.fold(self._db, view.ref, view.shard_count, view.build, force=force)

    def fold_many(
        self,
        org_id: str,
        keys: Iterable[AggregateKey],
        chart: ChartOfAccounts,
        currency: str,
        last_event_id: str | None = None,
    ) -> dict[AggregateKey, dict[str, Any]]:
        """Refresh the readable aggregates of many keys with one read and one conditional commit.

        Returns those written.
        """
        keys = sorted(set(keys))
        views = [
            self._sharded_view(self.view_ref(org_id, key), _identity(key), chart, currency, False, last_event_id)
            for key in keys
        ]
        written = shards.fold_many(self._db, views)
        return {key: written[view.ref.path] for key, view in zip(keys, views, strict=True) if view.ref.path in written}

    def fold_dimensions(
        self,
        org_id: str,
        keys: Iterable[DimensionKey],
        chart: ChartOfAccounts,
        currency: str,
        last_event_id: str | None = None,
        force: bool = False,
    ) -> dict[DimensionKey, dict[str, Any]]:
        """Refresh the readable aggregates of dimension values the same way (one read, one conditional commit)."""
        keys = sorted(set(keys))
        views = [
            self._sharded_view(self.dimension_ref(org_id, key), _identity(key), chart, currency, force, last_event_id)
            for key in keys
        ]
        written = shards.fold_many(self._db, views, force=force)
        return {key: written[view.ref.path] for key, view in zip(keys, views, strict=True) if view.ref.path in written}

    def _sharded_view(
        self,
        ref: firestore.DocumentReference,
        identity: dict[str, str],
        chart: ChartOfAccounts,
        currency: str,
        force: bool,
        last_event_id: str | None,
    ) -> shards.ShardedView:
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
                **identity,
                "currency": currency,
                "accounts": view.accounts,
                "rollups": view.rollups,
                "metrics": metric_values(view.metrics),
                "totals_by_type": view.totals_by_type,
                "record_count": view.record_count,
                # The dated part of the month, by day (finance_core.days): folded with it, never apart.
                **day_fields(totals, chart),
                # The last event of the change that triggered this fold: lets dashboards measure lag.
                "last_event_id": last_event_id,
            }

        return shards.ShardedView(ref, self._shards, build)

    def shard_totals(self, org_id: str, key: AggregateKey | DimensionKey) -> AggregateDelta:
        """Sum of the shards of a key, read consistently (what the readable document should show)."""
        ref = self.dimension_ref(org_id, key) if isinstance(key, DimensionKey) else self.view_ref(org_id, key)
        refs = [shard_ref(ref, i) for i in range(self._shards)]
        with map_exceptions(f"reading shards of {key.doc_id}"):
            docs = {s.reference.id: s.to_dict() or {} for s in self._db.get_all(refs) if s.exists}
        return fold_shards(docs).delta()


def _identity(key: AggregateKey | DimensionKey) -> dict[str, str]:
    """The fields that say which aggregate a readable document is (queried by dashboards)."""
    identity = {"entity_id": key.entity_id, "period": key.period, "scenario": key.scenario}
    if isinstance(key, DimensionKey):
        identity = {"dimension": key.dimension, "value": key.value, **identity}
    return identity

"""Metric series documents (`metric_series/{entity}__{scenario}`): every metric at every period, kept incrementally.

A series document holds, for one entity (or `_all`) and one scenario, the value of every active
metric (built-in and defined) at every period of the org, the closing position of every
balance-sheet account, and the hidden cells the calculation graph needs to continue from where it
stopped. After a change, the refresh reads the series documents the changed keys belong to and
those keys' readable aggregates in one round trip, recomputes only the cells downstream of what
moved (finance_core.metric_series), and writes each document with an update-time precondition;
`source_versions` (the aggregates' shard sequence sums it includes) make a late or repeated
refresh a no-op. A document computed with other definitions, another chart or another calendar
is rebuilt from all the aggregates of its series.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.preconditions import commit_or_lose_race, conditional_put, conditional_update
from adapters.retry import CONTENDED_WRITE, compare_and_set
from finance_core.aggregates import SHARD_SEQ_FIELD, AggregateKey, aggregate_version
from finance_core.metric_rows import series_id, stored_value
from finance_core.metric_series import MetricSet, Unit, Value
from finance_core.reference import OrgReference
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from aggregations.definitions import DefinitionStore
from aggregations.shards import hold_if_written_recently

log = logging.getLogger(__name__)

SERIES = "metric_series"
Progress = Callable[[int, int], None]
# Adds writes to the commit of a series refresh (given the ids of the series it writes): what must
# be written exactly when the series are (the view refresh's note on its change document).
AlsoWrite = Callable[[firestore.WriteBatch, list[str]], None]


@dataclass(frozen=True)
class SeriesWrite:
    """One series document written: its id and its body before (None: new) and after."""

    series_id: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any]


def _public(value: Value) -> int | float | None:
    return float(value) if isinstance(value, Decimal) else value


def _stored(value: Value) -> int | str | None:
    # Hidden cells keep exact values: decimals as text (a float would not give the same digits back).
    return str(value) if isinstance(value, Decimal) else value


class MetricSeriesStore:
    """Reads, updates and rebuilds the metric series documents of an org."""

    def __init__(self, db: firestore.Client, definitions: DefinitionStore):
        self._db = db
        self._definitions = definitions

    @property
    def definitions(self) -> DefinitionStore:
        """The compiled definitions this store computes with (shared with the definition trigger, which
        invalidates it when the active set changes)."""
        return self._definitions

    def ref(self, org_id: str, entity_id: str, scenario: str) -> firestore.DocumentReference:
        """The series document of an entity and scenario."""
        return self._db.document(f"{org_path(org_id)}/{SERIES}/{series_id(entity_id, scenario)}")

    # refresh after a change ---------------------------------------------------------------------

    def refresh(
        self,
        org_id: str,
        reference: OrgReference,
        keys: Iterable[AggregateKey],
        also: AlsoWrite | None = None,
    ) -> list[SeriesWrite]:
        """Bring the series of the changed keys up to date: one read, one conditional commit; returns what it wrote.

        `also` adds writes to that commit (never called when nothing is written)."""
        by_series: dict[tuple[str, str], list[AggregateKey]] = {}
        for key in keys:
            by_series.setdefault((key.entity_id, key.scenario), []).append(key)
        if not by_series or not reference.period_status:
            return []
        metric_set, revision = self._definitions.metric_set(org_id, reference)
        org = self._db.document(org_path(org_id))
        series_refs = {s: self.ref(org_id, *s) for s in by_series}
        key_refs = {k: org.collection("aggregates").document(k.doc_id) for ks in by_series.values() for k in ks}

        def attempt() -> list[SeriesWrite]:
            nonlocal metric_set, revision
            with map_exceptions(f"reading metric series of {org_id}"):
                snaps = {
                    snap.reference.path: snap for snap in self._db.get_all([*series_refs.values(), *key_refs.values()])
                }
            # Decoded once: a series document is the largest thing the refresh reads.
            stored = {r.path: snaps[r.path].to_dict() for r in series_refs.values() if snaps[r.path].exists}
            stored_revision = max((int((body or {}).get("revision", 0)) for body in stored.values()), default=0)
            if stored_revision > revision:
                # Another instance already works with newer definitions: use them too.
                metric_set, revision = self._definitions.metric_set(org_id, reference, at_least=stored_revision)
            elif not all(snaps[r.path].exists for r in series_refs.values()):
                # A new series has no stored revision to tell a cached set is stale (a definition saved
                # within the cache's TTL would be missing from it until its next change): read the
                # active set once more. New series are rare (an entity and scenario's first records).
                metric_set, revision = self._definitions.metric_set(org_id, reference, reread=True)
            batch = self._db.batch()
            written: list[SeriesWrite] = []
            updates = []
            for series, series_keys in sorted(by_series.items()):
                current = stored.get(series_refs[series].path)
                aggregates = {
                    k: (snaps[key_refs[k].path].to_dict() if snaps[key_refs[k].path].exists else None)
                    for k in series_keys
                }
                body = self._updated(org_id, reference, metric_set, revision, series, current, aggregates)
                if body is not None:
                    updates.append((series, snaps[series_refs[series].path], current, body))
            hold_if_written_recently((snap for _, snap, _, _ in updates), f"writing metric series of {org_id}")
            for series, snap, current, body in updates:
                # Only what moved is sent: the definitions, the periods and the rows a change did not
                # reach stay as they are.
                conditional_update(self._db, batch, series_refs[series], snap, body, current)
                written.append(SeriesWrite(series_id(*series), current, body))
            if written:
                if also is not None:
                    also(batch, [w.series_id for w in written])
                commit_or_lose_race(batch, f"writing metric series of {org_id}")
            return written

        return compare_and_set(attempt, CONTENDED_WRITE, what=f"writing metric series of {org_id}")

    def _updated(
        self,
        org_id: str,
        reference: OrgReference,
        metric_set: MetricSet,
        revision: int,
        series: tuple[str, str],
        current: dict[str, Any] | None,
        aggregates: Mapping[AggregateKey, dict[str, Any] | None],
    ) -> dict[str, Any] | None:
        """The new body of a series document, or None when it already includes these aggregates."""
        if current is None or current.get("fingerprint") != metric_set.fingerprint:
            if current is not None and int(current.get("revision", 0)) > revision:
                return None
            body = self.build(org_id, reference, metric_set, revision, *series)
            if current is not None:
                # Versions only grow: the BigQuery rows of a series (metric_values) are ranked by them.
                body["version"] = int(current.get("version", 0)) + 1
            return body
        versions = dict(current.get("source_versions") or {})
        values = self._values(metric_set, current)
        moved = False
        for key, document in sorted(aggregates.items()):
            version = aggregate_version(document)
            if version <= int(versions.get(key.doc_id, -1)) or key.period not in metric_set.calendar.index:
                continue
            accounts = {k: int(v) for k, v in ((document or {}).get("accounts") or {}).items()}
            metric_set.update(values, key.period, accounts)
            versions[key.doc_id] = version
            moved = True
        if not moved:
            return None
        return self._body(reference, metric_set, revision, series, values, versions, int(current.get("version", 0)) + 1)

    # full rebuild -------------------------------------------------------------------------------

    def build(
        self, org_id: str, reference: OrgReference, metric_set: MetricSet, revision: int, entity_id: str, scenario: str
    ) -> dict[str, Any]:
        """A series document computed from every aggregate of the series (one query)."""
        query = (
            self._db.collection(f"{org_path(org_id)}/aggregates")
            .where(filter=FieldFilter("entity_id", "==", entity_id))
            .where(filter=FieldFilter("scenario", "==", scenario))
            .select(["period", "accounts", SHARD_SEQ_FIELD])
        )
        with map_exceptions(f"reading the aggregates of {org_id} {entity_id} {scenario}"):
            documents = [snap.to_dict() or {} for snap in query.stream()]
        inputs = {str(d.get("period")): {k: int(v) for k, v in (d.get("accounts") or {}).items()} for d in documents}
        versions = {
            AggregateKey(entity_id, str(d.get("period")), scenario).doc_id: aggregate_version(d) for d in documents
        }
        values = metric_set.full(inputs)
        return self._body(reference, metric_set, revision, (entity_id, scenario), values, versions, 1)

    def rebuild_org(self, org_id: str, reference: OrgReference, progress: Progress | None = None) -> list[SeriesWrite]:
        """Recompute every series of an org with its current definitions (after a definition change); returns the
        series written, with their bodies before and after."""
        metric_set, revision = self._definitions.metric_set(org_id, reference, at_least=0)
        query = self._db.collection(f"{org_path(org_id)}/aggregates").select(["entity_id", "scenario"])
        with map_exceptions(f"listing the aggregates of {org_id}"):
            series = sorted({(str(s.get("entity_id")), str(s.get("scenario"))) for s in query.stream()})
        written: list[SeriesWrite] = []
        for done, (entity_id, scenario) in enumerate(series, 1):
            ref = self.ref(org_id, entity_id, scenario)

            def attempt(
                ref: firestore.DocumentReference = ref, entity_id: str = entity_id, scenario: str = scenario
            ) -> SeriesWrite | None:
                with map_exceptions(f"reading {ref.path}"):
                    snap = ref.get()
                current = snap.to_dict() if snap.exists else None
                if current is not None and int(current.get("revision", 0)) > revision:
                    return None
                body = self.build(org_id, reference, metric_set, revision, entity_id, scenario)
                if current is not None:
                    body["version"] = int(current.get("version", 0)) + 1
                batch = self._db.batch()
                conditional_put(self._db, batch, ref, snap, body)
                commit_or_lose_race(batch, f"rebuilding {ref.path}")
                return SeriesWrite(series_id(entity_id, scenario), current, body)

            write = compare_and_set(attempt, CONTENDED_WRITE, what=f"rebuilding {ref.path}")
            if write is not None:
                written.append(write)
            if progress is not None:
                progress(done, len(series))
        return written

    # encoding -----------------------------------------------------------------------------------

    @staticmethod
    def _values(metric_set: MetricSet, document: Mapping[str, Any]) -> list[list[Value]]:
        metrics = document.get("metrics") or {}
        hidden = document.get("cells") or {}
        values = []
        for cell in metric_set.cells:
            if cell.metric is not None:
                unit, row = cell.metric.unit, metrics.get(cell.key) or []
            else:
                # Hidden cells are stored exact (integers or decimal text): no quantum to restore.
                unit, row = Unit.MONEY, hidden.get(cell.key) or []
            values.append([stored_value(v, unit) for v in row] + [None] * (len(metric_set.calendar) - len(row)))
        return values

    @staticmethod
    def _body(
        reference: OrgReference,
        metric_set: MetricSet,
        revision: int,
        series: tuple[str, str],
        values: list[list[Value]],
        versions: Mapping[str, int],
        version: int,
    ) -> dict[str, Any]:
        metrics, hidden = {}, {}
        for cell, row in zip(metric_set.cells, values, strict=True):
            if cell.metric is not None:
                metrics[cell.key] = [_public(v) for v in row]
            else:
                hidden[cell.key] = [_stored(v) for v in row]
        return {
            "entity_id": series[0],
            "scenario": series[1],
            "currency": reference.reporting_currency,
            "periods": list(metric_set.calendar.periods),
            "metrics": metrics,
            "definitions": {metric_id: metric_set.describe(metric_id) for metric_id in metric_set.specs},
            "balances": {account: [_public(v) for v in row] for account, row in metric_set.balances(values).items()},
            "cells": hidden,
            "fingerprint": metric_set.fingerprint,
            "revision": revision,
            "version": version,
            "source_versions": dict(versions),
            "updated_at": firestore.SERVER_TIMESTAMP,
        }

"""Refreshes what dashboards read after a change: readable aggregates, then KPI and variance documents."""

from __future__ import annotations

from collections.abc import Iterable

from adapters.reference_store import ReferenceStore
from finance_core.aggregates import AggregateKey
from finance_core.dimensions import DimensionKey

from aggregations.derived import DerivedDocuments
from aggregations.store import AggregateStore


class ViewRefresher:
    """Folds the shards of changed keys and rebuilds the documents derived from them.

    Every step is idempotent and safe to run concurrently or more than once: folds and derived
    writes only ever move forward (newer-than test), so redelivered or reordered change events
    cannot put an older state back.
    """

    def __init__(self, references: ReferenceStore, aggregates: AggregateStore, derived: DerivedDocuments):
        self._references = references
        self._aggregates = aggregates
        self._derived = derived

    def refresh(
        self,
        org_id: str,
        keys: Iterable[AggregateKey],
        last_event_id: str | None = None,
        dimension_keys: Iterable[DimensionKey] = (),
    ) -> list[str]:
        """Bring the given keys' readable documents (and what derives from them) up to date.

        One read of every shard of every key and one conditional commit fold them all (a batch of
        lines touches hundreds of keys), then the KPI and variance documents that use them are
        rebuilt the same way. The dimension values' documents are folded the same way, after.
        """
        reference = self._references.get(org_id)
        keys = sorted(set(keys))
        dimension_keys = sorted(set(dimension_keys))
        if reference is None or not (keys or dimension_keys):
            return []
        written: list[str] = []
        if keys:
            folded = self._aggregates.fold_many(
                org_id, keys, reference.chart, reference.reporting_currency, last_event_id=last_event_id
            )
            self._derived.refresh(org_id, reference, keys)
            written += [key.doc_id for key in sorted(folded)]
        if dimension_keys:
            folded_values = self._aggregates.fold_dimensions(
                org_id, dimension_keys, reference.chart, reference.reporting_currency, last_event_id
            )
            written += [key.doc_id for key in sorted(folded_values)]
        return written

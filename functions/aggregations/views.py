"""Refreshes what dashboards read after a change: readable aggregates, then KPI and variance documents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path, utc_now
from adapters.reference_store import ReferenceStore
from finance_core.aggregates import AggregateKey, aggregate_version
from finance_core.changes import ChangeMessage
from finance_core.dimensions import DimensionKey
from finance_core.folded import AggregatesFolded
from finance_core.metric_rows import series_id
from google.cloud import firestore

from aggregations.announce import FoldAnnouncer
from aggregations.derived import DerivedDocuments
from aggregations.lag import LagRecorder
from aggregations.store import AggregateStore

RECORD_CHANGES = "record_changes"
# The note a fold leaves on its change document lives as long as the change document (a week).
NOTE_TTL = timedelta(days=7)


class ViewRefresher:
    """Folds the shards of changed keys and rebuilds the documents derived from them.

    Every step is idempotent and safe to run concurrently or more than once: folds and derived
    writes only ever move forward (newer-than test), so redelivered or reordered change events
    cannot put an older state back.
    """

    def __init__(
        self,
        references: ReferenceStore,
        aggregates: AggregateStore,
        derived: DerivedDocuments,
        db: firestore.Client | None = None,
        announcer: FoldAnnouncer | None = None,
        lag: LagRecorder | None = None,
    ):
        self._references = references
        self._aggregates = aggregates
        self._derived = derived
        self._db = db
        self._announcer = announcer or FoldAnnouncer(None)
        self._lag = lag

    def fold_change(self, change: ChangeMessage, origin: Mapping[str, str] | None = None) -> AggregatesFolded | None:
        """Fold one change message into every readable document, then announce it (finance_core.folded).

        The metric series commit also notes on the change document which series it wrote. If this
        delivery finds a series written already (a redelivery of a fold that died before it
        announced), the note says so and the announcement asks for that series whole, since the
        cells that earlier write changed are not known any more.
        """
        org_id = change.org_id
        reference = self._references.get(org_id)
        keys = sorted(set(change.keys))
        dimension_keys = sorted(set(change.dimension_keys))
        if reference is None or not (keys or dimension_keys):
            return None
        note_ref = self._db.document(f"{org_path(org_id)}/{RECORD_CHANGES}/{change.change_id}") if self._db else None
        published_at = (origin or {}).get("published_at")
        noted: list[bool] = []

        def note(batch: firestore.WriteBatch, written: list[str]) -> None:
            # Rides the series commit: which series it wrote, and the publish-to-folded lag the
            # pipeline health reads (no write of its own).
            if note_ref is not None:
                body = {"series_written": firestore.ArrayUnion(written), "expires_at": utc_now() + NOTE_TTL}
                body |= LagRecorder.fields(change.change_id, published_at)
                batch.set(note_ref, body, merge=True)
                noted.append(True)

        folded: dict[AggregateKey, dict] = {}
        series = []
        if keys:
            folded = self._aggregates.fold_many(
                org_id, keys, reference.chart, reference.reporting_currency, last_event_id=change.last_event_id
            )
            series = self._derived.refresh(org_id, reference, keys, also=note).series
        if dimension_keys:
            self._aggregates.fold_dimensions(
                org_id, dimension_keys, reference.chart, reference.reporting_currency, change.last_event_id
            )
        if not noted and self._lag is not None:
            self._lag.record(org_id, change.change_id, published_at)
        written = {write.series_id for write in series}
        touched_series = {series_id(key.entity_id, key.scenario) for key in keys}
        resend: set[str] = set()
        if note_ref is not None and touched_series - written:
            with map_exceptions(f"reading the fold note of change {change.change_id}"):
                noted = (note_ref.get(field_paths=["series_written"]).to_dict() or {}).get("series_written") or []
            resend = (set(noted) & touched_series) - written
        return self._announcer.announce(
            org_id,
            change.change_id,
            change.changed_at,
            change.last_event_id,
            {key: delta.accounts.keys() for key, delta in change.deltas.items()},
            {key: aggregate_version(body) for key, body in folded.items()},
            dimension_keys,
            series,
            resend,
            origin,
        )

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

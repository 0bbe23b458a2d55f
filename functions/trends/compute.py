"""Computes an org's consolidated actual trends from the readable aggregates and writes the trends/* documents."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import metric_values, org_path, utc_now
from adapters.reference_store import ReferenceStore
from finance_core.cash import FORECAST_KPIS, NO_RUNWAY, forecast_kpis
from finance_core.identifiers import CONSOLIDATED_ENTITY
from finance_core.periods import kpi_period
from finance_core.trend_series import CASH_DOC_ID, cash_document, trend_documents
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

log = logging.getLogger(__name__)

_BATCH_WRITES = 400


def _unchanged(stored: Mapping[str, Any] | None, body: Mapping[str, Any]) -> bool:
    """True when every field this computer writes already has that value (others' fields are ignored)."""
    return stored is not None and all(stored.get(key) == value for key, value in body.items())


class TrendComputer:
    """Reads the consolidated actual aggregates of every period and rewrites the trend documents that changed.

    It runs on `financial-aggregates-folded`: the readable aggregates include the change that
    triggered it, so it reads them (one query) and never folds shards itself.
    """

    def __init__(
        self,
        db: firestore.Client,
        references: ReferenceStore,
        horizon: int = 3,
        today: Callable[[], date] = lambda: utc_now().date(),
    ):
        self._db = db
        self._references = references
        self._horizon = horizon
        self._today = today

    def actuals(self, org_id: str) -> list[dict[str, Any]]:
        """The consolidated actual aggregates of every period (period, accounts, record count, days), one query."""
        query = (
            self._db.collection(f"{org_path(org_id)}/aggregates")
            .where(filter=FieldFilter("entity_id", "==", CONSOLIDATED_ENTITY))
            .where(filter=FieldFilter("scenario", "==", "actual"))
            .select(["period", "accounts", "record_count", "days"])
        )
        with map_exceptions(f"reading the consolidated actuals of {org_id}"):
            return [snapshot.to_dict() or {} for snapshot in query.stream()]

    @staticmethod
    def totals(documents: list[dict[str, Any]], periods: list[str]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """Consolidated actual account totals and live record counts per period."""
        wanted = set(periods)
        totals: dict[str, dict[str, int]] = {period: {} for period in periods}
        counts: dict[str, int] = dict.fromkeys(periods, 0)
        for body in documents:
            period = str(body.get("period"))
            if period in wanted:
                totals[period] = {str(k): int(v) for k, v in (body.get("accounts") or {}).items()}
                counts[period] = int(body.get("record_count") or 0)
        return totals, counts

    def compute(self, org_id: str) -> int:
        """Rewrite the org's trend documents from the current shards; returns how many changed."""
        reference = self._references.get(org_id)
        if reference is None:
            return 0
        actuals = self.actuals(org_id)
        totals, counts = self.totals(actuals, sorted(reference.period_status))
        # Fitted on complete periods: the period in progress is its `so_far` point (finance_core.progress).
        in_progress = kpi_period(reference.current_period, reference.period_status)
        documents = trend_documents(
            totals, counts, reference.chart, reference.reporting_currency, self._horizon, in_progress=in_progress
        )
        cash = cash_document(actuals, reference.chart, reference.reporting_currency, in_progress, self._today())
        if cash is not None:
            documents[CASH_DOC_ID] = cash
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
            if doc_id not in documents and (doc or {}).get("kind") in ("account", "metric", "cash")
        ]
        runway = (cash or {}).get("runway") or NO_RUNWAY.as_document()
        kpis_update = self._kpis_update(org_id, runway)
        for start in range(0, max(len(writes), 1 if kpis_update else 0), _BATCH_WRITES):
            batch = self._db.batch()
            if start == 0 and kpis_update:
                # In the forecast's own commit: kpis/current never shows another burn or runway than it.
                batch.update(self._db.document(f"{org_path(org_id)}/kpis/current"), kpis_update)
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

    def _kpis_update(self, org_id: str, runway: Mapping[str, Any]) -> dict[str, Any]:
        """The fields of kpis/current to update so its burn and runway are the forecast's (none when they are).

        kpis/current is written by the aggregation path from the stored forecast; this keeps it true when
        the forecast moves afterwards (the forecast is computed after the aggregates it reads are folded).
        A KPI document not written yet is left to that path.
        """
        ref = self._db.document(f"{org_path(org_id)}/kpis/current")
        with map_exceptions(f"reading the KPI document of {org_id}"):
            snapshot = ref.get(field_paths=["cash", *(f"kpis.{metric_id}" for metric_id in FORECAST_KPIS)])
        if not snapshot.exists:
            return {}
        stored = snapshot.to_dict() or {}
        entries = forecast_kpis(runway, (stored.get("kpis") or {}).keys())
        update: dict[str, Any] = {}
        if stored.get("cash") != dict(runway):
            update["cash"] = dict(runway)
        for metric_id, entry in entries.items():
            entry = {**entry, "value": metric_values({"v": entry["value"]})["v"]}
            if (stored.get("kpis") or {}).get(metric_id) != entry:
                update[f"kpis.{metric_id}"] = entry
        return update

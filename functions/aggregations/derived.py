"""Derived dashboard documents (kpis/current, variance/{entity}__{period}) rebuilt from readable aggregates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from google.cloud import firestore

from adapters.errors import map_exceptions
from adapters.firestore_codec import metric_values, org_path
from adapters.settings import KPI_SERIES_LENGTH
from aggregations.shards import SEQ_FIELD, DerivedDocument, write_many_if_newer
from finance_core.aggregates import AggregateKey
from finance_core.identifiers import CONSOLIDATED_ENTITY, KEY_SEPARATOR
from finance_core.kpis import headline_kpis
from finance_core.periods import add_months, period_of
from finance_core.reference import OrgReference
from finance_core.variance import account_variances, metric_variances, variance_document


def kpi_period(reference: OrgReference, today: date | None = None) -> str:
    """The period the headline KPIs describe: the org's current period, else the latest open one up to now."""
    if reference.current_period:
        return reference.current_period
    this_month = period_of(today or date.today())
    open_periods = [p for p, status in reference.period_status.items() if status == "open" and p <= this_month]
    return max(open_periods) if open_periods else this_month


def _version(doc: Mapping[str, Any] | None) -> int:
    """A number that grows with every change folded into an aggregate (sum of its shard sequences)."""
    return sum(int(v) for v in (doc or {}).get(SEQ_FIELD, {}).values())


class DerivedDocuments:
    """Rebuilds KPI and variance documents; each write is skipped if a newer one is already stored."""

    def __init__(self, db: firestore.Client):
        self._db = db

    def _aggregates(self, org_id: str, keys: Iterable[AggregateKey]) -> dict[AggregateKey, dict[str, Any] | None]:
        keys = list(keys)
        refs = [self._db.document(f"{org_path(org_id)}/aggregates/{key.doc_id}") for key in keys]
        with map_exceptions(f"reading aggregates of {org_id}"):
            snaps = {s.reference.id: s for s in self._db.get_all(refs)}
        return {key: (snaps[key.doc_id].to_dict() if snaps[key.doc_id].exists else None) for key in keys}

    def affected(self, reference: OrgReference, keys: Iterable[AggregateKey]) -> tuple[bool, set[tuple[str, str]]]:
        """Whether KPIs need a refresh, and which (entity, period) variance documents, for changed keys."""
        period = kpi_period(reference)
        window = {add_months(period, -i) for i in range(KPI_SERIES_LENGTH.value)}
        refresh_kpis = False
        variance_targets = set()
        for key in keys:
            if key.is_consolidated and (
                (key.scenario == "actual" and key.period in window) or (key.scenario == "budget" and key.period == period)
            ):
                refresh_kpis = True
            if key.scenario in {"actual", "budget", "forecast"}:
                variance_targets.add((key.entity_id, key.period))
        return refresh_kpis, variance_targets

    def refresh(self, org_id: str, reference: OrgReference, keys: Iterable[AggregateKey]) -> list[str]:
        """Rebuild the KPI and variance documents that use the changed keys: one read, one conditional commit."""
        refresh_kpis, variance_targets = self.affected(reference, keys)
        period = kpi_period(reference)
        kpi_keys = self._kpi_keys(period) if refresh_kpis else []
        needed = set(kpi_keys)
        for entity_id, target_period in variance_targets:
            needed |= set(self._variance_keys(entity_id, target_period).values())
        docs = self._aggregates(org_id, sorted(needed))
        documents = [self._variance_document(org_id, reference, entity_id, target_period, docs)
                     for entity_id, target_period in sorted(variance_targets)]
        if refresh_kpis:
            documents.append(self._kpis_document(org_id, reference, period, docs))
        return write_many_if_newer(self._db, documents)

    @staticmethod
    def _kpi_keys(period: str) -> list[AggregateKey]:
        periods = [add_months(period, -i) for i in reversed(range(KPI_SERIES_LENGTH.value))]
        return [*(AggregateKey(CONSOLIDATED_ENTITY, p, "actual") for p in periods),
                AggregateKey(CONSOLIDATED_ENTITY, period, "budget")]

    @staticmethod
    def _variance_keys(entity_id: str, period: str) -> dict[str, AggregateKey]:
        return {s: AggregateKey(entity_id, period, s) for s in ("actual", "budget", "forecast")}

    def _kpis_document(self, org_id: str, reference: OrgReference, period: str,
                       docs: Mapping[AggregateKey, dict[str, Any] | None]) -> DerivedDocument:
        keys = self._kpi_keys(period)
        actual_keys, budget_key = keys[:-1], keys[-1]
        versions = {key.doc_id: _version(docs[key]) for key in keys}

        def compute() -> dict[str, Any]:
            series = [(key.period, (docs[key] or {}).get("metrics")) for key in actual_keys]
            kpis = headline_kpis(series, (docs[budget_key] or {}).get("metrics"))
            return {
                "period": period,
                "previous_period": add_months(period, -1),
                "currency": reference.reporting_currency,
                "kpis": {
                    kpi.metric: {
                        "value": _plain(kpi.value),
                        "previous": _plain(kpi.previous),
                        "change": _plain(kpi.change),
                        "change_pct": _plain(kpi.change_pct),
                        "budget": _plain(kpi.budget),
                        "vs_budget_pct": _plain(kpi.vs_budget_pct),
                        "series": [{"period": p, "value": _plain(v)} for p, v in kpi.series],
                    }
                    for kpi in kpis
                },
                "record_count": int((docs[actual_keys[-1]] or {}).get("record_count", 0)),
            }

        return DerivedDocument(self._db.document(f"{org_path(org_id)}/kpis/current"), versions, compute)

    def _variance_document(self, org_id: str, reference: OrgReference, entity_id: str, period: str,
                           docs: Mapping[AggregateKey, dict[str, Any] | None]) -> DerivedDocument:
        keys = self._variance_keys(entity_id, period)
        versions = {key.doc_id: _version(docs[key]) for key in keys.values()}

        def compute() -> dict[str, Any]:
            actual = docs[keys["actual"]] or {}
            body: dict[str, Any] = {"entity_id": entity_id, "period": period, "currency": reference.reporting_currency}
            for comparison in ("budget", "forecast"):
                other = docs[keys[comparison]] or {}
                lines = account_variances(_in_chart(actual.get("accounts"), reference),
                                          _in_chart(other.get("accounts"), reference), reference.chart)
                metrics = metric_variances(_decimal_metrics(actual.get("metrics")), _decimal_metrics(other.get("metrics")))
                section = variance_document(entity_id=entity_id, period=period, account_lines=lines,
                                            metric_lines=metrics, comparison_scenario=comparison,
                                            currency=reference.reporting_currency)
                body[f"vs_{comparison}"] = {k: v for k, v in section.items() if k not in {"entity_id", "period"}}
            # The budget comparison is what dashboards show first: keep it at the top level too.
            body["top"] = body["vs_budget"]["top"]
            return body

        doc_id = KEY_SEPARATOR.join((entity_id, period))
        return DerivedDocument(self._db.document(f"{org_path(org_id)}/variance/{doc_id}"), versions, compute)


def _in_chart(accounts: Mapping[str, Any] | None, reference: OrgReference) -> dict[str, int]:
    """Account totals restricted to the chart (an account removed from the chart has no type)."""
    return {k: int(v) for k, v in (accounts or {}).items() if k in reference.chart}


def _decimal_metrics(metrics: Mapping[str, Any] | None) -> dict[str, Any]:
    """Stored metrics back to exact values: percentages (floats in Firestore) as Decimal."""
    from decimal import Decimal

    return {k: (Decimal(str(v)) if isinstance(v, float) else v) for k, v in (metrics or {}).items()}


def _plain(value: Any) -> Any:
    """Firestore-friendly value: Decimal percentages become numbers; ints stay ints."""
    if value is None or isinstance(value, (int, str)):
        return value
    return metric_values({"v": value})["v"]

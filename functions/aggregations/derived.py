"""Derived dashboard documents (kpis/current, variance/{entity}__{period}) rebuilt from readable aggregates.

kpis/current is also the overview's one live document of the month in progress: beside the headline
KPIs it carries a copy of that month's consolidated actual aggregate (`month_actual`) and of its
variance document (`month_variance`), so a dashboard that watches the month pays one read per fold
instead of three (docs/dashboard-clients.md, "What a dashboard costs in reads").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import metric_values, org_path
from adapters.settings import KPI_SERIES_LENGTH
from finance_core import periods
from finance_core.aggregates import AggregateKey, aggregate_version
from finance_core.cash import NO_RUNWAY, forecast_kpis
from finance_core.identifiers import CONSOLIDATED_ENTITY, KEY_SEPARATOR
from finance_core.kpis import HEADLINE_METRICS, headline_kpis
from finance_core.metric_rows import series_id, value_at
from finance_core.metric_series import BUILTIN_IDS, BUILTIN_METRICS, Unit
from finance_core.periods import add_months
from finance_core.reference import OrgReference
from finance_core.trend_series import CASH_DOC_ID
from finance_core.variance import (
    MetricVariance,
    account_variances,
    defined_metric_variances,
    metric_variances,
    variance_document,
)
from google.cloud import firestore

from aggregations.series import AlsoWrite, MetricSeriesStore, SeriesWrite
from aggregations.shards import DerivedDocument, write_many_if_newer


def kpi_period(reference: OrgReference, today: date | None = None) -> str:
    """The period the headline KPIs describe (finance_core.periods.kpi_period of the org)."""
    return periods.kpi_period(reference.current_period, reference.period_status, today)


_version = aggregate_version
# What the KPI and variance documents read of a metric series (value_at, definitions, version).
SERIES_FIELDS_READ = ["metrics", "definitions", "periods", "version"]


@dataclass(frozen=True)
class DerivedRefresh:
    """What a refresh wrote: the metric series (with their bodies before and after) and the KPI and variance paths."""

    series: list[SeriesWrite]
    documents: list[str]


class DerivedDocuments:
    """Rebuilds KPI and variance documents; each write is skipped if a newer one is already stored."""

    def __init__(self, db: firestore.Client, series: MetricSeriesStore | None = None):
        self._db = db
        self._series = series

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
                (key.scenario == "actual" and key.period in window)
                or (key.scenario in ("budget", "forecast") and key.period == period)
            ):
                refresh_kpis = True
            if key.scenario in {"actual", "budget", "forecast"}:
                variance_targets.add((key.entity_id, key.period))
        return refresh_kpis, variance_targets

    def refresh(
        self, org_id: str, reference: OrgReference, keys: Iterable[AggregateKey], also: AlsoWrite | None = None
    ) -> DerivedRefresh:
        """Rebuild the metric series, KPI and variance documents that use the changed keys.

        The series first (one read, one conditional commit, with `also`'s writes), then the KPI and
        variance documents (one read, one conditional commit). A change of any period can move a
        defined metric of the current period (a closing balance, a year to date), so the KPIs are
        rebuilt whenever the consolidated actual or budget series moved.
        """
        keys = list(keys)
        refresh_kpis, variance_targets = self.affected(reference, keys)
        series_written: list[SeriesWrite] = []
        period = kpi_period(reference)
        if self._series is not None:
            series_written = self._series.refresh(org_id, reference, keys, also)
            # Whoever wrote the series (this refresh or an alert evaluation), a consolidated change up to
            # the KPI period can move a defined KPI; the write below is skipped if nothing is newer.
            refresh_kpis = refresh_kpis or any(
                key.is_consolidated and key.scenario in ("actual", "budget") and key.period <= period for key in keys
            )
        series_docs = {}
        if self._series is not None and (variance_targets or refresh_kpis):
            known = {(w.after.get("entity_id"), w.after.get("scenario")): w.after for w in series_written}
            series_docs = self._series_documents(org_id, variance_targets, known)
        if any(_defined_ids(document) for document in series_docs.values()):
            # A change of an earlier month moves later months of a defined metric (a closing balance, a
            # year to date): the current period's variance of the changed entity follows it too.
            variance_targets |= {(entity_id, period) for entity_id, p in variance_targets if p < period}
        kpi_keys = self._kpi_keys(period) if refresh_kpis else []
        needed = set(kpi_keys)
        for entity_id, target_period in variance_targets:
            needed |= set(self._variance_keys(entity_id, target_period).values())
        docs = self._aggregates(org_id, sorted(needed))
        documents = [
            self._variance_document(org_id, reference, entity_id, target_period, docs, series_docs)
            for entity_id, target_period in sorted(variance_targets)
        ]
        if refresh_kpis:
            documents.append(self._kpis_document(org_id, reference, period, docs, series_docs))
        return DerivedRefresh(series_written, write_many_if_newer(self._db, documents))

    def refresh_kpis(self, org_id: str, reference: OrgReference) -> list[str]:
        """Rebuild kpis/current from the aggregates and series as they are (after a definition change rebuilt them)."""
        period = kpi_period(reference)
        docs = self._aggregates(org_id, self._kpi_keys(period))
        series_docs = self._series_documents(org_id) if self._series is not None else {}
        return write_many_if_newer(self._db, [self._kpis_document(org_id, reference, period, docs, series_docs)])

    def _series_documents(
        self,
        org_id: str,
        variance_targets: Iterable[tuple[str, str]] = (),
        known: Mapping[tuple[Any, Any], Mapping[str, Any]] | None = None,
    ) -> dict[tuple[str, str], dict[str, Any] | None]:
        """The metric series the KPI document (consolidated actual, budget and forecast: its month's variance)
        and the variance documents of these (entity, period) targets (every comparison scenario) read, in one
        round trip.

        `known` are series just written (their bodies as written): they are not read again, and the
        others are read without the hidden cells and balances, which the KPI and variance documents
        do not use."""
        assert self._series is not None
        wanted = {(CONSOLIDATED_ENTITY, s) for s in ("actual", "budget", "forecast")}
        wanted |= {(entity_id, s) for entity_id, _ in variance_targets for s in ("actual", "budget", "forecast")}
        found: dict[tuple[str, str], dict[str, Any] | None] = {
            key: dict(known[key]) for key in wanted if known and key in known
        }
        refs = {key: self._series.ref(org_id, *key) for key in sorted(wanted - set(found))}
        if refs:
            with map_exceptions(f"reading the metric series of {org_id}"):
                snaps = {
                    snap.reference.path: snap
                    for snap in self._db.get_all(list(refs.values()), field_paths=SERIES_FIELDS_READ)
                }
            found |= {key: (snaps[ref.path].to_dict() if snaps[ref.path].exists else None) for key, ref in refs.items()}
        return found

    @staticmethod
    def _kpi_keys(period: str) -> list[AggregateKey]:
        """The consolidated actuals of the KPI series (oldest first), then the month's budget and forecast."""
        periods = [add_months(period, -i) for i in reversed(range(KPI_SERIES_LENGTH.value))]
        return [
            *(AggregateKey(CONSOLIDATED_ENTITY, p, "actual") for p in periods),
            AggregateKey(CONSOLIDATED_ENTITY, period, "budget"),
            AggregateKey(CONSOLIDATED_ENTITY, period, "forecast"),
        ]

    @staticmethod
    def _variance_keys(entity_id: str, period: str) -> dict[str, AggregateKey]:
        return {s: AggregateKey(entity_id, period, s) for s in ("actual", "budget", "forecast")}

    def _kpis_document(
        self,
        org_id: str,
        reference: OrgReference,
        period: str,
        docs: Mapping[AggregateKey, dict[str, Any] | None],
        series_docs: Mapping[tuple[str, str], dict[str, Any] | None] | None = None,
    ) -> DerivedDocument:
        keys = self._kpi_keys(period)
        actual_keys, budget_key = keys[:-2], keys[-2]
        month_key = actual_keys[-1]
        series_docs = series_docs or {}
        consolidated = {s: series_docs.get((CONSOLIDATED_ENTITY, s)) for s in ("actual", "budget")}
        # The month's variance is computed as its own document is (the same sources, the same body).
        versions, month_variance = self._variance_source(reference, CONSOLIDATED_ENTITY, period, docs, series_docs)
        versions |= {key.doc_id: _version(docs[key]) for key in keys}
        for scenario, document in consolidated.items():
            path = f"metric_series/{series_id(CONSOLIDATED_ENTITY, scenario)}"
            versions[path] = int((document or {}).get("version", 0))

        def compute() -> dict[str, Any]:
            series = [(key.period, (docs[key] or {}).get("metrics")) for key in actual_keys]
            kpis = headline_kpis(series, (docs[budget_key] or {}).get("metrics"))
            defined = _defined_kpis(consolidated, [key.period for key in actual_keys])
            # Burn and runway are the cash forecast's (finance_core.cash.CashRunway), read here inside the
            # conditional write: the trend computer updates them in this document whenever the forecast
            # moves, and such an update makes this write read again (docs/kpis.md, "Burn and runway").
            cash = self._cash_runway(org_id)
            defined |= {
                metric_id: {**entry, "value": _plain(entry["value"])}
                for metric_id, entry in forecast_kpis(cash, defined).items()
            }
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
                }
                | defined,
                "definitions": _kpi_definitions(consolidated),
                "cash": cash,
                "record_count": int((docs[month_key] or {}).get("record_count", 0)),
                # The overview's month in progress, as its own documents have it (no month yet: null).
                "month_actual": _live_copy(docs[month_key]),
                "month_variance": month_variance(),
            }

        return DerivedDocument(self._db.document(f"{org_path(org_id)}/kpis/current"), versions, compute)

    def _cash_runway(self, org_id: str) -> dict[str, Any]:
        """Burn and runway as the stored cash forecast has them (no forecast: the chart tags no cash account)."""
        ref = self._db.document(f"{org_path(org_id)}/trends/{CASH_DOC_ID}")
        with map_exceptions(f"reading the cash forecast of {org_id}"):
            snapshot = ref.get(field_paths=["runway"])
        runway = (snapshot.to_dict() or {}).get("runway") if snapshot.exists else None
        return dict(runway) if runway else NO_RUNWAY.as_document()

    def _variance_source(
        self,
        reference: OrgReference,
        entity_id: str,
        period: str,
        docs: Mapping[AggregateKey, dict[str, Any] | None],
        series_docs: Mapping[tuple[str, str], dict[str, Any] | None] | None = None,
    ) -> tuple[dict[str, int], Callable[[], dict[str, Any]]]:
        """The versions a variance document of (entity, period) is computed from, and how to compute its body."""
        keys = self._variance_keys(entity_id, period)
        versions = {key.doc_id: _version(docs[key]) for key in keys.values()}
        series = {s: (series_docs or {}).get((entity_id, s)) for s in keys}
        for scenario, document in series.items():
            if document is not None:
                versions[f"metric_series/{series_id(entity_id, scenario)}"] = int(document.get("version", 0))

        def compute() -> dict[str, Any]:
            actual = docs[keys["actual"]] or {}
            body: dict[str, Any] = {"entity_id": entity_id, "period": period, "currency": reference.reporting_currency}
            for comparison in ("budget", "forecast"):
                other = docs[keys[comparison]] or {}
                lines = account_variances(
                    _in_chart(actual.get("accounts"), reference),
                    _in_chart(other.get("accounts"), reference),
                    reference.chart,
                )
                metrics = metric_variances(
                    _decimal_metrics(actual.get("metrics")), _decimal_metrics(other.get("metrics"))
                ) + _defined_variances(series["actual"], series[comparison], period)
                section = variance_document(
                    entity_id=entity_id,
                    period=period,
                    account_lines=lines,
                    metric_lines=metrics,
                    comparison_scenario=comparison,
                    currency=reference.reporting_currency,
                )
                body[f"vs_{comparison}"] = {k: v for k, v in section.items() if k not in {"entity_id", "period"}}
            # The budget comparison is what dashboards show first: keep it at the top level too.
            body["top"] = body["vs_budget"]["top"]
            return body

        return versions, compute

    def _variance_document(
        self,
        org_id: str,
        reference: OrgReference,
        entity_id: str,
        period: str,
        docs: Mapping[AggregateKey, dict[str, Any] | None],
        series_docs: Mapping[tuple[str, str], dict[str, Any] | None] | None = None,
    ) -> DerivedDocument:
        versions, compute = self._variance_source(reference, entity_id, period, docs, series_docs)
        doc_id = KEY_SEPARATOR.join((entity_id, period))
        return DerivedDocument(self._db.document(f"{org_path(org_id)}/variance/{doc_id}"), versions, compute)


# Fields of an aggregate that say how it was written, not what it shows: not copied into kpis/current.
_NOT_COPIED = frozenset({"source_versions", "updated_at"})


def _live_copy(aggregate: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The month's consolidated actual aggregate as kpis/current carries it (what dashboards read of it)."""
    if aggregate is None:
        return None
    return {k: v for k, v in aggregate.items() if k not in _NOT_COPIED}


def _defined_kpis(series_docs: Mapping[str, dict[str, Any] | None], periods: list[str]) -> dict[str, Any]:
    """KPI entries of the org's defined metrics (and the built-ins the headline set leaves out), from the
    consolidated series: the same fields as the headline KPIs."""

    actual = series_docs.get("actual")
    if not actual:
        return {}
    budget = series_docs.get("budget")
    names = [m for m in (actual.get("metrics") or {}) if m not in HEADLINE_METRICS]
    series = [(p, {m: value_at(actual, m, p) for m in names}) for p in periods]
    plan = {m: value_at(budget, m, periods[-1]) for m in names}
    units = {m: (actual.get("definitions") or {}).get(m, {}).get("unit") for m in names}
    in_points = {m for m, unit in units.items() if unit == Unit.PERCENT.value} | {
        spec.metric_id for spec in BUILTIN_METRICS if spec.is_percentage and spec.metric_id in names
    }
    found = {}
    for kpi in headline_kpis(series, plan, names, in_points=in_points):
        found[kpi.metric] = {
            "value": _plain(kpi.value),
            "previous": _plain(kpi.previous),
            "change": _plain(kpi.change),
            "change_pct": _plain(kpi.change_pct),
            "budget": _plain(kpi.budget),
            "vs_budget_pct": _plain(kpi.vs_budget_pct),
            "series": [{"period": p, "value": _plain(v)} for p, v in kpi.series],
            "defined": kpi.metric not in BUILTIN_IDS,
        }
    return found


def _defined_ids(document: Mapping[str, Any] | None) -> list[str]:
    """The org's own metrics in a series document (not the built-ins every series carries)."""
    return sorted(set((document or {}).get("definitions") or {}) - BUILTIN_IDS)


def _defined_variances(
    actual: Mapping[str, Any] | None, comparison: Mapping[str, Any] | None, period: str
) -> list[MetricVariance]:
    """Budget (or forecast) vs actual of the defined metrics at a period, from the two metric series."""

    names = _defined_ids(actual)
    if not names or not comparison:
        return []
    definitions = (actual or {}).get("definitions") or {}
    return defined_metric_variances(
        {m: value_at(actual, m, period) for m in names},
        {m: value_at(comparison, m, period) for m in names},
        {m: definitions[m] for m in names},
    )


def _kpi_definitions(series_docs: Mapping[str, dict[str, Any] | None]) -> dict[str, Any]:
    """Label, unit, direction, decimals and expression of every metric of the KPI document."""
    return dict((series_docs.get("actual") or {}).get("definitions") or {})


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

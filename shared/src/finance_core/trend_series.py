"""Consolidated actual series per account and per money metric, and the `trends/*` documents built from them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from finance_core.accounts import ChartOfAccounts
from finance_core.identifiers import KEY_SEPARATOR
from finance_core.metrics import MetricGraph, standard_graph, totals_by_type
from finance_core.periods import period_range
from finance_core.trends import analyze_trend, trend_document

# Metric trends live beside account trends as trends/metric__{name}: account ids never contain
# '__' (identifier rule), so a metric document can never shadow an account's.
METRIC_DOC_PREFIX = f"metric{KEY_SEPARATOR}"

Series = list[tuple[str, int]]


def metric_doc_id(metric: str) -> str:
    """Document id of a metric's trend, e.g. 'metric__revenue'."""
    return f"{METRIC_DOC_PREFIX}{metric}"


def last_actual_period(record_counts: Mapping[str, int]) -> str | None:
    """The latest period with at least one live actual record (the end of every series)."""
    filled = [period for period, count in record_counts.items() if count > 0]
    return max(filled) if filled else None


def _series(values: Mapping[str, int], periods: Sequence[str]) -> Series | None:
    """Consecutive (period, minor) from the first non-zero period to the end; None if all zero.

    Months without postings inside the window are real zeros (the org booked actuals that month,
    this line had none); months before the line's first posting are not part of its history.
    """
    start = next((index for index, period in enumerate(periods) if values.get(period, 0) != 0), None)
    if start is None:
        return None
    return [(period, int(values.get(period, 0))) for period in periods[start:]]


def consolidated_series(
    account_totals: Mapping[str, Mapping[str, int]],
    record_counts: Mapping[str, int],
    chart: ChartOfAccounts,
    graph: MetricGraph | None = None,
) -> tuple[dict[str, Series], dict[str, Series]]:
    """(account series, money-metric series) from consolidated actual totals per period.

    `account_totals` maps a period to its leaf account totals (minor units, reporting currency);
    summary accounts get the roll-up of their children. Accounts no longer in the chart are left
    out, as in the aggregates' roll-ups and metrics.
    """
    graph = graph or standard_graph()
    end = last_actual_period(record_counts)
    if end is None:
        return {}, {}
    known_periods = [period for period in account_totals if period <= end]
    if not known_periods:
        return {}, {}
    periods = period_range(min(known_periods), end)
    by_account: dict[str, dict[str, int]] = {}
    by_metric: dict[str, dict[str, int]] = {}
    for period in periods:
        leaves = {a: int(v) for a, v in (account_totals.get(period) or {}).items() if a in chart}
        for account_id, minor in {**leaves, **chart.rollups(leaves)}.items():
            by_account.setdefault(account_id, {})[period] = minor
        types = totals_by_type(leaves, {a: chart.type_of(a) for a in leaves})
        for name, value in graph.evaluate(types).items():
            if not graph.definitions[name].is_percentage and value is not None:
                by_metric.setdefault(name, {})[period] = int(value)
    accounts = {a: s for a, values in by_account.items() if (s := _series(values, periods))}
    metrics = {m: s for m, values in by_metric.items() if (s := _series(values, periods))}
    return accounts, metrics


def _body(series: Series, horizon: int) -> dict[str, Any]:
    document = trend_document(analyze_trend(series, horizon=horizon))
    # The trend document calls it `slope` (docs/analysts.md, "Trends and forecasts in Firestore"); the core's name
    # says its unit.
    document["slope"] = document["slope_minor_per_period"]
    document["series"] = [{"period": period, "value_minor": value} for period, value in series]
    return document


def trend_documents(
    account_totals: Mapping[str, Mapping[str, int]],
    record_counts: Mapping[str, int],
    chart: ChartOfAccounts,
    currency: str,
    horizon: int = 3,
    graph: MetricGraph | None = None,
) -> dict[str, dict[str, Any]]:
    """Bodies of `trends/{account_id}` and `trends/metric__{metric}` for the consolidated actuals."""
    graph = graph or standard_graph()
    accounts, metrics = consolidated_series(account_totals, record_counts, chart, graph)
    documents: dict[str, dict[str, Any]] = {}
    for account_id, series in sorted(accounts.items()):
        account = chart.get(account_id)
        documents[account_id] = {
            "kind": "account",
            "account_id": account_id,
            "name": account.name,
            "account_type": account.type.value,
            "is_summary": not chart.is_leaf(account_id),
            "entity_id": "_all",
            "scenario": "actual",
            "currency": currency,
            **_body(series, horizon),
        }
    for metric, series in sorted(metrics.items()):
        documents[metric_doc_id(metric)] = {
            "kind": "metric",
            "metric": metric,
            "name": graph.definitions[metric].label,
            "entity_id": "_all",
            "scenario": "actual",
            "currency": currency,
            **_body(series, horizon),
        }
    return documents

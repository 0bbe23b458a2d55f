"""Consolidated actual series per account and per money metric, and the `trends/*` documents built from them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from finance_core.accounts import ChartOfAccounts
from finance_core.cash import cash_accounts, cash_balance, daily_cash_flow, forecast_cash
from finance_core.days import period_days
from finance_core.identifiers import KEY_SEPARATOR
from finance_core.metrics import MetricGraph, standard_graph, totals_by_type
from finance_core.periods import period_range
from finance_core.progress import complete_periods
from finance_core.trends import analyze_trend, trend_document

# Metric trends live beside account trends as trends/metric__{name}: account ids never contain
# '__' (identifier rule), so a metric document can never shadow an account's.
METRIC_DOC_PREFIX = f"metric{KEY_SEPARATOR}"
# The cash flow and its 13-week forecast (finance_core.cash), beside the trends for the same reason.
CASH_DOC_ID = f"cash{KEY_SEPARATOR}forecast"
# Days of daily net cash flow the cash document carries for the dashboard's chart.
CASH_DAYS_SHOWN = 120

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
    in_progress: str | None = None,
) -> tuple[dict[str, Series], dict[str, Series]]:
    """(account series, money-metric series) from consolidated actual totals per period.

    `account_totals` maps a period to its leaf account totals (minor units, reporting currency);
    summary accounts get the roll-up of their children. Accounts no longer in the chart are left
    out, as in the aggregates' roll-ups and metrics. With `in_progress` (the period in progress)
    the series end before it: a trend is fitted on complete periods only (finance_core.progress).
    """
    graph = graph or standard_graph()
    if in_progress is not None:
        record_counts = {p: n for p, n in record_counts.items() if p in complete_periods([p], in_progress)}
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
    in_progress: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Bodies of `trends/{account_id}` and `trends/metric__{metric}` for the consolidated actuals.

    Fitted on the periods before `in_progress` (the period in progress) when it is given; its
    partial value is kept apart as `so_far` ({period, value_minor}), drawn beside the trend.
    """
    graph = graph or standard_graph()
    accounts, metrics = consolidated_series(account_totals, record_counts, chart, graph, in_progress)
    partial_accounts: dict[str, Series] = {}
    partial_metrics: dict[str, Series] = {}
    if in_progress is not None and record_counts.get(in_progress):
        partial_accounts, partial_metrics = consolidated_series(
            {in_progress: account_totals.get(in_progress) or {}}, {in_progress: 1}, chart, graph
        )
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
            "so_far": _so_far(partial_accounts.get(account_id)),
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
            "so_far": _so_far(partial_metrics.get(metric)),
        }
    return documents


def _so_far(partial: Series | None) -> dict[str, Any] | None:
    """The period in progress's value, beside the trend (never fitted on)."""
    if not partial:
        return None
    period, value = partial[-1]
    return {"period": period, "value_minor": value}


def cash_as_of(in_progress: str, today: date) -> date:
    """The day the cash forecast is as of: today, but never after the last day of the month in progress.

    An org whose books are still on an earlier month (its `current_period`, docs/kpis.md "The month
    in progress") holds no cash movement after that month: the weeks after it are not weeks of zero
    flow, they are weeks its books have not reached. Its forecast is as of that month's last day,
    the day its cash on hand (every period up to the month in progress) describes.
    """
    return min(today, period_days(in_progress)[-1])


def cash_document(
    actuals: Sequence[Mapping[str, Any]], chart: ChartOfAccounts, currency: str, in_progress: str, today: date
) -> dict[str, Any] | None:
    """Body of `trends/cash__forecast`: daily net cash flow, weekly history and the 13-week forecast.

    None when the chart tags no account `cash`. Recomputed with the trends, from the consolidated
    actual aggregates (their `days`); the forecast is fitted on complete weeks only. It is as of
    `cash_as_of(in_progress, today)`: the cash on hand counts the periods up to the month in
    progress, so the weeks fitted on stop there too.
    """
    accounts = cash_accounts(chart)
    if not accounts:
        return None
    as_of = cash_as_of(in_progress, today)
    daily = daily_cash_flow(actuals, accounts)
    balance = cash_balance(actuals, accounts, in_progress)
    forecast = forecast_cash(daily, balance, as_of)
    shown = [(day, flow) for day, flow in daily.items() if day > as_of - timedelta(days=CASH_DAYS_SHOWN)]
    return {
        "kind": "cash",
        "entity_id": "_all",
        "scenario": "actual",
        "currency": currency,
        "accounts": sorted(accounts),
        "balance_minor": balance,
        "daily": [{"date": day.isoformat(), "flow_minor": flow} for day, flow in shown],
        **forecast.as_document(),
    }

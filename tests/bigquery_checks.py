"""Checks of BigQuery view rows against the core's own computations, shared by the view and pipeline tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from finance_core.accounts import ChartOfAccounts
from finance_core.metrics import MetricGraph, totals_by_type

PNL_MONEY_COLUMNS = ("revenue", "cogs", "opex", "other_income", "other_expense", "tax", "gross_profit", "ebitda",
                     "net_income")
PNL_PERCENT_COLUMNS = ("gross_margin_pct", "ebitda_margin_pct", "net_margin_pct")


def cents(value: Any) -> int:
    """A NUMERIC amount of a 2-decimal currency as integer cents (a sub-cent value fails the test)."""
    scaled = Decimal(value) * 100
    assert scaled == scaled.to_integral_value(), value
    return int(scaled)


def assert_pnl_row_equals_core(row: dict[str, Any], key: tuple, accounts: dict[str, int], record_count: int,
                               chart: ChartOfAccounts, graph: MetricGraph) -> None:
    """A `pnl_monthly` row equals the core's metrics of the same account totals, to the cent."""
    metrics = graph.evaluate(totals_by_type(accounts, {a: chart.type_of(a) for a in accounts}))
    for name in PNL_MONEY_COLUMNS:
        assert cents(row[name]) == metrics[name], (key, name)
    for name in PNL_PERCENT_COLUMNS:
        want = metrics[name]
        assert (None if row[name] is None else Decimal(row[name])) == want, (key, name, row[name], want)
    assert row["record_count"] == record_count, key

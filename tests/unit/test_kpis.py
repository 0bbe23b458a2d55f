"""Headline KPIs: value, change vs the previous period (money in minor units, margins in points), vs budget."""

from __future__ import annotations

from decimal import Decimal

from finance_core.kpis import HEADLINE_METRICS, headline_kpis
from finance_core.metrics import MetricGraph

SEPTEMBER = {"revenue": 1000_00, "net_income": -100_00, "gross_margin_pct": Decimal("40.0000")}
OCTOBER = {"revenue": 1100_00, "net_income": 50_00, "gross_margin_pct": Decimal("42.5000")}
BUDGET = {"revenue": 1200_00, "net_income": 100_00, "gross_margin_pct": Decimal("45.0000")}


def by_metric(kpis):
    return {k.metric: k for k in kpis}


def test_no_series_no_kpis():
    assert headline_kpis([], BUDGET) == []


def test_the_default_headline_metrics_in_order():
    kpis = headline_kpis([("2026-10", MetricGraph().evaluate({}))], None)
    assert [k.metric for k in kpis] == list(HEADLINE_METRICS)
    assert HEADLINE_METRICS[0] == "revenue" and "net_margin_pct" in HEADLINE_METRICS


def test_money_changes_in_minor_units_and_percent():
    revenue = by_metric(headline_kpis([("2026-09", SEPTEMBER), ("2026-10", OCTOBER)], BUDGET))["revenue"]
    assert (revenue.value, revenue.previous, revenue.change) == (1100_00, 1000_00, 100_00)
    assert revenue.change_pct == Decimal("10.0000")
    assert revenue.budget == 1200_00
    assert revenue.vs_budget_pct == Decimal("-8.3333"), "1100 vs 1200 is 8.3333 % under budget"


def test_a_change_from_a_loss_is_measured_against_its_size():
    net = by_metric(headline_kpis([("2026-09", SEPTEMBER), ("2026-10", OCTOBER)], BUDGET))["net_income"]
    assert net.change == 150_00
    assert net.change_pct == Decimal("150.0000"), "from -100 to +50 is +150 % of the loss, an improvement"
    assert net.vs_budget_pct == Decimal("-50.0000")


def test_margins_change_in_points_and_have_no_percent_of_percent():
    margin = by_metric(headline_kpis([("2026-09", SEPTEMBER), ("2026-10", OCTOBER)], BUDGET))["gross_margin_pct"]
    assert margin.change == Decimal("2.5000")
    assert margin.change_pct is None and margin.vs_budget_pct is None
    assert margin.budget == Decimal("45.0000")


def test_margins_read_back_from_storage_as_floats_still_change_by_exact_points():
    # Firestore gives percentages back as floats (40.1234 is stored as a double); the change is in
    # points with 4 decimals, not the float difference 3.2099000000000046.
    series = [("2026-09", {"gross_margin_pct": 30.1234}), ("2026-10", {"gross_margin_pct": 33.3333})]
    margin = headline_kpis(series, None, ["gross_margin_pct"])[0]
    assert margin.change == Decimal("3.2099")
    series = [("2026-09", {"net_margin_pct": 0.1}), ("2026-10", {"net_margin_pct": 0.3})]
    assert headline_kpis(series, None, ["net_margin_pct"])[0].change == Decimal("0.2000")


def test_a_zero_or_missing_base_gives_no_percent():
    kpis = by_metric(headline_kpis([("2026-09", {"revenue": 0}), ("2026-10", {"revenue": 500})], {"revenue": 0}))
    assert kpis["revenue"].change == 500
    assert kpis["revenue"].change_pct is None and kpis["revenue"].vs_budget_pct is None


def test_a_single_period_has_no_previous():
    revenue = by_metric(headline_kpis([("2026-10", OCTOBER)], None))["revenue"]
    assert revenue.previous is None and revenue.change is None and revenue.change_pct is None
    assert revenue.budget is None and revenue.vs_budget_pct is None
    assert revenue.series == (("2026-10", 1100_00),)


def test_periods_without_data_show_as_gaps():
    series = [("2026-08", None), ("2026-09", SEPTEMBER), ("2026-10", None)]
    revenue = by_metric(headline_kpis(series, BUDGET))["revenue"]
    assert revenue.value is None and revenue.change is None and revenue.vs_budget_pct is None
    assert revenue.previous == 1000_00
    assert revenue.series == (("2026-08", None), ("2026-09", 1000_00), ("2026-10", None))


def test_a_margin_that_is_none_on_zero_revenue_stays_none():
    series = [("2026-09", MetricGraph().evaluate({})), ("2026-10", OCTOBER)]
    margin = by_metric(headline_kpis(series, None))["gross_margin_pct"]
    assert margin.previous is None and margin.change is None and margin.value == Decimal("42.5000")

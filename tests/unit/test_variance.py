"""Variance actual vs budget: favourability by account type, percent on a zero base, ranking, documents."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
from finance_core.accounts import Account, AccountType, ChartOfAccounts
from finance_core.metrics import MetricGraph
from finance_core.variance import (
    AccountVariance,
    VarianceError,
    account_variances,
    defined_metric_variances,
    metric_variances,
    percent_change,
    top_variances,
    variance_document,
)
from hypothesis import given, settings
from hypothesis import strategies as st

CHART = ChartOfAccounts(
    [
        Account("4000", "Product revenue", AccountType.REVENUE),
        Account("4100", "Services revenue", AccountType.REVENUE),
        Account("5000", "Cost of goods sold", AccountType.COGS),
        Account("6000", "Operating expenses", AccountType.OPEX),
        Account("6100", "Salaries", AccountType.OPEX, "6000"),
        Account("6200", "Rent", AccountType.OPEX, "6000"),
        Account("7000", "Interest", AccountType.OTHER_EXPENSE),
        Account("1000", "Cash", AccountType.ASSET),
        Account("2000", "Bank loan", AccountType.LIABILITY),
    ]
)


def _by_id(lines: list[AccountVariance]) -> dict[str, AccountVariance]:
    return {line.account_id: line for line in lines}


def test_revenue_overrun_is_favourable_and_opex_overrun_is_not():
    lines = _by_id(
        account_variances(
            {"4000": 1_150_000, "6100": 550_000},
            {"4000": 1_000_000, "6100": 500_000},
            CHART,
        )
    )
    revenue, salaries = lines["4000"], lines["6100"]
    assert (revenue.variance_minor, revenue.variance_pct, revenue.favourable) == (150_000, Decimal("15.0000"), True)
    assert (salaries.variance_minor, salaries.variance_pct, salaries.favourable) == (50_000, Decimal("10.0000"), False)
    assert revenue.account_name == "Product revenue" and revenue.account_type is AccountType.REVENUE


def test_revenue_shortfall_is_unfavourable_and_opex_underspend_is_favourable():
    lines = _by_id(account_variances({"4100": 80_000, "6200": 90_000}, {"4100": 100_000, "6200": 100_000}, CHART))
    assert lines["4100"].variance_pct == Decimal("-20.0000") and not lines["4100"].favourable
    assert lines["6200"].variance_pct == Decimal("-10.0000") and lines["6200"].favourable


def test_balance_sheet_lines_follow_their_nature():
    lines = _by_id(account_variances({"1000": 120, "2000": 120}, {"1000": 100, "2000": 100}, CHART))
    assert lines["1000"].favourable  # more cash than planned
    assert not lines["2000"].favourable  # more debt than planned


def test_a_zero_budget_gives_no_percent_rather_than_a_crash():
    lines = _by_id(account_variances({"7000": 25_000}, {}, CHART))
    interest = lines["7000"]
    assert interest.comparison_minor == 0
    assert interest.variance_minor == 25_000
    assert interest.variance_pct is None
    assert not interest.favourable


def test_unplanned_absence_counts_as_zero_actual():
    lines = _by_id(account_variances({}, {"4000": 40_000}, CHART))
    assert lines["4000"].actual_minor == 0 and lines["4000"].variance_pct == Decimal("-100.0000")


def test_a_line_exactly_on_budget_is_favourable_and_empty_lines_are_left_out():
    lines = account_variances({"5000": 700, "6200": 0}, {"5000": 700, "6200": 0}, CHART)
    assert [line.account_id for line in lines] == ["5000"]
    assert lines[0].variance_minor == 0 and lines[0].variance_pct == Decimal("0.0000") and lines[0].favourable
    with_zero = account_variances({"6200": 0}, {"6200": 0}, CHART, include_unchanged_zero=True)
    assert [line.account_id for line in with_zero] == ["6200"]


def test_percent_uses_the_absolute_base_so_a_planned_loss_keeps_the_sign_meaning():
    assert percent_change(-50, -100) == Decimal("50.0000")  # 50 better than a planned -100
    assert percent_change(-150, -100) == Decimal("-50.0000")
    assert percent_change(1, 3) == Decimal("-66.6667")  # 4 decimals, half-even
    assert percent_change(5, 0) is None


def test_an_account_outside_the_chart_is_rejected_with_its_id():
    with pytest.raises(VarianceError, match="'9999'"):
        account_variances({"9999": 1}, {}, CHART)


def test_top_variances_rank_by_absolute_percent_then_amount_then_id():
    lines = account_variances(
        {"4000": 900, "4100": 1_200, "5000": 2_400, "6100": 10, "6200": 3_000, "7000": 500},
        {"4000": 1_000, "4100": 1_000, "5000": 2_000, "6100": 0, "6200": 3_000, "7000": 0},
        CHART,
    )
    # 4100 +20 %, 5000 +20 % (bigger amount first), 4000 -10 %, 6200 0 %; then the unplanned
    # lines without a percent, bigger amount first.
    assert [line.account_id for line in top_variances(lines)] == ["5000", "4100", "4000", "6200", "7000", "6100"]
    assert [line.account_id for line in top_variances(lines, 2)] == ["5000", "4100"]
    assert top_variances(lines, 0) == []
    with pytest.raises(ValueError):
        top_variances(lines, -1)


def _line(account_id: str, pct: Decimal | None, variance: int) -> AccountVariance:
    return AccountVariance(account_id, account_id, AccountType.OPEX, variance, 0, variance, pct, variance <= 0)


_lines = st.lists(
    st.builds(
        _line,
        st.sampled_from(["4000", "4100", "5000", "6100", "6200", "7000", "1000"]),
        st.one_of(st.none(), st.decimals(min_value=-500, max_value=500, places=4)),
        st.integers(min_value=-(10**12), max_value=10**12),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(_lines, st.integers(min_value=0, max_value=35), st.randoms(use_true_random=False))
def test_top_variances_is_deterministic_and_independent_of_input_order(lines, n, rnd: random.Random):
    ranked = top_variances(lines, n)
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    assert top_variances(shuffled, n) == ranked
    assert top_variances(list(reversed(lines)), n) == ranked
    assert ranked == top_variances(lines, len(lines))[:n]
    # Numbers before None, and within numbers never a smaller |percent| ahead of a larger one.
    percents = [line.variance_pct for line in ranked]
    numbers = [p for p in percents if p is not None]
    assert percents[: len(numbers)] == numbers
    assert all(abs(a) >= abs(b) for a, b in zip(numbers, numbers[1:], strict=False))


def test_metric_variances_judge_costs_lower_is_better_and_margins_in_points():
    graph = MetricGraph()
    totals_actual = {AccountType.REVENUE: 1_200_000, AccountType.COGS: 500_000, AccountType.OPEX: 450_000}
    totals_budget = {AccountType.REVENUE: 1_000_000, AccountType.COGS: 400_000, AccountType.OPEX: 400_000}
    actual, budget = graph.evaluate(totals_actual), graph.evaluate(totals_budget)
    lines = {line.metric: line for line in metric_variances(actual, budget)}
    assert lines["revenue"].variance == 200_000 and lines["revenue"].favourable
    assert lines["revenue"].variance_pct == Decimal("20.0000")
    assert lines["opex"].variance == 50_000 and not lines["opex"].favourable
    assert lines["cogs"].variance_pct == Decimal("25.0000") and not lines["cogs"].favourable
    assert lines["ebitda"].actual == 250_000 and lines["ebitda"].comparison == 200_000 and lines["ebitda"].favourable
    margin = lines["gross_margin_pct"]
    # 58.3333 % against 60.0000 %: 1.6667 points worse, no percent of a percent.
    assert margin.unit == "points" and margin.variance == Decimal("-1.6667") and margin.variance_pct is None
    assert not margin.favourable
    assert lines["revenue"].unit == "minor"
    money_only = metric_variances(actual, budget, include_percentages=False)
    assert money_only and all(line.unit == "minor" for line in money_only)


def test_metrics_missing_on_one_side_are_skipped():
    graph = MetricGraph()
    actual = graph.evaluate({AccountType.OPEX: 10})  # no revenue: margins are None
    budget = graph.evaluate({AccountType.REVENUE: 100, AccountType.OPEX: 10})
    names = {line.metric for line in metric_variances(actual, budget)}
    assert "gross_margin_pct" not in names and "revenue" in names and "opex" in names


def test_variance_document_is_plain_json_with_int_amounts_and_float_percentages():
    lines = account_variances(
        {"4000": 1_150_000, "6100": 550_000, "7000": 10}, {"4000": 1_000_000, "6100": 500_000}, CHART
    )
    graph = MetricGraph()
    metrics = metric_variances(
        graph.evaluate({AccountType.REVENUE: 1_150_000, AccountType.OPEX: 550_000}),
        graph.evaluate({AccountType.REVENUE: 1_000_000, AccountType.OPEX: 500_000}),
    )
    document = variance_document(
        entity_id="us-east", period="2026-10", account_lines=lines, metric_lines=metrics, currency="USD", top_n=2
    )
    assert json.loads(json.dumps(document)) == document
    assert [row["account_id"] for row in document["top"]] == ["4000", "6100"]
    top = document["top"][0]
    assert top == {
        "account_id": "4000",
        "account_name": "Product revenue",
        "account_type": "revenue",
        "actual_minor": 1_150_000,
        "comparison_minor": 1_000_000,
        "variance_minor": 150_000,
        "variance_pct": 15.0,
        "favourable": True,
    }
    assert isinstance(top["actual_minor"], int) and isinstance(top["variance_pct"], float)
    assert document["line_count"] == 3 and document["favourable_count"] == 1 and document["unfavourable_count"] == 2
    assert document["comparison_scenario"] == "budget" and document["currency"] == "USD"
    margin = document["metrics"]["net_margin_pct"]
    assert margin["unit"] == "points" and margin["actual"] == 52.1739 and margin["variance"] == 2.1739
    assert document["metrics"]["revenue"]["actual"] == 1_150_000


DEFINED = {
    "runway_months": {"label": "Runway", "unit": "months", "direction": "higher_is_better"},
    "dso": {"label": "DSO", "unit": "days", "direction": "lower_is_better"},
    "cash_position": {"label": "Cash", "unit": "money", "direction": "higher_is_better"},
    "churn": {"label": "Churn", "unit": "percent", "direction": "lower_is_better"},
    "headcount": {"label": "Headcount", "unit": "count", "direction": "neutral"},
    "current_ratio": {"label": "Current ratio", "unit": "ratio", "direction": "higher_is_better"},
}


def test_defined_metric_variances_are_exact_in_the_unit_and_follow_the_direction():
    actual = {
        "runway_months": Decimal("5.25"),
        "dso": Decimal("48.00"),
        "cash_position": 4_500_000_00,
        "churn": Decimal("2.5000"),
        "headcount": 42,
        "current_ratio": None,  # undefined (no liabilities): no line
    }
    budget = {
        "runway_months": Decimal("7.00"),
        "dso": Decimal("45.00"),
        "cash_position": 5_000_000_00,
        "churn": Decimal("3.0000"),
        "headcount": 40,
        "current_ratio": Decimal("1.5"),
    }
    lines = {line.metric: line for line in defined_metric_variances(actual, budget, DEFINED)}
    assert sorted(lines) == ["cash_position", "churn", "dso", "headcount", "runway_months"]
    runway = lines["runway_months"]
    assert (runway.unit, runway.variance, runway.variance_pct, runway.favourable) == (
        "months",
        Decimal("-1.75"),
        Decimal("-25.0000"),
        False,
    )
    # Three days more than planned is bad news for DSO (lower is better): 6.6667% over.
    assert lines["dso"].variance == Decimal("3.00") and lines["dso"].variance_pct == Decimal("6.6667")
    assert lines["dso"].favourable is False
    cash = lines["cash_position"]
    assert (cash.unit, cash.variance, cash.variance_pct, cash.favourable) == (
        "minor",
        -50_000_000,
        Decimal("-10"),
        False,
    )
    churn = lines["churn"]
    assert (churn.unit, churn.variance, churn.variance_pct, churn.favourable) == ("points", Decimal("-0.5"), None, True)
    assert lines["headcount"].favourable is None and lines["headcount"].variance == 2
    assert all(line.defined and line.label == DEFINED[line.metric]["label"] for line in lines.values())


def test_defined_metric_lines_in_the_variance_document():
    lines = defined_metric_variances(
        {"runway_months": Decimal("5.25"), "cash_position": 100},
        {"runway_months": Decimal("7.00"), "cash_position": 80},
        DEFINED,
    )
    document = variance_document(entity_id="_all", period="2026-10", account_lines=[], metric_lines=lines)
    assert json.loads(json.dumps(document)) == document
    assert document["metrics"]["runway_months"] == {
        "label": "Runway",
        "unit": "months",
        "actual": 5.25,
        "comparison": 7.0,
        "variance": -1.75,
        "variance_pct": -25.0,
        "favourable": False,
        "defined": True,
    }
    assert document["metrics"]["cash_position"]["actual"] == 100
    assert document["metrics"]["cash_position"]["variance_pct"] == 25.0

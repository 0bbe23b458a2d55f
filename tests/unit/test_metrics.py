"""The standard P&L metrics of one aggregate: the expression engine's built-in definitions at one period,
in dependency order, None on a zero base, incremental = full."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from finance_core.accounts import AccountType
from finance_core.metric_series import BUILTIN_METRICS, parse_definition
from finance_core.metrics import (
    PERCENT_QUANTUM,
    STANDARD_METRICS,
    MetricGraph,
    linear_terms,
    totals_by_type,
)
from hypothesis import given, settings
from hypothesis import strategies as st

T = AccountType

# A month in minor units (cents): revenue 1,000.00, cogs 400.00, opex 300.00, other income 20.00,
# other expense (interest, D&A) 50.00, tax 60.00.
MONTH = {
    T.REVENUE: 100_000,
    T.COGS: 40_000,
    T.OPEX: 30_000,
    T.OTHER_INCOME: 2_000,
    T.OTHER_EXPENSE: 5_000,
    T.TAX: 6_000,
}


def test_the_standard_metrics_are_the_expression_engines_builtin_definitions():
    assert STANDARD_METRICS is BUILTIN_METRICS
    graph = MetricGraph()
    assert set(graph.definitions) == {spec.metric_id for spec in BUILTIN_METRICS}
    assert graph.definitions["gross_margin_pct"].text == "100 * gross_profit / revenue"


def test_the_standard_p_and_l_of_a_month():
    metrics = MetricGraph().evaluate(MONTH)
    assert metrics == {
        "revenue": 100_000,
        "cogs": 40_000,
        "opex": 30_000,
        "other_income": 2_000,
        "other_expense": 5_000,
        "tax": 6_000,
        "gross_profit": 60_000,
        "gross_margin_pct": Decimal("60.0000"),
        "ebitda": 30_000,
        "ebitda_margin_pct": Decimal("30.0000"),
        "net_income": 21_000,  # 1000 + 20 - 400 - 300 - 50 - 60
        "net_margin_pct": Decimal("21.0000"),
    }
    assert metrics["net_income"] == sum(
        amount * (1 if t in {T.REVENUE, T.OTHER_INCOME} else -1) for t, amount in MONTH.items()
    )


def test_ebitda_ignores_interest_and_depreciation():
    graph = MetricGraph()
    more_depreciation = graph.evaluate({**MONTH, T.OTHER_EXPENSE: 25_000})
    assert more_depreciation["ebitda"] == 30_000
    assert more_depreciation["net_income"] == 1_000


def test_dependency_order():
    order = MetricGraph().order
    assert set(order) == {d.metric_id for d in STANDARD_METRICS}
    before = [
        ("revenue", "gross_profit"),
        ("cogs", "gross_profit"),
        ("gross_profit", "gross_margin_pct"),
        ("gross_profit", "ebitda"),
        ("opex", "ebitda"),
        ("ebitda", "net_income"),
        ("tax", "net_income"),
        ("net_income", "net_margin_pct"),
        ("ebitda", "ebitda_margin_pct"),
    ]
    for first, then in before:
        assert order.index(first) < order.index(then), (first, then)


def test_a_margin_on_zero_revenue_is_none_not_a_crash():
    metrics = MetricGraph().evaluate({T.COGS: 500, T.OPEX: 200})
    assert metrics["revenue"] == 0
    assert metrics["gross_profit"] == -500 and metrics["ebitda"] == -700 and metrics["net_income"] == -700
    assert metrics["gross_margin_pct"] is None
    assert metrics["ebitda_margin_pct"] is None
    assert metrics["net_margin_pct"] is None


def test_nothing_booked_gives_zeros_and_no_margins():
    metrics = MetricGraph().evaluate({})
    assert {k: v for k, v in metrics.items() if not k.endswith("_pct")} == dict.fromkeys(
        ["revenue", "cogs", "opex", "other_income", "other_expense", "tax", "gross_profit", "ebitda", "net_income"], 0
    )
    assert all(metrics[k] is None for k in metrics if k.endswith("_pct"))


@pytest.mark.parametrize(
    ("gross_profit", "revenue", "margin"),
    [(1, 3, "33.3333"), (2, 3, "66.6667"), (1, 2_000_000, "0.0000"), (3, 2_000_000, "0.0002"), (-1, 3, "-33.3333")],
)
def test_margins_have_four_decimals_rounded_half_even(gross_profit, revenue, margin):
    metrics = MetricGraph().evaluate({T.REVENUE: revenue, T.COGS: revenue - gross_profit})
    assert metrics["gross_margin_pct"] == Decimal(margin)
    assert metrics["gross_margin_pct"].as_tuple().exponent == PERCENT_QUANTUM.as_tuple().exponent


def test_balance_sheet_types_feed_no_metric():
    graph = MetricGraph()
    assert graph.affected_by([T.ASSET, T.LIABILITY, T.EQUITY]) == []
    assert graph.evaluate({**MONTH, T.ASSET: 10**9}) == graph.evaluate(MONTH)


def test_affected_by_follows_the_dependents_in_order():
    graph = MetricGraph()
    assert graph.affected_by([T.TAX]) == ["tax", "net_income", "net_margin_pct"]
    assert graph.affected_by([T.OTHER_EXPENSE]) == ["other_expense", "net_income", "net_margin_pct"]
    cogs = graph.affected_by([T.COGS])
    assert set(cogs) == {
        "cogs",
        "gross_profit",
        "gross_margin_pct",
        "ebitda",
        "ebitda_margin_pct",
        "net_income",
        "net_margin_pct",
    }
    assert cogs == [n for n in graph.order if n in set(cogs)]
    assert "opex" not in graph.affected_by([T.REVENUE])


def test_only_the_affected_metrics_are_recomputed():
    graph = MetricGraph()
    previous = graph.evaluate(MONTH)
    # A value the change cannot reach is carried over as it is: set a wrong one to see it was not recomputed.
    previous["gross_margin_pct"] = Decimal("99.0000")
    changed = {**MONTH, T.TAX: 7_000}
    metrics = graph.evaluate(changed, previous=previous, changed_types=[T.TAX])
    assert metrics["gross_margin_pct"] == Decimal("99.0000")
    assert {k: v for k, v in metrics.items() if k != "gross_margin_pct"} == {
        k: v for k, v in graph.evaluate(changed).items() if k != "gross_margin_pct"
    }
    assert metrics["net_income"] == 20_000 and metrics["net_margin_pct"] == Decimal("20.0000")


def test_a_change_of_no_type_recomputes_nothing():
    graph = MetricGraph()
    previous = {**graph.evaluate(MONTH), "ebitda": 1}
    assert graph.evaluate(MONTH, previous=previous, changed_types=[]) == previous


def test_metrics_missing_from_previous_values_are_computed_too():
    graph = MetricGraph()
    previous = graph.evaluate(MONTH)
    del previous["ebitda_margin_pct"]
    previous["retired_metric"] = 1
    metrics = graph.evaluate(MONTH, previous=previous, changed_types=[T.TAX])
    assert metrics == MetricGraph().evaluate(MONTH), "unknown stored metrics are dropped, missing ones computed"


def test_without_changed_types_the_evaluation_is_full():
    graph = MetricGraph()
    assert graph.evaluate(MONTH, previous={"revenue": 1}) == graph.evaluate(MONTH)


# --- what readers learn from the definitions ---------------------------------------------------


def test_a_derived_metric_is_the_signed_sum_of_the_metrics_it_reads():
    by_id = {spec.metric_id: spec for spec in STANDARD_METRICS}
    assert linear_terms(by_id["gross_profit"]) == {"revenue": 1, "cogs": -1}
    assert linear_terms(by_id["net_income"]) == {"ebitda": 1, "other_income": 1, "other_expense": -1, "tax": -1}
    assert linear_terms(by_id["gross_margin_pct"]) is None, "a ratio is not a sum"
    assert linear_terms(by_id["revenue"]) is None, "an account selection is not a sum of metrics"
    assert linear_terms(parse_definition("x", {"label": "x", "expression": "-(a - b) + a"})) == {"b": 1}


def test_units_and_directions_come_from_the_definitions():
    by_id = {spec.metric_id: spec for spec in STANDARD_METRICS}
    assert {m for m, s in by_id.items() if s.is_percentage} == {
        "gross_margin_pct",
        "ebitda_margin_pct",
        "net_margin_pct",
    }
    lower = {m for m, s in by_id.items() if s.direction.value == "lower_is_better"}
    assert lower == {"cogs", "opex", "other_expense", "tax"}


def test_totals_by_type_sums_leaf_accounts_per_type():
    type_of = {"4100": T.REVENUE, "4200": T.REVENUE, "5100": T.COGS}
    assert totals_by_type({"4100": 100, "4200": 50, "5100": 30}, type_of) == {T.REVENUE: 150, T.COGS: 30}
    with pytest.raises(KeyError):
        totals_by_type({"9999": 1}, type_of)


# --- property: incremental evaluation equals a full one -----------------------------------------

PNL = [T.REVENUE, T.COGS, T.OPEX, T.OTHER_INCOME, T.OTHER_EXPENSE, T.TAX]
type_totals = st.dictionaries(st.sampled_from(PNL), st.integers(-(10**12), 10**12) | st.just(0))


@settings(max_examples=100, deadline=None)
@given(type_totals, type_totals)
def test_metrics_recomputed_incrementally_equal_a_full_evaluation(before, after):
    graph = MetricGraph()
    changed = {t for t in PNL if before.get(t, 0) != after.get(t, 0)}
    incremental = graph.evaluate(after, previous=graph.evaluate(before), changed_types=changed)
    assert incremental == graph.evaluate(after)


@settings(max_examples=40, deadline=None)
@given(st.lists(type_totals, min_size=1, max_size=6))
def test_a_chain_of_incremental_updates_never_drifts(states):
    graph = MetricGraph()
    current: dict = {}
    metrics = graph.evaluate(current)
    for state in states:
        changed = {t for t in PNL if current.get(t, 0) != state.get(t, 0)}
        metrics = graph.evaluate(state, previous=metrics, changed_types=changed)
        current = state
    assert metrics == graph.evaluate(current)


def _written_out(totals: dict) -> dict:
    """The standard P&L by hand, with the rounding the aggregates always had (margins: 4 decimals, half even)."""
    t = {k: totals.get(k, 0) for k in PNL}
    gross_profit = t[T.REVENUE] - t[T.COGS]
    ebitda = gross_profit - t[T.OPEX]
    net_income = ebitda + t[T.OTHER_INCOME] - t[T.OTHER_EXPENSE] - t[T.TAX]

    def margin(value: int) -> Decimal | None:
        if t[T.REVENUE] == 0:
            return None
        return (Decimal(value) * 100 / Decimal(t[T.REVENUE])).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)

    return {
        "revenue": t[T.REVENUE],
        "cogs": t[T.COGS],
        "opex": t[T.OPEX],
        "other_income": t[T.OTHER_INCOME],
        "other_expense": t[T.OTHER_EXPENSE],
        "tax": t[T.TAX],
        "gross_profit": gross_profit,
        "gross_margin_pct": margin(gross_profit),
        "ebitda": ebitda,
        "ebitda_margin_pct": margin(ebitda),
        "net_income": net_income,
        "net_margin_pct": margin(net_income),
    }


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(PNL), st.integers(-(10**15), 10**15) | st.integers(-1000, 1000)))
def test_the_definitions_give_the_p_and_l_written_out_to_the_minor_unit(totals):
    assert MetricGraph().evaluate(totals) == _written_out(totals)

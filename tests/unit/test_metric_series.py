"""Metric definitions over a series of periods: exact values, windows on the fiscal calendar, balances,
cycles and unknown references with their path, and incremental recomputation equal to a full one."""

from __future__ import annotations

import copy
import random
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
from finance_core.accounts import Account, ChartOfAccounts
from finance_core.accounts import AccountType as T
from finance_core.metric_library import library, with_requirements
from finance_core.metric_series import Calendar, DefinitionError, MetricSet, compile_definitions, parse_definition
from finance_core.metrics import MetricGraph, totals_by_type
from hypothesis import given, settings
from hypothesis import strategies as st

CHART = ChartOfAccounts(
    [
        Account("4000", "Revenue", T.REVENUE),
        Account("4100", "Product", T.REVENUE, "4000"),
        Account("4200", "Subscriptions", T.REVENUE, "4000", frozenset({"recurring"})),
        Account("5100", "Materials", T.COGS),
        Account("6100", "Salaries", T.OPEX),
        Account("7100", "Interest income", T.OTHER_INCOME),
        Account("8100", "Interest expense", T.OTHER_EXPENSE),
        Account("9100", "Income tax", T.TAX),
        Account("1000", "Cash", T.ASSET, None, frozenset({"cash", "current_asset"})),
        Account("1200", "Receivables", T.ASSET, None, frozenset({"receivable", "current_asset"})),
        Account("2100", "Payables", T.LIABILITY, None, frozenset({"payable", "current_liability"})),
        Account("2500", "Loan", T.LIABILITY, None, frozenset({"debt"})),
        Account("3000", "Equity", T.EQUITY),
    ]
)
LEAVES = [a.account_id for a in CHART if CHART.is_leaf(a.account_id)]
APRIL_YEAR = Calendar.spanning(["2025-01", "2026-12"], fiscal_year_start_month=4)


def _inputs(calendar: Calendar, seed: int) -> dict[str, dict[str, int]]:
    rng = random.Random(seed)
    return {p: {a: rng.randint(-50_000, 200_000) for a in LEAVES if rng.random() < 0.8} for p in calendar.periods}


def _metrics(documents, calendar=APRIL_YEAR) -> MetricSet:
    specs = [parse_definition(k, v) for k, v in documents.items()]
    return MetricSet(specs, CHART, calendar)


def test_the_builtin_metrics_equal_the_aggregate_documents_metrics():
    inputs = _inputs(APRIL_YEAR, 1)
    metric_set = _metrics({})
    values = metric_set.full(inputs)
    graph = MetricGraph()
    for i, period in enumerate(APRIL_YEAR.periods):
        expected = graph.evaluate(totals_by_type(inputs[period], {a: CHART.type_of(a) for a in inputs[period]}))
        for name, value in expected.items():
            if name in metric_set.index:
                assert metric_set.metric_values(values, name)[i] == value, (name, period)


def test_windows_follow_the_fiscal_year_and_balances_accumulate():
    metric_set = _metrics(
        {
            "rev_ytd": {"label": "x", "expression": "ytd(revenue)"},
            "rev_qtd": {"label": "x", "expression": "qtd(revenue)"},
            "rev_ttm": {"label": "x", "expression": "ttm(revenue)"},
            "rev_avg": {"label": "x", "expression": "avg(revenue, 3)"},
            "cash": {"label": "x", "expression": 'closing(tagged("cash"))'},
            "cash_open": {"label": "x", "expression": 'opening(tagged("cash"))'},
            "rev_prev_year": {"label": "x", "expression": "prev_year(revenue)"},
            "growth": {"label": "x", "expression": "growth(revenue)", "unit": "percent"},
        }
    )
    inputs = _inputs(APRIL_YEAR, 2)
    values = metric_set.full(inputs)
    periods = APRIL_YEAR.periods
    revenue = [sum(inputs[p].get(a, 0) for a in ("4100", "4200")) for p in periods]
    cash = [inputs[p].get("1000", 0) for p in periods]
    get = metric_set.metric_values
    for i, period in enumerate(periods):
        year_start = next(j for j in range(i, -1, -1) if j == 0 or periods[j].endswith("-04"))
        quarter_start = next(j for j in range(i, -1, -1) if j == 0 or periods[j][5:] in ("01", "04", "07", "10"))
        assert get(values, "rev_ytd")[i] == sum(revenue[year_start : i + 1]), period
        assert get(values, "rev_qtd")[i] == sum(revenue[quarter_start : i + 1]), period
        assert get(values, "rev_ttm")[i] == (sum(revenue[i - 11 : i + 1]) if i >= 11 else None), period
        expected_avg = Fraction(sum(revenue[i - 2 : i + 1]), 3) if i >= 2 else None
        assert get(values, "rev_avg")[i] == (None if expected_avg is None else round(expected_avg)), period
        assert get(values, "cash")[i] == sum(cash[: i + 1])
        assert get(values, "cash_open")[i] == sum(cash[:i])
        assert get(values, "rev_prev_year")[i] == (revenue[i - 12] if i >= 12 else None)
    assert metric_set.balances(values)["1000"] == get(values, "cash")
    assert set(metric_set.balances(values)) == {"1000", "1200", "2100", "2500", "3000"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-(10**9), 10**9), min_size=2, max_size=2), st.integers(1, 10**6))
def test_percent_and_ratio_values_are_exact_then_rounded_half_to_even(pair, base):
    calendar = Calendar(("2026-01",))
    metric_set = _metrics(
        {
            "r": {"label": "r", "expression": 'tagged("cash") / tagged("debt")', "unit": "ratio"},
            "p": {"label": "p", "expression": "100 * gross_profit / revenue", "unit": "percent"},
            "m": {"label": "m", "expression": "revenue / 7", "unit": "money"},
        },
        calendar,
    )
    cash, debt = pair
    values = metric_set.full({"2026-01": {"1000": cash, "2500": debt or 1, "4100": base, "5100": pair[0] % 997}})
    exact = Fraction(cash, debt or 1)
    assert metric_set.metric_values(values, "r")[0] == _half_even(exact, "0.0001")
    margin = Fraction(100 * (base - pair[0] % 997), base)
    assert metric_set.metric_values(values, "p")[0] == _half_even(margin, "0.0001")
    assert metric_set.metric_values(values, "m")[0] == int(_half_even(Fraction(base, 7), "1"))


def _half_even(value: Fraction, quantum: str) -> Decimal:
    scale = Fraction(1) / Fraction(Decimal(quantum))
    scaled = value * scale
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    rounded = floor + (1 if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2) else 0)
    return (Decimal(rounded) / Decimal(scale.numerator)).quantize(Decimal(quantum), ROUND_HALF_EVEN)


def test_division_by_zero_is_undefined_not_infinite():
    metric_set = _metrics(
        {"r": {"label": "r", "expression": 'closing(tagged("cash")) / positive(net_income)', "unit": "months"}},
        Calendar(("2026-01",)),
    )
    values = metric_set.full({"2026-01": {"1000": 500, "6100": 10}})
    assert metric_set.metric_values(values, "r") == [None]


def test_cycles_and_unknown_references_are_reported_with_their_path():
    documents = {
        "a": {"label": "a", "expression": "b + 1"},
        "b": {"label": "b", "expression": "c * 2"},
        "c": {"label": "c", "expression": "prev(a)"},
        "d": {"label": "d", "expression": "revenu - cogs"},
        "e": {"label": "e", "expression": "d / 2"},
        "f": {"label": "f", "expression": "ytd(revenue) +"},
        "ok": {"label": "ok", "expression": "ytd(revenue)"},
        "revenue": {"label": "mine", "expression": "1"},
    }
    metric_set, errors = compile_definitions(documents, CHART, APRIL_YEAR)
    assert set(errors) == {"a", "b", "c", "d", "e", "f", "revenue"}
    for member in "abc":
        assert "the metrics depend on themselves: " in str(errors[member])
        cycle = str(errors[member]).split(": ")[-1].split(" -> ")
        assert sorted(cycle[:-1]) == ["a", "b", "c"] and cycle[0] == cycle[-1]
    assert str(errors["d"]) == (
        "d.expression: unknown metric 'revenu' (did you mean 'revenue'?); define it or enable it from the library first"
    )
    assert str(errors["e"]).startswith("e.expression: reads 'd', which is not usable: unknown metric 'revenu'")
    assert str(errors["f"]).startswith("f.expression: the expression ends too early")
    assert "built-in metric and cannot be redefined" in str(errors["revenue"])
    assert "ok" in metric_set.metric_ids
    with pytest.raises(DefinitionError, match=r"^x\.unit: 'euros' is not one of money, percent"):
        parse_definition("x", {"label": "x", "expression": "1", "unit": "euros"})


# --- incremental == full -------------------------------------------------------------------------

TERMS = [
    'type("revenue")',
    'tagged("cash")',
    'account("4000")',
    'account("1200", "2100")',
    "revenue",
    "ebitda",
    "net_income",
    "3",
    "days()",
]
FUNCTIONS = [
    "prev({})",
    "prev_year({})",
    "growth({})",
    "growth_yoy({})",
    "ytd({})",
    "qtd({})",
    "ttm({})",
    "opening({})",
    "closing({})",
    "avg({}, 2)",
    "sum({}, 5)",
    "abs({})",
    "positive({})",
    "-({})",
]


@st.composite
def definition_sets(draw):
    """Random acyclic definitions: each may read the built-ins, accounts and the ones defined before it."""
    documents = {}
    for n in range(draw(st.integers(1, 12))):
        terms = TERMS + list(documents)
        expression = draw(st.sampled_from(terms))
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.integers(0, 2))
            if kind == 0:
                expression = draw(st.sampled_from(FUNCTIONS)).format(expression)
            else:
                operator = draw(st.sampled_from(["+", "-", "*", "/"]))
                expression = f"({expression}) {operator} {draw(st.sampled_from(terms))}"
        unit = draw(st.sampled_from(["money", "percent", "ratio", "days", "months", "count"]))
        documents[f"m{n}"] = {"label": f"m{n}", "expression": expression, "unit": unit}
    return documents


@settings(max_examples=80, deadline=None)
@given(
    definition_sets(),
    st.integers(0, 10**6),
    st.lists(
        st.tuples(st.integers(0, 23), st.sampled_from(LEAVES), st.integers(-(10**6), 10**6)), min_size=1, max_size=6
    ),
)
def test_incremental_recomputation_equals_a_full_one(documents, seed, changes):
    metric_set, errors = compile_definitions(documents, CHART, APRIL_YEAR)
    assert errors == {}
    inputs = _inputs(APRIL_YEAR, seed)
    values = metric_set.full(inputs)
    for index, account, amount in changes:
        period = APRIL_YEAR.periods[index]
        inputs[period] = {**inputs[period], account: amount}
        # Half of the updates name the changed account, half let the set find what moved.
        named = [account] if amount % 2 else None
        metric_set.update(values, period, inputs[period], named)
        assert values == metric_set.full(inputs)


def test_a_change_recomputes_only_what_it_can_affect():
    extra = {f"unrelated_{n}": {"label": "u", "expression": f'ytd(account("6100")) * {n + 1}'} for n in range(200)}
    small, _ = compile_definitions(library(), CHART, APRIL_YEAR)
    large, _ = compile_definitions({**library(), **extra}, CHART, APRIL_YEAR)
    inputs = _inputs(APRIL_YEAR, 3)
    counts = []
    for metric_set in (small, large):
        values = metric_set.full(inputs)
        period = APRIL_YEAR.periods[-1]
        counts.append(metric_set.update(values, period, {**inputs[period], "4100": 1}, ["4100"]))
    assert counts[0] == counts[1] > 0


def test_the_library_compiles_and_names_its_requirements():
    entries = library()
    assert len(entries) >= 20
    metric_set, errors = compile_definitions(entries, CHART, APRIL_YEAR)
    assert errors == {}
    assert with_requirements(["runway_months"]) == ["cash_position", "net_burn", "runway_months"]
    values = metric_set.full(_inputs(APRIL_YEAR, 4))
    arr, mrr = metric_set.metric_values(values, "arr"), metric_set.metric_values(values, "mrr")
    assert arr == [12 * v for v in mrr]
    missing, errors = compile_definitions({"arr": entries["arr"]}, CHART, APRIL_YEAR)
    assert "unknown metric 'mrr'" in str(errors["arr"])


def test_copying_the_state_keeps_updates_independent():
    metric_set, _ = compile_definitions(library(), CHART, APRIL_YEAR)
    inputs = _inputs(APRIL_YEAR, 5)
    values = metric_set.full(inputs)
    before = copy.deepcopy(values)
    metric_set.update(values, "2025-06", {**inputs["2025-06"], "1000": 0})
    assert values != before


def test_the_accounts_of_a_metric_are_its_selections_resolved_and_those_of_the_metrics_it_reads():
    metric_set = _metrics(
        {
            "mrr": {"label": "MRR", "expression": 'tagged("recurring")'},
            "arr": {"label": "ARR", "expression": "12 * mrr"},
            "cash_cover": {"label": "Cover", "expression": 'closing(tagged("cash")) / avg(opex, 3)', "unit": "ratio"},
            "product_share": {"label": "Share", "expression": 'account("4100") / account("4000")', "unit": "ratio"},
            "constant": {"label": "Seven", "expression": "7", "unit": "count"},
        }
    )
    assert metric_set.accounts_of("arr") == ["4200"]
    assert metric_set.accounts_of("cash_cover") == ["1000", "6100"]
    # A parent account stands for its leaves; the built-in gross profit reads revenue and COGS.
    assert metric_set.accounts_of("product_share") == ["4100", "4200"]
    assert metric_set.accounts_of("gross_profit") == ["4100", "4200", "5100"]
    assert metric_set.accounts_of("constant") == []
    assert metric_set.describe("arr")["accounts"] == ["4200"]
    assert metric_set.describe("arr")["expression"] == "12 * mrr"

"""Chart of accounts: types and sign rules, validation (cycles, parents, families), signed roll-ups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from finance_core.accounts import (
    BALANCE_SHEET,
    PROFIT_AND_LOSS,
    Account,
    AccountType,
    ChartError,
    ChartOfAccounts,
    higher_is_favourable,
    profit_sign,
)
from finance_core.metrics import MetricGraph, totals_by_type
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
T = AccountType


def demo_chart() -> ChartOfAccounts:
    reference = json.loads((ROOT / "demo_data" / "reference.json").read_text())
    return ChartOfAccounts.from_documents(
        {
            a["account_id"]: {"name": a["name"], "type": a["type"], "parent_id": a["parent_id"]}
            for a in reference["accounts"]
        }
    )


# --- account types and their signs -------------------------------------------------------------


def test_profit_sign_of_every_type():
    assert {t: profit_sign(t) for t in T} == {
        T.REVENUE: 1,
        T.OTHER_INCOME: 1,
        T.COGS: -1,
        T.OPEX: -1,
        T.OTHER_EXPENSE: -1,
        T.TAX: -1,
        T.ASSET: 0,
        T.LIABILITY: 0,
        T.EQUITY: 0,
    }


def test_which_types_are_good_news_when_higher():
    assert {t for t in T if higher_is_favourable(t)} == {T.REVENUE, T.OTHER_INCOME, T.ASSET, T.EQUITY}


def test_the_families_partition_the_types():
    assert PROFIT_AND_LOSS | BALANCE_SHEET == set(T)
    assert not PROFIT_AND_LOSS & BALANCE_SHEET


# --- the demo chart ----------------------------------------------------------------------------


def test_the_demo_chart_loads_with_its_tree():
    chart = demo_chart()
    assert len(chart) == 24 and "4100" in chart and "9999" not in chart  # 19 P&L accounts and 5 balance-sheet ones
    assert chart.type_of("8200") is T.OTHER_EXPENSE, "depreciation and amortisation sit below EBITDA"
    assert chart.children("4000") == ("4100", "4200", "4300")
    assert chart.ancestors("4100") == ("4000",) and chart.ancestors("4000") == ()
    assert chart.is_leaf("4100") and not chart.is_leaf("4000")
    assert chart.get("6200").name == "Marketing"
    with pytest.raises(KeyError):
        chart.get("9999")


def test_same_family_parents_sum_their_children():
    chart = demo_chart()
    totals = {"4100": 100_00, "4200": 50_00, "4300": 25_00, "6100": 40_00, "6200": 10_00}
    assert chart.rollups(totals) == {"4000": 175_00, "6000": 50_00}


# --- cross-family parents ----------------------------------------------------------------------


def profit_tree() -> ChartOfAccounts:
    return ChartOfAccounts(
        [
            Account("GP", "Gross profit", T.REVENUE),
            Account("OP", "Operating profit", T.REVENUE),
            Account("4000", "Revenue", T.REVENUE, "GP"),
            Account("4100", "Product revenue", T.REVENUE, "4000"),
            Account("4200", "Services revenue", T.REVENUE, "4000"),
            Account("5000", "Cost of goods sold", T.COGS, "GP"),
            Account("5100", "Materials", T.COGS, "5000"),
            Account("6000", "Operating expenses", T.OPEX),
            Account("6100", "Salaries", T.OPEX, "6000"),
        ]
    )


def test_gross_profit_group_is_revenue_minus_cogs():
    chart = profit_tree()
    rollups = chart.rollups({"4100": 600_00, "4200": 400_00, "5100": 350_00})
    assert rollups["4000"] == 1000_00
    assert rollups["5000"] == 350_00, "the cogs group keeps the natural positive balance"
    assert rollups["GP"] == 650_00, "gross profit = revenue 1000 - cogs 350"
    assert chart.rollup_sign("5000", "GP") == -1 and chart.rollup_sign("4000", "GP") == 1


def test_a_parent_of_expense_type_nets_revenue_negatively():
    chart = ChartOfAccounts(
        [
            Account("NC", "Net cost", T.OPEX),
            Account("6100", "Rent", T.OPEX, "NC"),
            Account("7100", "Sublet", T.OTHER_INCOME, "NC"),
        ]
    )
    assert chart.rollups({"6100": 1000, "7100": 300}) == {"NC": 700}, "rent 1000 - sublet income 300, seen as a cost"


def test_a_net_income_group_equals_the_net_income_metric():
    accounts = [Account("NI", "Net income", T.REVENUE)]
    amounts = {
        T.REVENUE: 1000_00,
        T.OTHER_INCOME: 20_00,
        T.COGS: 400_00,
        T.OPEX: 300_00,
        T.OTHER_EXPENSE: 50_00,
        T.TAX: 60_00,
    }
    leaves = {}
    for account_type in amounts:
        accounts.append(Account(f"{account_type.value}-leaf", account_type.value, account_type, "NI"))
        leaves[f"{account_type.value}-leaf"] = amounts[account_type]
    chart = ChartOfAccounts(accounts)
    net_income = 1000_00 + 20_00 - 400_00 - 300_00 - 50_00 - 60_00
    assert chart.rollups(leaves)["NI"] == net_income == 210_00
    metrics = MetricGraph().evaluate(totals_by_type(leaves, {a: chart.type_of(a) for a in leaves}))
    assert metrics["net_income"] == net_income


def test_signs_multiply_along_the_path():
    chart = profit_tree()
    chart = ChartOfAccounts([*chart, Account("TOP", "Operating result", T.REVENUE)])
    chart = ChartOfAccounts(
        [a if a.account_id not in {"GP", "6000"} else Account(a.account_id, a.name, a.type, "TOP") for a in chart]
    )
    rollups = chart.rollups({"4100": 1000, "5100": 300, "6100": 200})
    assert rollups["GP"] == 700 and rollups["6000"] == 200
    assert rollups["TOP"] == 500, "operating result = gross profit 700 - opex 200"
    assert chart.ancestors("5100") == ("5000", "GP", "TOP")


def test_balance_sheet_groups_sum_within_the_family():
    chart = ChartOfAccounts(
        [
            Account("1000", "Assets", T.ASSET),
            Account("1100", "Cash", T.ASSET, "1000"),
            Account("1200", "Receivables", T.ASSET, "1000"),
        ]
    )
    assert chart.rollups({"1100": 500, "1200": 250}) == {"1000": 750}


@pytest.mark.parametrize(("parent", "child"), [(T.ASSET, T.REVENUE), (T.REVENUE, T.LIABILITY), (T.OPEX, T.EQUITY)])
def test_balance_sheet_and_pnl_accounts_do_not_mix_and_the_chart_says_so_on_load(parent, child):
    accounts = [Account("P", "parent", parent), Account("C", "child", child, "P")]
    with pytest.raises(ChartError, match="balance-sheet and P&L accounts do not mix"):
        ChartOfAccounts(accounts)


# --- roll-up deltas ----------------------------------------------------------------------------


def test_rollup_deltas_propagate_a_change_to_every_ancestor():
    chart = profit_tree()
    assert chart.rollup_deltas({"5100": 25}) == {"5000": 25, "GP": -25}
    assert chart.rollup_deltas({"4100": 10, "4200": -10}) == {}, "changes that cancel leave no entry"
    assert chart.rollup_deltas({"4100": 0}) == {}
    assert chart.rollup_deltas({"6000": 5, "6100": 5}) == {"6000": 5}


# --- validation --------------------------------------------------------------------------------


def test_a_cycle_is_reported_with_its_path():
    accounts = [Account("a", "A", T.OPEX, "c"), Account("b", "B", T.OPEX, "a"), Account("c", "C", T.OPEX, "b")]
    with pytest.raises(ChartError, match="the account tree has a cycle: a -> c -> b -> a"):
        ChartOfAccounts(accounts)


def test_an_account_that_is_its_own_parent_is_a_cycle():
    with pytest.raises(ChartError, match="cycle: x -> x"):
        ChartOfAccounts([Account("x", "X", T.OPEX, "x")])


def test_a_branch_hanging_from_a_cycle_shows_the_way_in():
    accounts = [Account("leaf", "L", T.OPEX, "a"), Account("a", "A", T.OPEX, "b"), Account("b", "B", T.OPEX, "a")]
    with pytest.raises(ChartError, match="cycle: leaf -> a -> b -> a"):
        ChartOfAccounts(accounts)


def test_unknown_parent_duplicate_account_and_unsafe_id_are_refused():
    with pytest.raises(ChartError, match="'6100' has unknown parent '6000'"):
        ChartOfAccounts([Account("6100", "Salaries", T.OPEX, "6000")])
    with pytest.raises(ChartError, match="'6100' is defined twice"):
        ChartOfAccounts([Account("6100", "Salaries", T.OPEX), Account("6100", "Wages", T.OPEX)])
    with pytest.raises(ChartError, match="must not contain '__'"):
        ChartOfAccounts([Account("61__00", "Salaries", T.OPEX)])


def test_from_documents_reads_firestore_shapes():
    chart = ChartOfAccounts.from_documents(
        {
            "4000": {"name": "Revenue", "type": "revenue", "parent_id": ""},
            "4100": {"type": "revenue", "parent_id": "4000"},
        }
    )
    assert chart.get("4000").parent_id is None, "an empty parent is a root"
    assert chart.get("4100").name == "4100", "a missing name falls back to the id"
    assert chart.ancestors("4100") == ("4000",)


def test_from_documents_names_the_bad_type_and_the_valid_ones():
    with pytest.raises(ChartError, match="'4000' has type 'income'; expected one of revenue, cogs, opex"):
        ChartOfAccounts.from_documents({"4000": {"name": "Revenue", "type": "income"}})


# --- property: the roll-up invariant -----------------------------------------------------------

PNL_TYPES = sorted(PROFIT_AND_LOSS)
BS_TYPES = sorted(BALANCE_SHEET)


@st.composite
def charts_with_totals(draw):
    """A random forest (parents always earlier, so no cycles) of one family, and leaf totals."""
    size = draw(st.integers(1, 20))
    family = draw(st.sampled_from([PNL_TYPES, BS_TYPES]))
    accounts = []
    for index in range(size):
        parent = draw(st.one_of(st.none(), st.integers(0, index - 1))) if index else None
        account_type = draw(st.sampled_from(family))
        accounts.append(Account(f"a{index}", f"A{index}", account_type, None if parent is None else f"a{parent}"))
    chart = ChartOfAccounts(accounts)
    totals = {a.account_id: draw(st.integers(-(10**12), 10**12)) for a in chart if chart.is_leaf(a.account_id)}
    return chart, totals


@settings(max_examples=60, deadline=None)
@given(charts_with_totals())
def test_each_parent_equals_the_signed_sum_of_its_children(chart_and_totals):
    chart, totals = chart_and_totals
    rollups = chart.rollups(totals)
    assert set(rollups) <= {a.account_id for a in chart if not chart.is_leaf(a.account_id)}
    for account in chart:
        parent = account.account_id
        if chart.is_leaf(parent):
            continue
        expected = 0
        for child in chart.children(parent):
            value = totals.get(child, 0) if chart.is_leaf(child) else rollups.get(child, 0)
            expected += chart.rollup_sign(child, parent) * value
        assert rollups.get(parent, 0) == expected, parent


@settings(max_examples=40, deadline=None)
@given(charts_with_totals(), st.data())
def test_rollups_are_linear_so_deltas_can_be_applied_one_by_one(chart_and_totals, data):
    chart, totals = chart_and_totals
    change = {k: data.draw(st.integers(-(10**9), 10**9)) for k in totals}
    after = {k: totals[k] + change[k] for k in totals}
    before_rollups, after_rollups = chart.rollups(totals), chart.rollups(after)
    deltas = chart.rollup_deltas(change)
    for parent in set(before_rollups) | set(after_rollups) | set(deltas):
        assert after_rollups.get(parent, 0) - before_rollups.get(parent, 0) == deltas.get(parent, 0)

"""Cash: daily net cash flow of the cash-tagged accounts and the 13-week forecast with its interval."""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from decimal import Decimal

from finance_core.accounts import Account, AccountType, ChartOfAccounts
from finance_core.cash import cash_accounts, cash_balance, complete_weeks, daily_cash_flow, forecast_cash

CHART = ChartOfAccounts(
    [
        Account("1000", "Cash", AccountType.ASSET, tags=frozenset({"cash"})),
        Account("1010", "Operating account", AccountType.ASSET, "1000", tags=frozenset({"cash"})),
        Account("1020", "Savings", AccountType.ASSET, "1000", tags=frozenset({"cash"})),
        Account("2050", "Overdraft", AccountType.LIABILITY, tags=frozenset({"cash"})),
        Account("4100", "Product revenue", AccountType.REVENUE),
    ]
)


def test_the_cash_accounts_are_the_tagged_leaves_and_an_overdraft_counts_against_cash():
    assert cash_accounts(CHART) == {"1010": 1, "1020": 1, "2050": -1}


def test_the_daily_flow_sums_the_cash_movements_of_each_day_across_months():
    documents = [
        {"period": "2026-09", "accounts": {"1010": 500, "4100": 900}, "days": {
            "30": {"accounts": {"1010": 300, "4100": 900}, "record_count": 2}}},
        {"period": "2026-10", "accounts": {"1010": -50, "2050": 20}, "days": {
            "01": {"accounts": {"1010": -50, "2050": 20}, "record_count": 2}}},
    ]  # fmt: skip
    flows = daily_cash_flow(documents, cash_accounts(CHART))
    assert flows == {date(2026, 9, 30): 300, date(2026, 10, 1): -70}
    # The balance counts undated movements too (500 in September, 300 of them dated).
    assert cash_balance(documents, cash_accounts(CHART), "2026-10") == 500 - 50 - 20


def test_complete_weeks_leave_out_the_week_in_progress_and_count_empty_weeks_as_zero():
    daily = {date(2026, 10, 5): 100, date(2026, 10, 20): -40, date(2026, 11, 4): 999}
    # 2026-11-04 is a Wednesday: its week is in progress on 2026-11-05.
    assert complete_weeks(daily, date(2026, 11, 5)) == [
        ("2026-W41", 100),
        ("2026-W42", 0),
        ("2026-W43", -40),
        ("2026-W44", 0),
    ]


def test_the_forecast_projects_the_mean_weekly_flow_with_a_widening_interval_and_a_runway():
    as_of = date(2026, 11, 5)
    monday = date(2026, 11, 2) - timedelta(weeks=8)
    weekly = [-1000_00, -1200_00, -800_00, -1100_00, -900_00, -1000_00, -1300_00, -700_00]
    daily = {monday + timedelta(weeks=i, days=2): flow for i, flow in enumerate(weekly)}
    forecast = forecast_cash(daily, 10_000_00, as_of)
    assert [w for _, w in forecast.history] == weekly
    assert forecast.mean_weekly_flow_minor == -1000_00
    expected_stdev = Decimal(statistics.stdev(weekly))
    assert abs(forecast.stdev_weekly_flow_minor - int(expected_stdev)) <= 1
    assert len(forecast.weeks) == 13 and forecast.weeks[0].week == "2026-W46"
    first, last = forecast.weeks[0], forecast.weeks[-1]
    assert first.balance_minor == 9_000_00 and last.balance_minor == 10_000_00 - 13 * 1000_00
    assert first.lower_minor < first.balance_minor < first.upper_minor
    assert (last.upper_minor - last.lower_minor) > (first.upper_minor - first.lower_minor), "the band widens"
    assert forecast.burn_weekly_minor == 1000_00 and forecast.runway_weeks == 10
    assert forecast.as_document()["method"].startswith("mean weekly net cash flow")


def test_a_short_history_has_no_interval_and_growing_cash_no_runway():
    forecast = forecast_cash({date(2026, 10, 27): 500}, 100, date(2026, 11, 5))
    assert forecast.weeks[0].lower_minor is None and forecast.burn_weekly_minor == 0 and forecast.runway_weeks is None

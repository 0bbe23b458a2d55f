"""Cash: daily net cash flow of the cash-tagged accounts and the 13-week forecast with its interval."""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from decimal import Decimal

import pytest
from finance_core.accounts import Account, AccountType, ChartOfAccounts
from finance_core.cash import (
    BURNING,
    NO_HISTORY,
    NOT_BURNING,
    cash_accounts,
    cash_balance,
    cash_runway,
    complete_weeks,
    daily_cash_flow,
    forecast_cash,
    forecast_kpis,
)

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


def test_burn_is_the_forecasts_average_weekly_outflow_and_runway_the_cash_over_its_monthly_burn():
    as_of = date(2026, 11, 5)
    monday = date(2026, 11, 2) - timedelta(weeks=4)
    # -1,000.00, -1,100.00, -900.00, -1,000.01 a week: mean -1,000.0025 a week.
    weekly = [-1000_00, -1100_00, -900_00, -1000_01]
    daily = {monday + timedelta(weeks=i): flow for i, flow in enumerate(weekly)}
    runway = forecast_cash(daily, 12_345_67, as_of).runway
    assert runway.status == BURNING
    # The forecast's 13 weeks each project the mean: their average outflow is the burn.
    weekly_burn = Decimal(sum(weekly)) / -4
    assert runway.burn_weekly_minor == 1000_00  # 1,000.0025 at the minor unit, half to even
    assert runway.burn_monthly_minor == int((weekly_burn * 13 / 3).to_integral_value()) == 4333_34
    # 12,345.67 / 4,333.344... = 2.8489...: rounded down to a tenth, never up.
    assert runway.runway_months == Decimal("2.8") and runway.runway_weeks == 12
    document = runway.as_document()
    assert document["runway_months"] == "2.8" and document["burn_monthly_minor"] == 4333_34
    assert forecast_cash(daily, 12_345_67, as_of).as_document()["runway"] == document


@pytest.mark.parametrize("weekly", [[500, 0, -500, 0], [0, 0, 0, 0], [1, 2, 3, 4]])
def test_a_forecast_that_holds_or_grows_the_cash_is_not_burning_and_has_no_runway_in_months(weekly):
    monday = date(2026, 11, 2) - timedelta(weeks=4)
    daily = {monday + timedelta(weeks=i): flow for i, flow in enumerate(weekly)}
    runway = forecast_cash(daily, 100_00, date(2026, 11, 5)).runway
    assert runway.status == NOT_BURNING
    assert runway.burn_weekly_minor == runway.burn_monthly_minor == 0
    assert runway.runway_months is None and runway.runway_weeks is None
    entries = forecast_kpis(runway.as_document(), ["net_burn", "runway_months", "arr"])
    assert set(entries) == {"net_burn", "runway_months"}
    assert entries["runway_months"]["value"] is None and entries["runway_months"]["status"] == NOT_BURNING
    assert entries["net_burn"]["value"] == 0


def test_no_complete_week_is_no_burn_and_no_runway_and_no_cash_left_is_a_runway_of_zero():
    no_history = forecast_cash({date(2026, 11, 4): -500}, 100, date(2026, 11, 5)).runway
    assert no_history.status == NO_HISTORY and no_history.burn_monthly_minor is None
    assert no_history.runway_months is None
    overdrawn = cash_runway(Decimal(-300), -50, date(2026, 11, 5))
    assert overdrawn.status == BURNING and overdrawn.runway_months == 0 and overdrawn.runway_weeks == 0
    assert overdrawn.burn_monthly_minor == 1300  # 300 a week x 13 / 3


def test_the_kpi_entries_carry_the_runway_exactly():
    runway = cash_runway(Decimal("-3000.5"), 1_000_000, date(2026, 11, 5))
    entries = forecast_kpis(runway.as_document(), ["runway_months", "net_burn"])
    assert entries["runway_months"]["value"] == runway.runway_months == Decimal("76.9")  # 76.91...
    assert entries["net_burn"]["value"] == runway.burn_monthly_minor == 13002  # 13,002.1666...
    assert all(e["basis"] == "cash_forecast" and e["previous"] is None for e in entries.values())


def test_the_forecast_is_as_of_today_but_never_after_the_month_in_progress():
    from finance_core.trend_series import cash_as_of, cash_document

    assert cash_as_of("2026-11", date(2026, 11, 18)) == date(2026, 11, 18)
    assert cash_as_of("2026-11", date(2026, 12, 7)) == date(2026, 11, 30)
    assert cash_as_of("2026-11", date(2027, 6, 1)) == date(2026, 11, 30)
    # An org whose month in progress is November, read in June of the next year: its November weeks are
    # fitted on, not 26 weeks of zero flow that its books have not reached.
    weekly = [-1000_00, -1100_00, -900_00, -1000_00]
    documents = [
        {
            "period": "2026-11",
            "accounts": {"1010": sum(weekly) + 50_000_00},
            "days": {
                f"{4 + 7 * i:02d}": {"accounts": {"1010": flow}, "record_count": 1} for i, flow in enumerate(weekly)
            },
        }
    ]
    body = cash_document(documents, CHART, "USD", "2026-11", date(2027, 6, 1))
    assert body is not None and body["as_of"] == "2026-11-30"
    assert [h["flow_minor"] for h in body["history"]] == weekly
    assert body["runway"]["status"] == BURNING and body["runway"]["as_of"] == "2026-11-30"
    assert body["runway"]["burn_weekly_minor"] == 1000_00 and body["weeks"][0]["week"] == "2026-W50"
    assert [d["date"] for d in body["daily"]] == ["2026-11-04", "2026-11-11", "2026-11-18", "2026-11-25"]
    # The month in progress is today's month: the forecast is as of today, as before.
    assert cash_document(documents, CHART, "USD", "2026-11", date(2026, 11, 26))["as_of"] == "2026-11-26"

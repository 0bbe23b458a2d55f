"""The demo group's cash forecast computed from demo_data/ alone (each dated line converted at its month's rate,
as the consolidation does), for the tests that check the pipeline's and the dashboard's figures against it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from finance_core.cash import CashForecast, forecast_cash
from finance_core.money import convert_to_reporting_minor
from finance_core.trend_series import cash_as_of

from tools.stack.seed import demo_history, demo_reference


def demo_cash_forecast(today: date) -> CashForecast:
    """The forecast the demo org's `trends/cash__forecast` should hold on `today`, from the bundled history."""
    reference = demo_reference()
    reporting = reference["org"]["reporting_currency"]
    cash = {a["account_id"] for a in reference["accounts"] if "cash" in a.get("tags", [])}
    daily: dict[date, int] = {}
    balance = 0
    for row in demo_history():
        if row["account_id"] not in cash or row["scenario"] != "actual":
            continue
        rate = reference["fx_rates"][row["period"]].get(row["currency"])
        minor = convert_to_reporting_minor(Decimal(row["amount"]), row["currency"], reporting, Decimal(rate))
        balance += minor
        if row.get("date"):
            day = date.fromisoformat(row["date"])
            daily[day] = daily.get(day, 0) + minor
    return forecast_cash(daily, balance, cash_as_of(reference["current_period"], today))

"""Cash: daily net cash flow of the cash-tagged accounts, and a 13-week cash forecast with an interval.

Net cash flow of a day is the sum of that day's movements on the accounts the chart tags `cash`
(an asset's movement counts as it is, a cash-tagged liability such as an overdraft counts with the
opposite sign), from the daily totals of the consolidated actual aggregates
(`finance_core.days`). Only dated records have a day: cash movements without a booking date count
in the balance but in no day.

The forecast (docs/kpis.md, "Cash"):
- weekly net flows are the ISO weeks of the daily flows; the history is the last `HISTORY_WEEKS`
  complete weeks (the week in progress is not fitted on, finance_core.progress);
- each of the next 13 weeks is forecast at the mean weekly flow of that history, a random walk with
  drift for the balance: the balance after h weeks is the opening balance plus h times the mean;
- the interval is the ~95% band of that walk: +- 1.96 x s x sqrt(h), s the sample standard
  deviation of the weekly flows (at least `MIN_HISTORY_WEEKS` weeks, else no interval);
- burn and runway (`CashRunway`, the one definition every screen, document and report reads):
  burn is the average weekly net outflow the forecast projects over its 13 weeks, quoted per month
  as that 13-week outflow / 3 (13 weeks are a quarter); runway is the cash on hand over the monthly
  burn, in months rounded down to a tenth. A forecast that is net positive (cash grows or holds) is
  "not burning": burn 0 and no runway, never a number of months. No complete week of dated cash
  movements: no forecast, neither burn nor runway.
Everything is exact: integer minor units, Decimal arithmetic, half to even at the minor unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

from finance_core.accounts import AccountType, ChartOfAccounts
from finance_core.days import daily_values, iso_week, week_start

CASH_TAG = "cash"
FORECAST_WEEKS = 13
HISTORY_WEEKS = 26
MIN_HISTORY_WEEKS = 4
Z_95 = Decimal("1.96")
METHOD = (
    "mean weekly net cash flow of the last complete weeks (up to 26), projected as a random walk with "
    "drift; 95% interval +- 1.96 x standard deviation x sqrt(weeks ahead)"
)


def cash_accounts(chart: ChartOfAccounts) -> dict[str, int]:
    """Cash-tagged leaf accounts and the sign of their movements in the cash flow (+1, or -1 for a liability)."""
    return {
        account.account_id: -1 if account.type is AccountType.LIABILITY else 1
        for account in chart
        if CASH_TAG in account.tags and chart.is_leaf(account.account_id)
    }


def daily_cash_flow(documents: Iterable[Mapping[str, Any]], accounts: Mapping[str, int]) -> dict[date, int]:
    """Net cash flow per day from consolidated actual aggregates (their `days`), in minor units."""
    documents = list(documents)
    flows: dict[date, int] = {}
    for account_id, sign in accounts.items():
        for day, value in daily_values(documents, account_ids=[account_id]).items():
            flows[day] = flows.get(day, 0) + sign * value.minor
    return dict(sorted(flows.items()))


def cash_balance(documents: Iterable[Mapping[str, Any]], accounts: Mapping[str, int], through: str) -> int:
    """Closing cash: every movement on the cash accounts in the periods up to `through` (dated or not)."""
    total = 0
    for document in documents:
        if str(document.get("period")) <= through:
            values = dict(document.get("accounts") or {})
            total += sum(sign * int(values.get(account_id, 0)) for account_id, sign in accounts.items())
    return total


BURNING = "burning"
NOT_BURNING = "not_burning"
NO_HISTORY = "no_history"
NO_CASH_ACCOUNTS = "no_cash_accounts"
WEEKS_PER_QUARTER = 13
MONTHS_PER_QUARTER = 3
RUNWAY_QUANTUM = Decimal("0.1")
RUNWAY_DEFINITION = (
    "burn: the average weekly net cash outflow of the 13-week cash forecast, per month = 13-week outflow / 3; "
    "runway: cash on hand / monthly burn, in months rounded down to a tenth; "
    "none when the forecast is net positive (not burning)"
)


@dataclass(frozen=True)
class CashRunway:
    """Burn and runway of the 13-week cash forecast: the one definition of both (docs/kpis.md, "Burn and runway").

    `status` is `burning`, `not_burning` (the forecast holds or grows the cash: burn 0, no runway),
    `no_history` (no complete week of dated cash movements yet) or `no_cash_accounts` (the chart
    tags no account `cash`); runway is given only when burning.
    """

    status: str
    as_of: date | None
    cash_minor: int | None
    burn_weekly_minor: int | None
    burn_monthly_minor: int | None
    runway_weeks: int | None
    runway_months: Decimal | None

    def as_document(self) -> dict[str, Any]:
        """Stored as is in `trends/cash__forecast.runway` and `kpis/current.cash` (runway months as text: exact)."""
        return {
            "status": self.status,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "cash_minor": self.cash_minor,
            "burn_weekly_minor": self.burn_weekly_minor,
            "burn_monthly_minor": self.burn_monthly_minor,
            "runway_weeks": self.runway_weeks,
            "runway_months": None if self.runway_months is None else str(self.runway_months),
            "definition": RUNWAY_DEFINITION,
        }


NO_RUNWAY = CashRunway(NO_CASH_ACCOUNTS, None, None, None, None, None, None)


def cash_runway(mean_weekly_flow: Decimal | None, cash_minor: int, as_of: date) -> CashRunway:
    """Burn and runway from the forecast's weekly net flow (exact) and the cash on hand.

    The forecast projects the same flow for each of its 13 weeks, so its average weekly outflow is
    the opposite of that flow. Cash at or below zero while burning is a runway of 0.
    """
    if mean_weekly_flow is None:
        return CashRunway(NO_HISTORY, as_of, cash_minor, None, None, None, None)
    if mean_weekly_flow >= 0:
        return CashRunway(NOT_BURNING, as_of, cash_minor, 0, 0, None, None)
    weekly = -mean_weekly_flow
    monthly = weekly * WEEKS_PER_QUARTER / MONTHS_PER_QUARTER
    cash = Decimal(max(cash_minor, 0))
    weeks = int((cash / weekly).to_integral_value(rounding=ROUND_FLOOR))
    months = (cash / monthly).quantize(RUNWAY_QUANTUM, rounding=ROUND_FLOOR)
    return CashRunway(BURNING, as_of, cash_minor, _minor(weekly), _minor(monthly), weeks, months)


@dataclass(frozen=True)
class WeekForecast:
    """One forecast week: its ISO week, Monday, expected net flow, and the balance with its interval."""

    week: str
    week_start: date
    flow_minor: int
    balance_minor: int
    lower_minor: int | None
    upper_minor: int | None


@dataclass(frozen=True)
class CashForecast:
    """The 13-week cash forecast and what it was fitted on."""

    as_of: date
    opening_balance_minor: int
    history: tuple[tuple[str, int], ...]  # (ISO week, net flow) of the complete weeks fitted on
    mean_weekly_flow_minor: int | None
    stdev_weekly_flow_minor: int | None
    weeks: tuple[WeekForecast, ...]
    runway: CashRunway

    @property
    def burn_weekly_minor(self) -> int | None:
        return self.runway.burn_weekly_minor

    @property
    def runway_weeks(self) -> int | None:
        return self.runway.runway_weeks

    def as_document(self) -> dict[str, Any]:
        """The forecast as stored (cash/forecast) and shown."""
        return {
            "as_of": self.as_of.isoformat(),
            "method": METHOD,
            "opening_balance_minor": self.opening_balance_minor,
            "history": [{"week": week, "flow_minor": flow} for week, flow in self.history],
            "mean_weekly_flow_minor": self.mean_weekly_flow_minor,
            "stdev_weekly_flow_minor": self.stdev_weekly_flow_minor,
            "weeks": [
                {
                    "week": w.week,
                    "week_start": w.week_start.isoformat(),
                    "flow_minor": w.flow_minor,
                    "balance_minor": w.balance_minor,
                    "lower_minor": w.lower_minor,
                    "upper_minor": w.upper_minor,
                }
                for w in self.weeks
            ],
            "burn_weekly_minor": self.burn_weekly_minor,
            "runway_weeks": self.runway_weeks,
            "runway": self.runway.as_document(),
        }


def _minor(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), ROUND_HALF_EVEN))


def complete_weeks(daily: Mapping[date, int], as_of: date, history_weeks: int = HISTORY_WEEKS) -> list[tuple[str, int]]:
    """(ISO week, net flow) of the complete weeks before `as_of`'s week, oldest first, at most `history_weeks`.

    Weeks without a dated movement between the first and the last are weeks of zero flow.
    """
    current = week_start(as_of)
    days = [day for day in daily if week_start(day) < current]
    if not days:
        return []
    first = max(week_start(min(days)), current - timedelta(weeks=history_weeks))
    weeks: dict[date, int] = {}
    monday = first
    while monday < current:
        weeks[monday] = 0
        monday += timedelta(weeks=1)
    for day, flow in daily.items():
        monday = week_start(day)
        if monday in weeks:
            weeks[monday] += int(flow)
    return [(iso_week(monday), flow) for monday, flow in sorted(weeks.items())]


def forecast_cash(
    daily: Mapping[date, int], opening_balance_minor: int, as_of: date, weeks: int = FORECAST_WEEKS
) -> CashForecast:
    """The `weeks`-week forecast of the cash balance from the daily net flows known on `as_of`."""
    history = complete_weeks(daily, as_of)
    flows = [Decimal(flow) for _, flow in history]
    mean = sum(flows, Decimal(0)) / len(flows) if flows else None
    stdev = None
    if mean is not None and len(flows) >= MIN_HISTORY_WEEKS:
        variance = sum(((f - mean) ** 2 for f in flows), Decimal(0)) / (len(flows) - 1)
        stdev = variance.sqrt()
    # The week in progress is partial: the forecast covers the weeks after it.
    start = week_start(as_of) + timedelta(weeks=1)
    forecast: list[WeekForecast] = []
    for ahead in range(1, weeks + 1):
        monday = start + timedelta(weeks=ahead - 1)
        expected = Decimal(opening_balance_minor) + (mean or 0) * ahead
        band = None if stdev is None else Z_95 * stdev * Decimal(ahead).sqrt()
        forecast.append(
            WeekForecast(
                iso_week(monday),
                monday,
                _minor(mean or Decimal(0)),
                _minor(expected),
                None if band is None else _minor(expected - band),
                None if band is None else _minor(expected + band),
            )
        )
    return CashForecast(
        as_of,
        opening_balance_minor,
        tuple(history),
        None if mean is None else _minor(mean),
        None if stdev is None else _minor(stdev),
        tuple(forecast),
        cash_runway(mean, opening_balance_minor, as_of),
    )


# The library's burn and runway metrics (finance_core.metric_library): their current value everywhere
# is the forecast's, so a screen, a report and the KPI document never show two runways.
FORECAST_KPIS = ("net_burn", "runway_months")


def runway_value(metric: str, runway: Mapping[str, Any] | None) -> int | Decimal | None:
    """The value of `net_burn` (monthly burn, minor units) or `runway_months` (exact months) in a stored
    `CashRunway.as_document()`, as alert rules and views read it; None when the forecast gives none.

    Not burning is a burn of 0 and no runway (the status says why); no forecast yet has neither.
    """
    runway = runway or {}
    status = runway.get("status")
    if metric == "net_burn":
        burn = runway.get("burn_monthly_minor")
        return int(burn) if status in (BURNING, NOT_BURNING) and burn is not None else None
    months = runway.get("runway_months")
    return Decimal(str(months)) if status == BURNING and months is not None else None


def forecast_kpis(runway: Mapping[str, Any], metric_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """KPI entries (the fields of `kpis/current.kpis`) of the forecast's burn and runway, for those of
    `FORECAST_KPIS` among `metric_ids`.

    `runway` is `CashRunway.as_document()`. They have no previous month, budget or monthly series: the
    forecast is live, not a month's figure. The runway's value is its months as exact text turned into
    a Decimal; None when not burning (the status says why).
    """
    months = runway.get("runway_months")
    values: dict[str, Any] = {
        "net_burn": runway.get("burn_monthly_minor"),
        "runway_months": None if months is None else Decimal(str(months)),
    }
    return {
        metric_id: {
            "value": values[metric_id],
            "previous": None,
            "change": None,
            "change_pct": None,
            "budget": None,
            "vs_budget_pct": None,
            "series": [],
            "defined": True,
            "basis": "cash_forecast",
            "status": runway.get("status", NO_CASH_ACCOUNTS),
            "as_of": runway.get("as_of"),
        }
        for metric_id in metric_ids
        if metric_id in FORECAST_KPIS
    }

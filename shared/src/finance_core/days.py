"""Daily totals inside the monthly aggregates, and the ISO weeks derived from them.

A record with a booking date (`record.date`) counts for its month as every record does, and for
its day too. The day's share rides in the month's own aggregate: the same delta, the same shards,
the same fold, the same version (`finance_core.aggregates.AggregateDelta.days`). So the daily
totals have every guarantee the monthly ones have (duplicates, any order, versions, moves between
days, deletes, the period lock) by construction, and the days of a month always add up to the
month's dated part. Records without a date count for the month only.

The readable aggregate holds `days: {"05": {accounts, record_count, totals_by_type}}`. Weeks are
ISO 8601 weeks (Monday to Sunday, named 'YYYY-Www'), derived from the days, so a week that spans
two months adds the days of both.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from finance_core.accounts import ChartOfAccounts
from finance_core.aggregates import FoldedTotals
from finance_core.metrics import totals_by_type
from finance_core.periods import parse_period


def day_fields(totals: FoldedTotals, chart: ChartOfAccounts) -> dict[str, Any]:
    """The `days` field of a readable aggregate: per day of the month, its accounts, records and totals by type.

    Accounts no longer in the chart keep their totals but feed no type total, as in the month.
    """
    days: dict[str, Any] = {}
    for day in sorted(set(totals.days) | set(totals.day_counts)):
        accounts = dict(totals.days.get(day, {}))
        known = {account_id: minor for account_id, minor in accounts.items() if account_id in chart}
        by_type = totals_by_type(known, {account_id: chart.type_of(account_id) for account_id in known})
        days[day] = {
            "accounts": accounts,
            "record_count": int(totals.day_counts.get(day, 0)),
            "totals_by_type": {account_type.value: minor for account_type, minor in by_type.items()},
        }
    return {"days": days}


def days_in_period(period: str) -> int:
    """Number of calendar days of a fiscal month."""
    year, month = parse_period(period)
    return calendar.monthrange(year, month)[1]


def period_days(period: str) -> list[date]:
    """Every calendar day of a fiscal month."""
    year, month = parse_period(period)
    return [date(year, month, day) for day in range(1, days_in_period(period) + 1)]


def iso_week(day: date) -> str:
    """The ISO 8601 week of a day, 'YYYY-Www' (the ISO year: 2026-12-31 is in 2026-W53)."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def week_start(day: date) -> date:
    """The Monday of a day's ISO week."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class DailyValue:
    """One day's value of a series (minor units) and how many records made it."""

    day: date
    minor: int
    records: int = 0


def daily_values(
    documents: Iterable[Mapping[str, Any]],
    account_ids: Iterable[str] | None = None,
    account_type: str | None = None,
) -> dict[date, DailyValue]:
    """Daily values from readable aggregate documents (each with `period` and `days`).

    The value of a day is the sum of `account_ids` when given, else the total of `account_type`
    (e.g. 'revenue'), else every account. Days that no dated record touched are absent: a reader
    draws them as zero, or as a gap, as its chart says.
    """
    wanted = set(account_ids) if account_ids is not None else None
    values: dict[date, DailyValue] = {}
    for document in documents:
        period = str(document.get("period"))
        year, month = parse_period(period)
        for day_text, body in dict(document.get("days") or {}).items():
            if account_type is not None and wanted is None:
                minor = int(dict(body.get("totals_by_type") or {}).get(account_type, 0))
            else:
                minor = sum(
                    int(v) for k, v in dict(body.get("accounts") or {}).items() if wanted is None or k in wanted
                )
            day = date(year, month, int(day_text))
            previous = values.get(day)
            records = int(body.get("record_count") or 0)
            if previous is not None:
                minor, records = minor + previous.minor, records + previous.records
            values[day] = DailyValue(day, minor, records)
    return dict(sorted(values.items()))


def weekly_totals(daily: Mapping[date, int | DailyValue]) -> dict[str, int]:
    """ISO week -> the sum of its days (days of two months or two years land in the same week)."""
    weeks: dict[str, int] = {}
    for day, value in sorted(daily.items()):
        minor = value.minor if isinstance(value, DailyValue) else int(value)
        week = iso_week(day)
        weeks[week] = weeks.get(week, 0) + minor
    return weeks


def periods_of_weeks(first: date, last: date) -> list[str]:
    """The fiscal months whose days a range of days touches (the aggregates to read for its weeks)."""
    periods: list[str] = []
    day = date(first.year, first.month, 1)
    while day <= last:
        periods.append(f"{day.year:04d}-{day.month:02d}")
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return periods

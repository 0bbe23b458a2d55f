"""Fiscal period arithmetic on 'YYYY-MM' months: shifts, ranges, first days, quarters, year to date."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

_PERIOD_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


def parse_period(period: str) -> tuple[int, int]:
    """(year, month) of 'YYYY-MM'; ValueError with the reason otherwise."""
    match = _PERIOD_RE.match(period)
    if not match:
        raise ValueError(f"period {period!r} must be written 'YYYY-MM'")
    return int(match.group(1)), int(match.group(2))


def add_months(period: str, months: int) -> str:
    """The period `months` later (or earlier when negative)."""
    year, month = parse_period(period)
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(start: str, end: str) -> int:
    """Number of months from start to end (negative if end is earlier)."""
    (y1, m1), (y2, m2) = parse_period(start), parse_period(end)
    return (y2 * 12 + m2) - (y1 * 12 + m1)


def period_range(start: str, end: str) -> list[str]:
    """Every period from start to end inclusive."""
    return [add_months(start, i) for i in range(months_between(start, end) + 1)]


def next_periods(period: str, count: int) -> list[str]:
    """The `count` periods following `period`."""
    return [add_months(period, i) for i in range(1, count + 1)]


def first_day(period: str) -> date:
    """First calendar day of the period (BigQuery DATE of a fiscal month)."""
    year, month = parse_period(period)
    return date(year, month, 1)


def period_of(day: date) -> str:
    """The period containing a date."""
    return f"{day.year:04d}-{day.month:02d}"


def fiscal_year_start(period: str, fiscal_year_start_month: int = 1) -> str:
    """First period of the fiscal year containing `period`."""
    year, month = parse_period(period)
    start_year = year if month >= fiscal_year_start_month else year - 1
    return f"{start_year:04d}-{fiscal_year_start_month:02d}"


def fiscal_quarter(period: str, fiscal_year_start_month: int = 1) -> int:
    """Fiscal quarter (1-4) of the period."""
    offset = months_between(fiscal_year_start(period, fiscal_year_start_month), period)
    return offset // 3 + 1


def year_to_date(period: str, fiscal_year_start_month: int = 1) -> list[str]:
    """Periods of the fiscal year up to and including `period`."""
    return period_range(fiscal_year_start(period, fiscal_year_start_month), period)


def kpi_period(current_period: str | None, period_status: Mapping[str, str], today: date | None = None) -> str:
    """The period the headline KPIs describe: the org's current period, else the latest open one up to now."""
    if current_period:
        return current_period
    this_month = period_of(today or date.today())
    open_periods = [p for p, status in period_status.items() if status == "open" and p <= this_month]
    return max(open_periods) if open_periods else this_month

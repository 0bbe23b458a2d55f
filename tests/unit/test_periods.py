"""Fiscal period arithmetic on 'YYYY-MM' months."""

from __future__ import annotations

from datetime import date

import pytest
from finance_core.periods import (
    add_months,
    first_day,
    fiscal_quarter,
    fiscal_year_start,
    months_between,
    next_periods,
    parse_period,
    period_of,
    period_range,
    year_to_date,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def test_parse_period():
    assert parse_period("2026-10") == (2026, 10)
    for bad in ("2026-13", "2026-00", "2026-1", "26-10", "2026-10-01", ""):
        with pytest.raises(ValueError, match="must be written 'YYYY-MM'"):
            parse_period(bad)


@pytest.mark.parametrize(
    ("period", "months", "expected"),
    [
        ("2026-10", 1, "2026-11"),
        ("2026-12", 1, "2027-01"),
        ("2026-01", -1, "2025-12"),
        ("2026-10", 0, "2026-10"),
        ("2026-10", 27, "2029-01"),
        ("2026-03", -15, "2024-12"),
    ],
)
def test_add_months_crosses_years(period, months, expected):
    assert add_months(period, months) == expected


def test_months_between_and_ranges():
    assert months_between("2025-11", "2026-02") == 3
    assert months_between("2026-02", "2025-11") == -3
    assert period_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert period_range("2026-02", "2026-02") == ["2026-02"]
    assert period_range("2026-03", "2026-02") == []
    assert next_periods("2026-11", 3) == ["2026-12", "2027-01", "2027-02"]
    assert next_periods("2026-11", 0) == []


def test_first_day_and_period_of():
    assert first_day("2026-02") == date(2026, 2, 1)
    assert period_of(date(2026, 2, 28)) == "2026-02"
    assert period_of(date(1999, 12, 31)) == "1999-12"


def test_calendar_fiscal_year():
    assert fiscal_year_start("2026-10") == "2026-01"
    assert [fiscal_quarter(p) for p in ("2026-01", "2026-03", "2026-04", "2026-09", "2026-10", "2026-12")] == [
        1,
        1,
        2,
        3,
        4,
        4,
    ]
    assert year_to_date("2026-03") == ["2026-01", "2026-02", "2026-03"]


def test_a_fiscal_year_starting_in_april():
    assert fiscal_year_start("2026-02", 4) == "2025-04"
    assert fiscal_year_start("2026-04", 4) == "2026-04"
    assert fiscal_quarter("2026-04", 4) == 1
    assert fiscal_quarter("2026-07", 4) == 2
    assert fiscal_quarter("2026-02", 4) == 4
    assert year_to_date("2026-05", 4) == ["2026-04", "2026-05"]
    assert len(year_to_date("2026-03", 4)) == 12


periods = st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(1900, 2200), st.integers(1, 12))


@settings(max_examples=200, deadline=None)
@given(periods, st.integers(-600, 600), st.integers(1, 12))
def test_period_arithmetic_is_consistent(period, months, start_month):
    later = add_months(period, months)
    assert months_between(period, later) == months
    assert add_months(later, -months) == period
    assert first_day(later).day == 1 and period_of(first_day(later)) == later
    ytd = year_to_date(period, start_month)
    assert 1 <= len(ytd) <= 12 and ytd[-1] == period and ytd[0] == fiscal_year_start(period, start_month)
    assert fiscal_quarter(period, start_month) == (len(ytd) - 1) // 3 + 1

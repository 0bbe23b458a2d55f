"""The month-in-progress rule (finance_core.progress): progress by days, pro-rated plans, what a trend may fit."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from finance_core.progress import (
    Comparable,
    PeriodState,
    comparable,
    compare_flow,
    complete_periods,
    known_at,
    period_progress,
)

ROOT = Path(__file__).resolve().parents[2]
# The cases the web dashboard's mirror of the rule (web/src/lib/periods.ts) is checked against too.
CASES = json.loads((ROOT / "web" / "tests" / "progress-cases.json").read_text())


@pytest.mark.parametrize("case", CASES["progress"], ids=lambda c: f"{c['period']}@{c['today']}")
def test_progress_counts_the_days_elapsed_today_included_capped_at_the_month(case):
    progress = period_progress(case["period"], case["in_progress"], date.fromisoformat(case["today"]))
    assert (progress.state.value, progress.elapsed_days, progress.days) == (
        case["state"],
        case["elapsed_days"],
        case["days"],
    )
    assert progress.to_date(case["budget_minor"]) == case["budget_to_date_minor"]


def test_a_partial_month_is_judged_against_its_budget_to_date_never_the_whole_month():
    progress = period_progress("2026-11", "2026-11", date(2026, 11, 12))  # 12 of 30 days
    assert progress.is_partial and progress.fraction == Decimal(12) / 30
    # 40% of the month elapsed, 39% of the revenue budget booked: 2.5% under plan to date, not -61%.
    revenue = compare_flow(3_900_000, 10_000_000, progress, higher_is_better=True)
    assert revenue.compared_plan == 4_000_000 and revenue.variance == -100_000
    assert revenue.variance_pct == Decimal("-2.5000") and revenue.favourable is False and revenue.so_far
    assert revenue.share_of_plan_pct == Decimal("39.0000")
    closed = compare_flow(3_900_000, 10_000_000, period_progress("2026-10", "2026-11", date(2026, 11, 12)), True)
    assert closed.compared_plan == 10_000_000 and closed.variance_pct == Decimal("-61.0000") and not closed.so_far


def test_trends_fit_complete_periods_and_a_past_view_uses_nothing_later():
    periods = ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    assert complete_periods(periods, "2026-11") == ["2026-08", "2026-09", "2026-10"]
    assert known_at(periods, "2026-09") == ["2026-08", "2026-09"]
    assert period_progress("2026-12", "2026-11", date(2026, 11, 12)).state is PeriodState.FUTURE


@pytest.mark.parametrize("case", CASES["comparable"], ids=lambda c: c["metric"])
def test_how_each_kind_of_metric_compares_while_its_month_is_in_progress(case):
    assert comparable(case["metric"], case["unit"], case["expression"]) is Comparable(case["expected"])

"""Daily anomaly rules: the days of dated records through the streaming detector (finance_core.daily_anomaly)."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from finance_core.accounts import ChartOfAccounts
from finance_core.aggregates import AggregateKey, FoldedTotals
from finance_core.alert_rules import RuleError, parse_rule
from finance_core.anomaly import STREAMING_THRESHOLD
from finance_core.daily_anomaly import (
    DAILY_HISTORY_MONTHS,
    DailyPlan,
    daily_evaluations,
    daily_series,
    plan_daily_evaluations,
)
from finance_core.days import day_fields
from finance_core.metrics import standard_graph

ROOT = Path(__file__).resolve().parents[2]
SPIKE = date(2026, 11, 18)


def demo_chart() -> ChartOfAccounts:
    reference = json.loads((ROOT / "demo_data" / "reference.json").read_text())
    return ChartOfAccounts.from_documents(
        {
            a["account_id"]: {"name": a["name"], "type": a["type"], "parent_id": a["parent_id"]}
            for a in reference["accounts"]
        }
    )


def daily_rule(**changes) -> object:
    body = {
        "rule_id": "daily-revenue",
        "name": "Unusual daily revenue",
        "type": "anomaly",
        "grain": "day",
        "target": {"entity_id": "us-east", "account_id": "4100"},
        **changes,
    }
    return parse_rule(body)


def revenue_days(first: date, last: date, spike: date | None = SPIKE, seed: int = 7) -> dict[date, dict[str, int]]:
    """Weekdays about 1,000.00 on 4100 and 300.00 on 4200, weekends a fifth of it; one day five times."""
    days: dict[date, dict[str, int]] = {}
    day = first
    while day <= last:
        rng = random.Random(seed * 1_000_000 + day.toordinal())  # a day's value does not depend on the range
        scale = 1.0 if day.weekday() < 5 else 0.2
        factor = 5.0 if day == spike else 1.0
        days[day] = {
            "4100": int(100_000 * scale * factor * rng.uniform(0.9, 1.1)),
            "4200": int(30_000 * scale * rng.uniform(0.9, 1.1)),
        }
        day += timedelta(days=1)
    return days


def documents(days: dict[date, dict[str, int]], chart: ChartOfAccounts, entity: str = "us-east"):
    by_month: dict[str, dict[str, dict[str, int]]] = {}
    for day, accounts in days.items():
        by_month.setdefault(day.isoformat()[:7], {})[f"{day.day:02d}"] = accounts
    out = {}
    for month, month_days in by_month.items():
        totals = FoldedTotals({}, 0, {}, month_days, {d: len(a) for d, a in month_days.items()})
        out[AggregateKey(entity, month, "actual")] = {"period": month, **day_fields(totals, chart)}
    return out


def test_a_spike_day_fires_once_and_the_other_days_of_the_month_do_not():
    chart = demo_chart()
    docs = documents(revenue_days(date(2026, 8, 1), date(2026, 11, 24)), chart)
    evaluations = daily_evaluations(
        DailyPlan(daily_rule(), "2026-11"), docs, chart=chart, currency="USD", today=date(2026, 11, 25)
    )
    assert [e.period for e in evaluations] == [(date(2026, 11, 1) + timedelta(days=n)).isoformat() for n in range(24)]
    assert [e.period for e in evaluations if e.firing] == ["2026-11-18"]
    fired = next(e for e in evaluations if e.firing)
    assert fired.title.endswith("(us-east) on 2026-11-18"), fired.title
    assert fired.details is not None and fired.details["grain"] == "day" and fired.details["season_length"] == 7
    assert fired.fingerprint != next(e for e in evaluations if e.period == "2026-11-17").fingerprint


def test_a_day_is_judged_the_same_however_often_and_the_day_in_progress_never():
    chart = demo_chart()
    docs = documents(revenue_days(date(2026, 8, 1), date(2026, 11, 24)), chart)
    plan = DailyPlan(daily_rule(), "2026-11")
    first = daily_evaluations(plan, docs, chart=chart, currency="USD", today=date(2026, 11, 25))
    # Replayed from the aggregates alone: the same verdicts again, documents read in any order.
    shuffled = dict(reversed(list(docs.items())))
    assert daily_evaluations(plan, shuffled, chart=chart, currency="USD", today=date(2026, 11, 25)) == first
    # On the spike's own day the day is in progress: judged from the next day on, with the same verdict.
    on_the_day = daily_evaluations(plan, docs, chart=chart, currency="USD", today=SPIKE)
    assert on_the_day[-1].period == "2026-11-17" and not any(e.firing for e in on_the_day)
    next_day = daily_evaluations(plan, docs, chart=chart, currency="USD", today=SPIKE + timedelta(days=1))
    assert next_day[-1].period == "2026-11-18" and next_day[-1].firing
    assert next_day[-1] == next(e for e in first if e.period == "2026-11-18")


def test_the_series_read_is_bounded_to_the_month_and_the_months_before_it():
    chart = demo_chart()
    # Two years of days: a judgement reads only its month and DAILY_HISTORY_MONTHS before it.
    docs = documents(revenue_days(date(2024, 11, 1), date(2026, 11, 24)), chart)
    plan = DailyPlan(daily_rule(), "2026-11")
    assert len(plan.keys()) == DAILY_HISTORY_MONTHS + 1
    series = daily_series(plan, docs, chart, standard_graph(), date(2026, 11, 24))
    assert series[0][0] == date(2026, 8, 1) and series[-1][0] == date(2026, 11, 24)
    assert len(series) <= 31 * (DAILY_HISTORY_MONTHS + 1)
    # The verdicts do not depend on the older history: it is never read.
    recent = documents(revenue_days(date(2026, 8, 1), date(2026, 11, 24)), chart)
    today = date(2026, 11, 25)
    assert daily_evaluations(plan, docs, chart=chart, currency="USD", today=today) == daily_evaluations(
        plan, recent, chart=chart, currency="USD", today=today
    )


def test_days_without_dated_records_after_the_first_are_zero_and_before_it_are_not_part_of_the_series():
    chart = demo_chart()
    days = {d: a for d, a in revenue_days(date(2026, 9, 10), date(2026, 11, 24)).items() if d != date(2026, 10, 3)}
    plan = DailyPlan(daily_rule(), "2026-11")
    series = dict(daily_series(plan, documents(days, chart), chart, standard_graph(), date(2026, 11, 24)))
    assert min(series) == date(2026, 9, 10)
    assert series[date(2026, 10, 3)] == 0


def test_a_summary_account_is_the_roll_up_of_its_days_and_a_metric_its_types():
    chart = demo_chart()
    days = revenue_days(date(2026, 11, 1), date(2026, 11, 5))
    docs = documents(days, chart)
    last = date(2026, 11, 5)
    summary = DailyPlan(daily_rule(target={"entity_id": "us-east", "account_id": "4000"}), "2026-11")
    metric = DailyPlan(daily_rule(target={"entity_id": "us-east", "metric": "revenue"}), "2026-11")
    expected = [(d, a["4100"] + a["4200"]) for d, a in days.items()]
    assert daily_series(summary, docs, chart, standard_graph(), last) == expected
    assert daily_series(metric, docs, chart, standard_graph(), last) == expected


def test_a_change_plans_its_month_and_the_next_with_a_complete_day_for_rules_it_touches():
    chart = demo_chart()
    rule = daily_rule()
    monthly = parse_rule({**rule.model_dump(mode="json"), "rule_id": "monthly", "grain": "month"})
    october = {AggregateKey("us-east", "2026-10", "actual"): ["4100"]}
    plans = plan_daily_evaluations([rule, monthly], october, chart=chart, today=date(2026, 11, 25))
    assert [(p.rule.rule_id, p.period) for p in plans] == [("daily-revenue", "2026-10"), ("daily-revenue", "2026-11")]
    # On the first of the month no day of it is complete yet.
    plans = plan_daily_evaluations([rule], october, chart=chart, today=date(2026, 11, 1))
    assert [p.period for p in plans] == ["2026-10"]
    # Another entity, another scenario, an account that does not feed the target: nothing.
    for key, accounts in (
        (AggregateKey("us-west", "2026-10", "actual"), ["4100"]),
        (AggregateKey("us-east", "2026-10", "budget"), ["4100"]),
        (AggregateKey("us-east", "2026-10", "actual"), ["5100"]),
    ):
        assert plan_daily_evaluations([rule], {key: accounts}, chart=chart, today=date(2026, 11, 25)) == []


def test_a_daily_rule_takes_the_detectors_threshold_and_a_weekly_season_and_watches_money_only():
    rule = daily_rule()
    assert rule.threshold == STREAMING_THRESHOLD and rule.season_length == 7
    assert daily_rule(threshold=0.95, season_length=14).threshold == 0.95
    assert parse_rule({**rule.model_dump(mode="json"), "grain": "month"}).grain == "month"
    for metric in ("gross_margin_pct", "burn_multiple"):
        with pytest.raises(RuleError, match="daily anomaly rule watches an account or a built-in money metric"):
            daily_rule(target={"metric": metric})
    with pytest.raises(RuleError, match="grain"):
        daily_rule(grain="week")

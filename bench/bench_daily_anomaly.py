"""Daily anomaly rules: how often they alarm on a steady daily series, whether they find a spike, and their cost.

Run: .venv/bin/python bench/bench_daily_anomaly.py   [--series 200] [--weeks 13]

Each synthetic series is `--weeks` weeks of daily revenue with a weekly pattern (weekdays about
1,000.00, weekends 200.00, each day +-10 % uniform noise), built as monthly aggregates with `days`
(finance_core.days) and judged the way the alert evaluator judges a daily rule
(finance_core.daily_anomaly: the month's complete days replayed with the 3 months before them
through a fresh StreamingDetector, weekly season). Printed per threshold: false alarms per week on
the steady series (every judged day, all months), and the share of series where a day five times
its usual value, four days before the end, fires. Then the time of one judgement (a month of days
and its history, the evaluation texts included), the median of the runs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from finance_core.accounts import ChartOfAccounts
from finance_core.aggregates import AggregateKey, FoldedTotals
from finance_core.alert_rules import AnomalyRule, parse_rule
from finance_core.anomaly import STREAMING_THRESHOLD
from finance_core.daily_anomaly import DailyPlan, daily_evaluations
from finance_core.days import day_fields

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (STREAMING_THRESHOLD, 0.9, 0.95, 0.99)


def demo_chart() -> ChartOfAccounts:
    reference = json.loads((ROOT / "demo_data" / "reference.json").read_text())
    return ChartOfAccounts.from_documents(
        {
            a["account_id"]: {"name": a["name"], "type": a["type"], "parent_id": a["parent_id"]}
            for a in reference["accounts"]
        }
    )


def rule(threshold: float) -> AnomalyRule:
    body = {
        "rule_id": "daily",
        "name": "daily revenue",
        "type": "anomaly",
        "grain": "day",
        "threshold": threshold,
        "target": {"entity_id": "us-east", "account_id": "4100"},
    }
    parsed = parse_rule(body)
    assert isinstance(parsed, AnomalyRule)
    return parsed


def series_documents(
    days: list[date], seed: int, chart: ChartOfAccounts, spike: date | None
) -> dict[AggregateKey, dict[str, Any]]:
    by_month: dict[str, dict[str, dict[str, int]]] = {}
    for day in days:
        rng = random.Random(seed * 1_000_003 + day.toordinal())
        base = 100_000 if day.weekday() < 5 else 20_000
        value = int(base * rng.uniform(0.9, 1.1) * (5 if day == spike else 1))
        by_month.setdefault(day.isoformat()[:7], {})[f"{day.day:02d}"] = {"4100": value}
    return {
        AggregateKey("us-east", month, "actual"): {
            "period": month,
            **day_fields(FoldedTotals({}, 0, {}, month_days, {d: 1 for d in month_days}), chart),
        }
        for month, month_days in by_month.items()
    }


def judged(documents: dict[AggregateKey, dict[str, Any]], threshold: float, chart: ChartOfAccounts, today: date):
    months = sorted({key.period for key in documents})
    evaluations = []
    for month in months:
        plan = DailyPlan(rule(threshold), month)
        evaluations += daily_evaluations(plan, documents, chart=chart, currency="USD", today=today)
    return evaluations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=200, help="synthetic series per threshold")
    parser.add_argument("--weeks", type=int, default=13, help="weeks of days per series, ending yesterday")
    args = parser.parse_args()
    chart = demo_chart()
    started = time.monotonic()
    print(f"{args.series} series of {args.weeks} weeks of daily revenue (weekly pattern, +-10 % noise)")
    print("threshold | false alarms per week (steady series) | spike x5 found")
    for threshold in THRESHOLDS:
        alarms = found = 0
        for seed in range(args.series):
            today = date(2026, 1, 1) + timedelta(days=seed)
            days = [today - timedelta(days=n) for n in range(7 * args.weeks, 0, -1)]
            steady = judged(series_documents(days, seed, chart, None), threshold, chart, today)
            alarms += sum(e.firing for e in steady)
            spike = today - timedelta(days=4)
            spiked = judged(series_documents(days, seed, chart, spike), threshold, chart, today)
            found += any(e.firing and e.period == spike.isoformat() for e in spiked)
        weeks = args.series * args.weeks
        rate = f"{alarms / weeks:.4f} ({alarms} in {weeks} weeks)"
        print(f"{threshold:9g} | {rate:38} | {found / args.series:.0%}")
    today = date(2026, 12, 1)
    days = [today - timedelta(days=n) for n in range(122, 0, -1)]
    documents = series_documents(days, 1, chart, None)
    plan = DailyPlan(rule(STREAMING_THRESHOLD), "2026-11")
    runs = []
    for _ in range(30):
        t = time.perf_counter()
        daily_evaluations(plan, documents, chart=chart, currency="USD", today=today)
        runs.append(time.perf_counter() - t)
    print(f"one judgement (30 days and the 3 months before them): median {statistics.median(runs) * 1000:.1f} ms")
    print(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()

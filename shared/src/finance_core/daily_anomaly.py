"""Anomaly rules on daily series: the days of dated records through the streaming detector.

A rule with `grain: "day"` (finance_core.alert_rules.AnomalyRule) watches the daily values of an
account or a built-in money metric of one entity and scenario: the days of the monthly aggregates
(finance_core.days), so a day has every guarantee a month has (duplicates, any order, versions,
moves between days, deletes). Each day is judged by `StreamingDetector` (finance_core.anomaly),
one point at a time against the days before it, with a weekly season.

What the detector remembers is bounded twice: its own state is a fixed set of profiles and
histograms whatever the length of the series, and the series it reads is bounded too, a month's
days and the DAILY_HISTORY_MONTHS months before it (at most 123 points). Nothing of it is stored:
every evaluation replays that window from the aggregates. A day's verdict is therefore a function
of the aggregates alone, the same however often and in whatever order the changes that made them
are delivered: the alert of a day (its fingerprint includes the day) then counts each change once
through the alert store's applied change ids. A late record re-judges its month and the next (the
days it is history of), as a late month re-judges the months after it.

Which days: complete ones only. The day in progress is still filling up (as the month in progress
is, finance_core.progress) and would read as a drop. Days before the first dated record of the
window are not part of the series; after it, a day without dated records is a day of 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeGuard

from finance_core.accounts import AccountType, ChartOfAccounts
from finance_core.aggregates import AggregateKey
from finance_core.alert_inputs import subject_touched
from finance_core.alert_rules import AlertRule, AnomalyRule, RuleContext, RuleEvaluation, evaluate_day
from finance_core.anomaly import AnomalyPoint, StreamingDetector
from finance_core.days import period_days
from finance_core.metrics import MetricGraph, standard_graph
from finance_core.periods import add_months

# The months before a judged month its days are judged against: about 13 weeks of history, enough
# for the detector to learn a weekly season (it judges from its second season on) and short enough
# to follow a change of course.
DAILY_HISTORY_MONTHS = 3


def is_daily(rule: AlertRule) -> TypeGuard[AnomalyRule]:
    """True for an anomaly rule on daily values."""
    return isinstance(rule, AnomalyRule) and rule.grain == "day"


@dataclass(frozen=True)
class DailyPlan:
    """One daily rule to judge on the complete days of one month."""

    rule: AnomalyRule
    period: str

    @property
    def months(self) -> tuple[str, ...]:
        """The months read: DAILY_HISTORY_MONTHS before `period`, then `period`, oldest first."""
        return tuple(add_months(self.period, -offset) for offset in range(DAILY_HISTORY_MONTHS, -1, -1))

    def keys(self) -> tuple[AggregateKey, ...]:
        """The aggregate documents the days come from."""
        target = self.rule.target
        return tuple(AggregateKey(target.entity_id, month, target.scenario.value) for month in self.months)


def plan_daily_evaluations(
    rules: Iterable[AlertRule],
    changes: Mapping[AggregateKey, Iterable[str]],
    *,
    chart: ChartOfAccounts,
    today: date,
    graph: MetricGraph | None = None,
) -> list[DailyPlan]:
    """The (daily rule, month) judgements a change calls for, each once.

    A changed month's days are judged again, and the next month's (its days are their history),
    as long as the month has a complete day (before `today`).
    """
    graph = graph or standard_graph()
    current = today.isoformat()[:7]
    planned: dict[tuple[str, str], DailyPlan] = {}
    for rule in rules:
        if not is_daily(rule):
            continue
        target = rule.target
        for key, accounts in changes.items():
            if key.entity_id != target.entity_id or key.scenario != target.scenario.value:
                continue
            if not subject_touched(target, accounts, chart, graph):
                continue
            for period in (key.period, add_months(key.period, 1)):
                complete_day = period < current or (period == current and today.day > 1)
                if complete_day:
                    planned.setdefault((rule.rule_id, period), DailyPlan(rule, period))
    return sorted(planned.values(), key=lambda plan: (plan.rule.rule_id, plan.period))


def day_value(rule: AnomalyRule, body: Mapping[str, Any], chart: ChartOfAccounts, graph: MetricGraph) -> int:
    """The target's value on one day, from the day's entry of a readable aggregate (minor units).

    A summary account is the signed roll-up of its children, as in the month."""
    target = rule.target
    if target.account_id is not None:
        accounts = {account: int(minor) for account, minor in dict(body.get("accounts") or {}).items()}
        if target.account_id in chart and not chart.is_leaf(target.account_id):
            known = {account: minor for account, minor in accounts.items() if account in chart}
            return chart.rollup_deltas(known).get(target.account_id, 0)
        return accounts.get(target.account_id, 0)
    by_type = {AccountType(name): int(minor) for name, minor in dict(body.get("totals_by_type") or {}).items()}
    value = graph.evaluate(by_type).get(str(target.metric))
    return int(value or 0)


def daily_series(
    plan: DailyPlan,
    documents: Mapping[AggregateKey, Mapping[str, Any] | None],
    chart: ChartOfAccounts,
    graph: MetricGraph,
    last: date,
) -> list[tuple[date, int]]:
    """The target's days from the first dated record of the plan's months through `last`, 0 where none."""
    values: dict[date, int] = {}
    for key, month in zip(plan.keys(), plan.months, strict=True):
        document = documents.get(key) or {}
        days = dict(document.get("days") or {})
        for day in period_days(month):
            body = days.get(f"{day.day:02d}")
            if body is not None and day <= last:
                values[day] = day_value(plan.rule, body, chart, graph)
    if not values:
        return []
    first = min(values)
    return [
        (first + timedelta(days=n), values.get(first + timedelta(days=n), 0)) for n in range((last - first).days + 1)
    ]


@dataclass(frozen=True)
class DayVerdict:
    """The detector's point on one day of the judged month."""

    day: date
    value: int
    point: AnomalyPoint


def judge_days(
    plan: DailyPlan,
    documents: Mapping[AggregateKey, Mapping[str, Any] | None],
    *,
    chart: ChartOfAccounts,
    today: date,
    graph: MetricGraph | None = None,
) -> list[DayVerdict]:
    """Replay the plan's window through a fresh StreamingDetector; the verdicts on the judged month's complete days."""
    graph = graph or standard_graph()
    month_days = period_days(plan.period)
    last = min(month_days[-1], today - timedelta(days=1))
    if last < month_days[0]:
        return []
    rule = plan.rule
    detector = StreamingDetector(rule.season_length, threshold=rule.threshold)
    verdicts = []
    for day, value in daily_series(plan, documents, chart, graph, last):
        point = detector.update(float(value))
        if day >= month_days[0]:
            verdicts.append(DayVerdict(day, value, point))
    return verdicts


def daily_evaluations(
    plan: DailyPlan,
    documents: Mapping[AggregateKey, Mapping[str, Any] | None],
    *,
    chart: ChartOfAccounts,
    currency: str,
    today: date,
    graph: MetricGraph | None = None,
) -> list[RuleEvaluation]:
    """The rule's evaluation of every complete day of the plan's month that has a value."""
    rule, target = plan.rule, plan.rule.target
    label = account_type = None
    if target.account_id is not None and target.account_id in chart:
        account = chart.get(target.account_id)
        label, account_type = account.name, account.type
    evaluations = []
    for verdict in judge_days(plan, documents, chart=chart, today=today, graph=graph):
        context = RuleContext(
            period=plan.period,
            current_value=verdict.value,
            currency=currency,
            target_label=label,
            account_type=account_type,
        )
        evaluations.append(evaluate_day(rule, verdict.day.isoformat(), context, verdict.point))
    return evaluations

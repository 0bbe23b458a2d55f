"""What an alert evaluation reads after a change: rules it touches, their periods and aggregate keys, their contexts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from finance_core.accounts import ChartOfAccounts
from finance_core.aggregates import AggregateKey
from finance_core.alert_rules import AlertRule, AlertTarget, MetricValue, RuleContext
from finance_core.anomaly import DEFAULT_MAX_SEASONS
from finance_core.cash import FORECAST_KPIS, NOT_BURNING, runway_value
from finance_core.metric_library import library
from finance_core.metrics import PERCENT_QUANTUM, MetricGraph, standard_graph
from finance_core.periods import add_months

# A forecast fits trend and season on two years: enough to see a season, short enough to follow
# a change of course.
FORECAST_HISTORY = 24

# Anomaly, trend and forecast rules judge a month against the months before it; a month that is
# still filling up (the org's current period) would look like a collapse, so they only ever look
# at complete periods. Absolute and variance rules are live: they judge every changed period.
COMPLETE_PERIOD_TYPES = frozenset({"anomaly", "trend", "forecast"})
SERIES_TYPES = frozenset({"trend", "forecast"})


@dataclass(frozen=True)
class PlannedEvaluation:
    """One rule to evaluate at one period, and the periods of history its context needs."""

    rule: AlertRule
    period: str
    history_length: int
    """How many periods before `period` the context may use (0: none)."""
    changed: bool = True
    """False when only the period's history changed (an anomaly rule judging a later month again,
    a trend judged as of a month the change is not in): then an account without postings in
    `period` is not loaded yet, rather than 0."""

    @property
    def history_periods(self) -> tuple[str, ...]:
        """The periods before `period`, oldest first."""
        return tuple(add_months(self.period, -offset) for offset in range(self.history_length, 0, -1))

    def keys(self) -> tuple[AggregateKey, ...]:
        """Every aggregate document the context is built from."""
        target = self.rule.target
        keys = [AggregateKey(target.entity_id, self.period, target.scenario.value)]
        comparison = comparison_scenario(self.rule)
        if comparison is not None:
            keys.append(AggregateKey(target.entity_id, self.period, comparison))
        keys.extend(AggregateKey(target.entity_id, p, target.scenario.value) for p in self.history_periods)
        return tuple(keys)


def comparison_scenario(rule: AlertRule) -> str | None:
    """The scenario a variance rule compares with (None for other rule types)."""
    return rule.comparison_scenario.value if rule.type == "variance" else None


def scenarios_read(rule: AlertRule) -> frozenset[str]:
    """Scenarios whose changes can change the rule's verdict."""
    comparison = comparison_scenario(rule)
    return frozenset({rule.target.scenario.value} | ({comparison} if comparison else set()))


def history_length(rule: AlertRule) -> int:
    """Periods of history before the evaluated one that the rule type can use."""
    if rule.type == "trend":
        return rule.periods if rule.mode == "consecutive" else rule.periods - 1
    if rule.type == "anomaly":
        # The seasonal baseline looks back DEFAULT_MAX_SEASONS seasons; the robust one `window` points.
        return max(rule.window, DEFAULT_MAX_SEASONS * rule.season_length)
    if rule.type == "forecast":
        return FORECAST_HISTORY - 1
    return 0


def subject_touched(
    target: AlertTarget, changed_accounts: Iterable[str], chart: ChartOfAccounts, graph: MetricGraph
) -> bool:
    """True if a change of these accounts can move the target's value (the account, a roll-up, a metric)."""
    changed = [account for account in changed_accounts]
    if target.account_id is not None:
        return any(
            account == target.account_id or (account in chart and target.account_id in chart.ancestors(account))
            for account in changed
        )
    if target.metric not in graph.definitions:
        # A metric this graph does not know may still be stored by another version: evaluate it.
        return True
    types = {chart.type_of(account) for account in changed if account in chart}
    return target.metric in graph.affected_by(types)


def plan_evaluations(
    rules: Iterable[AlertRule],
    changes: Mapping[AggregateKey, Iterable[str]],
    *,
    chart: ChartOfAccounts,
    current_period: str,
    graph: MetricGraph | None = None,
) -> list[PlannedEvaluation]:
    """The (rule, period) evaluations a change calls for, each once.

    `changes` maps every changed aggregate key to the accounts whose totals changed there. A rule
    is touched when a changed key has its entity and a scenario it reads, and the changed accounts
    feed its subject. Absolute and variance rules are evaluated at the changed period. Anomaly
    rules at the changed period and the `window` periods after it (whose baselines it is part
    of), complete periods only (before `current_period`). Trend and forecast rules describe the
    series as of the last complete period, so a change anywhere in their window re-evaluates
    them there.
    """
    graph = graph or standard_graph()
    planned: dict[tuple[str, str], PlannedEvaluation] = {}
    last_complete = add_months(current_period, -1)
    for rule in rules:
        target = rule.target
        scenarios = scenarios_read(rule)
        length = history_length(rule)
        for key, accounts in changes.items():
            if key.entity_id != target.entity_id or key.scenario not in scenarios:
                continue
            if not subject_touched(target, accounts, chart, graph):
                continue
            if rule.type in SERIES_TYPES:
                if not (add_months(last_complete, -length) <= key.period <= last_complete):
                    continue
                periods = [last_complete]
            elif rule.type == "anomaly":
                # The changed month is history of the `window` months after it, whose baselines
                # move too: judge them again (a late or out-of-order load then ends where a load
                # in order would).
                periods = [add_months(key.period, offset) for offset in range(rule.window + 1)]
                periods = [period for period in periods if period < current_period]
            else:
                periods = [key.period]
            for period in periods:
                plan = PlannedEvaluation(rule, period, length, changed=period == key.period)
                known = planned.get((rule.rule_id, period))
                if known is None or (plan.changed and not known.changed):
                    planned[(rule.rule_id, period)] = plan
    return sorted(planned.values(), key=lambda plan: (plan.rule.rule_id, plan.period))


def value_of(
    target: AlertTarget, document: Mapping[str, Any] | None, chart: ChartOfAccounts, *, unposted_is_zero: bool = True
) -> MetricValue | None:
    """The target's value in a readable aggregate document; None when there is no figure.

    Money is integer minor units. Percent metrics are stored as numbers with 4 decimals and come
    back as exact Decimals. An account without postings in an existing aggregate is 0, or None
    with `unposted_is_zero=False` (how history reads it: see build_context).
    """
    if document is None:
        return None
    if target.metric is not None:
        value = (document.get("metrics") or {}).get(target.metric)
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value  # a defined metric's exact value (from its metric series)
        if isinstance(value, float) or target.is_percentage:
            return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(
                PERCENT_QUANTUM, ROUND_HALF_EVEN
            )
        return int(value)
    account = str(target.account_id)
    totals = document.get("rollups" if account in chart and not chart.is_leaf(account) else "accounts") or {}
    if account not in totals and not unposted_is_zero:
        return None
    return int(totals.get(account, 0))


def build_context(
    plan: PlannedEvaluation,
    documents: Mapping[AggregateKey, Mapping[str, Any] | None],
    *,
    chart: ChartOfAccounts,
    currency: str,
    definitions: Mapping[str, Mapping[str, Any]] | None = None,
) -> RuleContext:
    """The RuleContext of a planned evaluation from the aggregate documents read for it.

    `definitions` describes the defined metrics (label, unit, direction, as a series document's
    `definitions` does): a rule on one of them is judged in its unit and with its favourability.

    History is the unbroken run of periods with a figure just before the evaluated period: a
    month without any document, or without any posting on the watched account (before the org's
    first data, or not loaded yet) ends it rather than counting as 0, which would look like a
    collapse. The evaluated period itself reads an unposted account as 0 when it is the changed
    period (a correction may have removed its postings: the very thing to alert on), and as no
    figure when only its history changed (it may simply not be loaded yet).
    """
    rule, target = plan.rule, plan.rule.target
    keys = plan.keys()
    current = value_of(target, documents.get(keys[0]), chart, unposted_is_zero=plan.changed)
    comparison = None
    if comparison_scenario(rule) is not None:
        comparison = value_of(target, documents.get(keys[1]), chart)
    history: list[tuple[str, MetricValue]] = []
    for period in reversed(plan.history_periods):
        document = documents.get(AggregateKey(target.entity_id, period, target.scenario.value))
        value = value_of(target, document, chart, unposted_is_zero=False)
        if value is None:
            break
        history.append((period, value))
    history.reverse()
    label = None
    account_type = None
    if target.account_id is not None and target.account_id in chart:
        account = chart.get(target.account_id)
        label, account_type = account.name, account.type
    unit = higher_is_better = None
    definition = (definitions or {}).get(target.metric or "") if target.is_defined else None
    if definition:
        label, unit = definition.get("label") or target.metric, definition.get("unit", "money")
        higher_is_better = {"higher_is_better": True, "lower_is_better": False}.get(str(definition.get("direction")))
    return RuleContext(
        period=plan.period,
        current_value=current,
        comparison_value=comparison,
        history=tuple(history),
        currency=currency,
        target_label=label,
        account_type=account_type,
        unit=unit,
        higher_is_better=higher_is_better,
    )


def series_contexts(
    rule: AlertRule,
    series: Sequence[tuple[str, MetricValue]],
    *,
    chart: ChartOfAccounts | None = None,
    currency: str = "USD",
) -> list[RuleContext]:
    """A context per period of a complete series (oldest first), each with the history the rule may use.

    What the live evaluation sees once every period is loaded: used to replay a rule over a data
    set (e.g. to measure an anomaly rule's precision and recall).
    """
    length = history_length(rule)
    label = account_type = None
    if chart is not None and rule.target.account_id is not None and rule.target.account_id in chart:
        account = chart.get(rule.target.account_id)
        label, account_type = account.name, account.type
    contexts = []
    for index, (period, value) in enumerate(series):
        history = tuple(series[max(0, index - length) : index]) if length else ()
        contexts.append(
            RuleContext(
                period=period,
                current_value=value,
                history=history,
                currency=currency,
                target_label=label,
                account_type=account_type,
            )
        )
    return contexts


def is_forecast_rule(rule: AlertRule) -> bool:
    """True for a rule on burn or runway: judged on the stored 13-week cash forecast, never on a month's figure.

    Such a rule is an absolute rule on the consolidated actuals (parse_rule refuses any other), and it
    is evaluated when the forecast changes (`trends/cash__forecast`), at the org's current period:
    the forecast is a live figure, there is no burn or runway of a past month to judge.
    """
    return rule.target.metric in FORECAST_KPIS


def forecast_definition(metric: str) -> Mapping[str, Any]:
    """Label, unit and direction of burn or runway: the library's (the forecast defines the figure, not the org)."""
    return library()[metric]


def forecast_context(rule: AlertRule, runway: Mapping[str, Any] | None, *, period: str, currency: str) -> RuleContext:
    """The RuleContext of a burn or runway rule from the stored forecast runway (`trends/cash__forecast.runway`).

    A forecast that is not burning has no runway: the context says so (`not_burning`), and a
    "runway below" rule does not fire on it. No forecast yet (no complete week of dated cash
    movements, or no account tagged cash): no value, the rule cannot decide.
    """
    metric = str(rule.target.metric)
    definition = forecast_definition(metric)
    runway = runway or {}
    return RuleContext(
        period=period,
        current_value=runway_value(metric, runway),
        currency=currency,
        target_label=str(definition["label"]),
        unit=str(definition["unit"]),
        higher_is_better={"higher_is_better": True, "lower_is_better": False}.get(str(definition["direction"])),
        forecast_as_of=runway.get("as_of"),
        not_burning=metric == "runway_months" and runway.get("status") == NOT_BURNING,
    )

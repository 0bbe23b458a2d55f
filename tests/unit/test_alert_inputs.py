"""Alert inputs: which rules a change touches, at which period, what they read; demo rules and anomaly quality."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from finance_core.aggregates import AggregateKey
from finance_core.alert_inputs import (
    PlannedEvaluation,
    build_context,
    history_length,
    plan_evaluations,
    series_contexts,
    subject_touched,
    value_of,
)
from finance_core.alert_rules import AlertTarget, evaluate, parse_rule
from finance_core.metrics import MetricGraph
from finance_core.periods import period_range

from tests.unit.alert_demo_series import demo_aggregates, demo_org, demo_reference
from tools.anomaly_sets import LENGTH, seasonal
from tools.demo.alert_rules import demo_alert_rules

CURRENT = "2026-11"


def _rule(**fields):
    body = {
        "rule_id": "r1",
        "name": "Rule",
        "type": "absolute",
        "severity": "warning",
        "target": {"entity_id": "_all", "metric": "revenue"},
        "direction": "below",
        "threshold_minor": 100,
    }
    body.update(fields)
    return parse_rule({k: v for k, v in body.items() if v is not None})


def _plan(rules, changes):
    return [
        (p.rule.rule_id, p.period)
        for p in plan_evaluations(rules, changes, chart=demo_org().chart, current_period=CURRENT)
    ]


# --- which rules a change touches --------------------------------------------------------------


def test_a_change_touches_rules_of_its_entity_scenario_and_subject_only():
    revenue_all = _rule(rule_id="rev-all")
    revenue_east = _rule(rule_id="rev-east", target={"entity_id": "us-east", "metric": "revenue"})
    margin_all = _rule(
        rule_id="margin",
        target={"entity_id": "_all", "metric": "gross_margin_pct"},
        threshold_minor=None,
        threshold_pct="60",
    )
    opex_all = _rule(rule_id="opex", target={"entity_id": "_all", "metric": "opex"})
    salaries_west = _rule(rule_id="salaries-west", target={"entity_id": "us-west", "account_id": "6100"})
    opex_group_west = _rule(rule_id="opex-group-west", target={"entity_id": "us-west", "account_id": "6000"})
    rules = [revenue_all, revenue_east, margin_all, opex_all, salaries_west, opex_group_west]
    revenue_change = {
        AggregateKey("us-east", "2026-10", "actual"): ["4100"],
        AggregateKey("_all", "2026-10", "actual"): ["4100"],
    }
    assert _plan(rules, revenue_change) == [("margin", "2026-10"), ("rev-all", "2026-10"), ("rev-east", "2026-10")]
    salary_change = {
        AggregateKey("us-west", "2026-10", "actual"): ["6100"],
        AggregateKey("_all", "2026-10", "actual"): ["6100"],
    }
    # A leaf account and the summary account it rolls up into; revenue and margin do not move.
    assert _plan(rules, salary_change) == [
        ("opex", "2026-10"),
        ("opex-group-west", "2026-10"),
        ("salaries-west", "2026-10"),
    ]
    budget_change = {AggregateKey("_all", "2026-10", "budget"): ["4100"]}
    assert _plan(rules, budget_change) == []


def test_a_variance_rule_is_touched_by_its_comparison_scenario_and_reads_both():
    variance = _rule(
        rule_id="opex-budget",
        type="variance",
        target={"entity_id": "_all", "metric": "opex"},
        direction="unfavourable",
        threshold_pct="5",
        threshold_minor=None,
    )
    assert _plan([variance], {AggregateKey("_all", "2026-10", "budget"): ["6200"]}) == [("opex-budget", "2026-10")]
    assert _plan([variance], {AggregateKey("_all", "2026-10", "forecast"): ["6200"]}) == []
    plan = PlannedEvaluation(variance, "2026-10", history_length(variance))
    assert plan.keys() == (AggregateKey("_all", "2026-10", "actual"), AggregateKey("_all", "2026-10", "budget"))


def test_series_rules_are_evaluated_as_of_the_last_complete_period_when_their_window_changes():
    trend = _rule(rule_id="decline", type="trend", direction="decline", periods=3, threshold_minor=None)
    forecast = _rule(rule_id="forecast", type="forecast", direction="below", threshold_minor=1)
    assert history_length(trend) == 3 and history_length(forecast) == 23
    in_window = {AggregateKey("_all", "2026-08", "actual"): ["4100"]}
    assert _plan([trend, forecast], in_window) == [("decline", "2026-10"), ("forecast", "2026-10")]
    before_trend_window = {AggregateKey("_all", "2026-06", "actual"): ["4100"]}
    assert _plan([trend, forecast], before_trend_window) == [("forecast", "2026-10")]
    # The month in progress never counts: a half-booked month would read as a decline.
    assert _plan([trend, forecast], {AggregateKey("_all", CURRENT, "actual"): ["4100"]}) == []
    plan = PlannedEvaluation(trend, "2026-10", 3)
    assert plan.history_periods == ("2026-07", "2026-08", "2026-09")


def test_anomaly_rules_judge_complete_periods_and_absolute_rules_every_period():
    anomaly = _rule(rule_id="spike", type="anomaly", direction="spike", threshold_minor=None)
    absolute = _rule(rule_id="floor")
    change = {AggregateKey("_all", CURRENT, "actual"): ["4100"], AggregateKey("_all", "2026-09", "actual"): ["4100"]}
    assert _plan([anomaly, absolute], change) == [
        ("floor", "2026-09"),
        ("floor", CURRENT),
        ("spike", "2026-09"),
        ("spike", "2026-10"),
    ]
    assert history_length(anomaly) == 36


def test_a_late_month_makes_anomaly_rules_judge_again_the_months_whose_baseline_it_joins():
    anomaly = _rule(
        rule_id="spike",
        type="anomaly",
        direction="spike",
        window=3,
        threshold_minor=None,
        target={"entity_id": "us-east", "account_id": "6200"},
    )
    change = {AggregateKey("us-east", "2026-05", "actual"): ["6200"]}
    plans = plan_evaluations([anomaly], change, chart=demo_org().chart, current_period=CURRENT)
    assert [(p.period, p.changed) for p in plans] == [
        ("2026-05", True),
        ("2026-06", False),
        ("2026-07", False),
        ("2026-08", False),
    ]
    # A later month whose own posting is not loaded yet has no figure; the changed month reads 0.
    docs = {AggregateKey("us-east", p, "actual"): {"accounts": {"6100": 1}} for p in ("2026-05", "2026-06")}
    assert build_context(plans[1], docs, chart=demo_org().chart, currency="USD").current_value is None
    assert build_context(plans[0], docs, chart=demo_org().chart, currency="USD").current_value == 0


def test_a_metric_the_graph_does_not_know_is_evaluated_on_any_change():
    target = AlertTarget(entity_id="_all", metric="custom_kpi")
    assert subject_touched(target, ["4100"], demo_org().chart, MetricGraph())


# --- contexts from aggregate documents ---------------------------------------------------------


def test_values_come_from_metrics_accounts_and_rollups_exactly():
    chart = demo_org().chart
    doc = {
        "accounts": {"6100": 500},
        "rollups": {"6000": 800},
        "metrics": {"revenue": 1000, "gross_margin_pct": 37.1234},
    }
    assert value_of(AlertTarget(metric="revenue"), doc, chart) == 1000
    assert value_of(AlertTarget(metric="gross_margin_pct"), doc, chart) == Decimal("37.1234")
    assert value_of(AlertTarget(account_id="6100"), doc, chart) == 500
    assert value_of(AlertTarget(account_id="6200"), doc, chart) == 0
    assert value_of(AlertTarget(account_id="6200"), doc, chart, unposted_is_zero=False) is None
    assert value_of(AlertTarget(account_id="6000"), doc, chart) == 800
    assert value_of(AlertTarget(metric="revenue"), None, chart) is None
    assert value_of(AlertTarget(metric="net_margin_pct"), {"metrics": {"net_margin_pct": None}}, chart) is None


def test_history_is_the_unbroken_run_of_loaded_months_before_the_period():
    rule = _rule(rule_id="decline", type="trend", direction="decline", periods=3, threshold_minor=None)
    plan = PlannedEvaluation(rule, "2026-10", 3)
    docs = {
        AggregateKey("_all", p, "actual"): {"metrics": {"revenue": v}}
        for p, v in [("2026-08", 300), ("2026-09", 200), ("2026-10", 100)]
    }
    context = build_context(plan, docs, chart=demo_org().chart, currency="USD")
    assert context.current_value == 100
    assert list(context.history) == [("2026-08", 300), ("2026-09", 200)]  # 2026-07 is not loaded
    assert not evaluate(rule, context).evaluable
    docs[AggregateKey("_all", "2026-07", "actual")] = {"metrics": {"revenue": 400}}
    firing = evaluate(rule, build_context(plan, docs, chart=demo_org().chart, currency="USD"))
    assert firing.evaluable and firing.firing


def test_a_history_month_without_postings_on_the_account_is_not_loaded_yet_but_this_month_counts_zero():
    rule = _rule(
        rule_id="decline",
        type="trend",
        direction="decline",
        periods=2,
        threshold_minor=None,
        target={"entity_id": "us-east", "account_id": "6200"},
    )
    plan = PlannedEvaluation(rule, "2026-10", 2)
    docs = {
        AggregateKey("us-east", p, "actual"): {"accounts": accounts}
        for p, accounts in [("2026-08", {"6200": 300}), ("2026-09", {"6100": 5}), ("2026-10", {"6100": 7})]
    }
    context = build_context(plan, docs, chart=demo_org().chart, currency="USD")
    assert context.current_value == 0 and list(context.history) == []


# --- the demo rules on the demo data -----------------------------------------------------------


def _demo_series(target: AlertTarget) -> list[tuple[str, int | Decimal]]:
    aggregates = demo_aggregates()
    periods = sorted(k.period for k in aggregates if k.entity_id == target.entity_id and k.scenario == "actual")
    return [
        (p, value_of(target, aggregates[AggregateKey(target.entity_id, p, "actual")], demo_org().chart))
        for p in periods
    ]


def _fired(rule) -> list[str]:
    """Periods where a rule fires when each period of the demo set is evaluated with all data loaded."""
    org, aggregates = demo_org(), demo_aggregates()
    changes = {key: list(doc["accounts"]) for key, doc in aggregates.items()}
    plans = [p for p in plan_evaluations([rule], changes, chart=org.chart, current_period=CURRENT)]
    fired = []
    for plan in plans:
        evaluation = evaluate(rule, build_context(plan, aggregates, chart=org.chart, currency="USD"))
        if evaluation.firing:
            fired.append(plan.period)
    return fired


def test_the_demo_rules_are_valid_and_fire_where_the_demo_data_breaks_them():
    rules = {rule["rule_id"]: parse_rule(rule) for rule in demo_alert_rules()}
    assert {r.type for r in rules.values()} == {"absolute", "variance", "trend", "anomaly", "forecast"}
    assert all(rule.channels == () for rule in rules.values()), "the demo is dashboard-only"
    # The two months an injected cost or revenue anomaly pulls the group margin under 65 %.
    assert _fired(rules["gross-margin-floor"]) == ["2025-07", "2026-06"]
    # Europe's marketing spike in March 2026 puts group opex 10.6 % over budget.
    assert _fired(rules["opex-over-budget"]) == ["2026-03"]
    # Revenue grows with a Q4 peak and a summer dip: never three declines in a row.
    assert _fired(rules["revenue-decline"]) == []
    # The seasonal forecast sees January's dip below 1.25 M.
    assert _fired(rules["net-income-forecast"]) == ["2026-10"]


def test_the_demo_anomaly_rules_find_the_injected_anomalies_precision_and_recall():
    truth = {(a["entity_id"], a["account_id"], a["period"]) for a in demo_reference()["anomalies"]}
    flagged, judged = set(), 0
    for document in demo_alert_rules():
        if document["type"] != "anomaly":
            continue
        rule = parse_rule(document)
        series = _demo_series(rule.target)
        for context in series_contexts(rule, series, chart=demo_org().chart):
            evaluation = evaluate(rule, context)
            judged += evaluation.evaluable
            if evaluation.firing:
                flagged.add((rule.target.entity_id, rule.target.account_id, context.period))
    true_positives = len(flagged & truth)
    precision = true_positives / len(flagged) if flagged else 0.0
    recall = true_positives / len(truth)
    print(
        f"\ndemo anomaly rules: {len(truth)} injected, {judged} periods judged by 9 rules, flagged "
        f"{sorted(flagged)} -> precision {precision:.2f}, recall {recall:.2f}"
    )
    assert flagged == truth


def test_the_demo_anomaly_rules_are_quiet_on_normal_seasonality():
    """Every anomaly rule's settings on every expense and revenue line of its entity (Q4 peak, summer dip).

    With one season of history the robust baseline cannot know the season: the bar is a false
    alarm rate under 1 % of the judged months, and the alarms are printed.
    """
    truth = {(a["entity_id"], a["account_id"], a["period"]) for a in demo_reference()["anomalies"]}
    alarms, judged = [], 0
    for document in demo_alert_rules():
        if document["type"] != "anomaly":
            continue
        for account in ("4100", "4200", "4300", "5100", "5200", "6100", "6200", "6300", "6400"):
            rule = parse_rule(dict(document, target={**document["target"], "account_id": account}))
            for context in series_contexts(rule, _demo_series(rule.target), chart=demo_org().chart):
                evaluation = evaluate(rule, context)
                if (rule.target.entity_id, account, context.period) in truth:
                    continue
                judged += evaluation.evaluable
                if evaluation.firing:
                    alarms.append((rule.rule_id, account, context.period, evaluation.current_value))
    print(f"\ndemo anomaly rule settings on normal months: {len(alarms)} alarm(s) in {judged} judged months: {alarms}")
    assert judged > 1000
    assert len(alarms) / judged < 0.01


# --- the anomaly rule on a labelled synthetic set ----------------------------------------------

SERIES, SEED = 120, 20261124


def test_the_anomaly_rule_on_a_labelled_synthetic_set_precision_recall_and_seasonal_quiet():
    """The default rule replayed over the seasonal family of tools/anomaly_sets.py, as the live evaluation sees it."""
    rule = parse_rule({"rule_id": "a", "name": "A", "type": "anomaly", "target": {"account_id": "4100"}})
    rng = np.random.default_rng(SEED)
    tp = fp = fn = quiet_alarms = quiet_judged = 0
    for index in range(SERIES):
        labelled = seasonal(rng, with_incident=index % 2 == 0)
        series = list(zip(period_range("2023-11", "2026-10"), labelled.values, strict=True))
        evaluations = [evaluate(rule, context) for context in series_contexts(rule, series)]
        flagged = {i for i, evaluation in enumerate(evaluations) if evaluation.firing}
        incidents = labelled.anomalies
        tp, fp, fn = tp + len(flagged & incidents), fp + len(flagged - incidents), fn + len(incidents - flagged)
        if not incidents:
            quiet_alarms += len(flagged)
            quiet_judged += sum(evaluation.evaluable for evaluation in evaluations)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(
        f"\nanomaly rule on {SERIES} synthetic seasonal series x {LENGTH} months (seed {SEED}): "
        f"{tp + fn} injected, {tp} found, {fp} false alarms -> precision {precision:.3f}, recall {recall:.3f}; "
        f"series without incidents: {quiet_alarms} alarms in {quiet_judged} judged months"
    )
    assert precision >= 0.9 and recall >= 0.9
    assert quiet_alarms / quiet_judged < 0.01


@pytest.mark.parametrize("rule_type", ["absolute", "trend"])
def test_series_contexts_give_each_period_the_history_the_rule_may_use(rule_type):
    trend = {"type": "trend", "direction": "decline", "periods": 2, "threshold_minor": None}
    rule = _rule(**(trend if rule_type == "trend" else {}))
    series = [("2026-07", 4), ("2026-08", 3), ("2026-09", 2), ("2026-10", 1)]
    contexts = series_contexts(rule, series)
    assert [c.period for c in contexts] == [p for p, _ in series]
    expected = 2 if rule_type == "trend" else 0
    assert len(contexts[-1].history) == expected

"""Alert rules on defined metrics: thresholds in the metric's own unit, checked against its definition,
compared exactly, for every rule type (here an org's own months metric: burn and runway of the cash forecast
have their own rules, test_alert_forecast_metrics.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from finance_core.aggregates import AggregateKey
from finance_core.alert_inputs import PlannedEvaluation, build_context, value_of
from finance_core.alert_rules import (
    AlertTarget,
    RuleContext,
    RuleError,
    definition_problem,
    evaluate,
    parse_rule,
    rule_document,
)
from finance_core.periods import add_months, period_range

from tests.unit.alert_demo_series import demo_org

PERIOD = "2026-11"
RUNWAY = {"label": "Runway", "unit": "months", "direction": "higher_is_better"}
DSO = {"label": "DSO", "unit": "days", "direction": "lower_is_better"}


def _rule(metric: str = "cash_cover_months", **fields):
    base = {"rule_id": "r1", "name": "Rule", "target": {"metric": metric}}
    return parse_rule({**base, **fields})


def _context(value, unit, *, comparison=None, history=(), higher_is_better=None):
    start = add_months(PERIOD, -len(history))
    periods = period_range(start, add_months(PERIOD, -1)) if history else []
    return RuleContext(
        period=PERIOD,
        current_value=value,
        comparison_value=comparison,
        history=tuple(zip(periods, history, strict=True)),
        unit=unit,
        target_label="Metric",
        higher_is_better=higher_is_better,
    )


def test_a_threshold_in_the_metrics_own_unit_is_an_exact_decimal():
    rule = _rule(type="absolute", direction="below", threshold="6")
    assert rule.threshold == Decimal("6") and rule_document(rule)["threshold"] == "6"
    assert _rule(type="absolute", direction="below", threshold=" 1.10 ").threshold == Decimal("1.10")
    with pytest.raises(RuleError, match=r'threshold: .*exact decimal string such as "1.5"'):
        _rule(type="absolute", direction="below", threshold=1.5)
    with pytest.raises(RuleError, match="not a decimal number"):
        _rule(type="absolute", direction="below", threshold="six")
    with pytest.raises(RuleError, match="not a finite"):
        _rule(type="absolute", direction="below", threshold="NaN")
    with pytest.raises(RuleError, match="exactly one of threshold_minor"):
        _rule(type="absolute", direction="below", threshold="6", threshold_minor=600)
    with pytest.raises(RuleError, match="exactly one of threshold_minor"):
        _rule(type="absolute", direction="below")


def test_built_in_metrics_and_accounts_keep_their_fixed_units():
    with pytest.raises(RuleError, match="money target needs threshold_minor"):
        _rule("revenue", type="absolute", direction="below", threshold="6")
    with pytest.raises(RuleError, match="is a percentage: give threshold_pct, not threshold"):
        _rule("gross_margin_pct", type="absolute", direction="below", threshold="40")
    with pytest.raises(RuleError, match="money target needs threshold_minor"):
        parse_rule(
            {
                "rule_id": "r",
                "name": "n",
                "type": "forecast",
                "direction": "below",
                "threshold": "1",
                "target": {"account_id": "6100"},
            }
        )
    assert AlertTarget(metric="cash_cover_months").is_defined and not AlertTarget(metric="ebitda").is_defined


def test_the_threshold_is_checked_against_the_definition():
    months = _rule(type="absolute", direction="below", threshold="6")
    assert definition_problem(months, "months", "higher_is_better") is None
    problem = definition_problem(months, "money", "higher_is_better")
    assert problem == (
        "threshold: metric 'cash_cover_months' is in money: give threshold_minor (threshold_minor: 100000 (1,000.00)), "
        "not threshold"
    )
    money = _rule("cash_position", type="absolute", direction="below", threshold_minor=100000)
    assert definition_problem(money, "money", "higher_is_better") is None
    assert "is in ratio: give threshold" in str(definition_problem(money, "ratio", "higher_is_better"))
    pct = _rule("churn_pct", type="absolute", direction="above", threshold_pct="5")
    assert definition_problem(pct, "percent", "lower_is_better") is None
    assert definition_problem(_rule("churn", type="absolute", direction="above", threshold="5"), "percent", "x") is None
    forecast = _rule(type="forecast", direction="below", threshold_minor=5)
    assert "is in months" in str(definition_problem(forecast, "months", "higher_is_better"))
    variance = _rule(type="variance", threshold_pct="10")
    assert "needs direction 'any'" in str(definition_problem(variance, "days", "neutral"))
    assert definition_problem(_rule(type="variance", threshold_pct="10", direction="any"), "days", "neutral") is None


@pytest.mark.parametrize(
    ("value", "firing"),
    [(Decimal("5.99"), True), (Decimal("6.00"), False), (Decimal("6.01"), False)],
)
def test_absolute_compares_exactly_in_the_unit(value, firing):
    rule = _rule(type="absolute", direction="below", threshold="6")
    result = evaluate(rule, _context(value, "months"))
    assert result.firing is firing and result.evaluable
    assert result.threshold == Decimal("6") and result.current_value == value
    assert result.title == "Metric (all entities) below 6 months"
    assert f"is {format(value.normalize(), 'f')} months" in result.description


def test_a_ratio_threshold_does_not_round_through_a_float():
    # 1.1 as a float is 1.1000000000000000888: an exact threshold keeps 1.1 == 1.1 not above.
    rule = _rule("current_ratio", type="absolute", direction="above", threshold="1.1")
    assert not evaluate(rule, _context(Decimal("1.1000"), "ratio")).firing
    assert evaluate(rule, _context(Decimal("1.1001"), "ratio")).firing
    assert "is 1.1001x" in evaluate(rule, _context(Decimal("1.1001"), "ratio")).description


def test_variance_on_days_uses_the_definitions_direction():
    rule = _rule("dso", type="variance", threshold_pct="10")
    # DSO of 50 days against a budget of 42: 19.0476% above plan, and more days is bad news.
    result = evaluate(rule, _context(Decimal("50.00"), "days", comparison=Decimal("42.00"), higher_is_better=False))
    assert result.firing and result.current_value == Decimal("19.0476")
    assert "8 days (19.05%) above plan, unfavourable" in result.description
    good = evaluate(rule, _context(Decimal("30.00"), "days", comparison=Decimal("42.00"), higher_is_better=False))
    assert not good.firing and "favourable" in good.description


def test_variance_on_a_percent_metric_is_in_points():
    rule = _rule("churn", type="variance", threshold_pct="1", direction="any")
    result = evaluate(rule, _context(Decimal("4.5"), "percent", comparison=Decimal("3.0"), higher_is_better=False))
    assert result.firing and result.current_value == Decimal("1.5000")


def test_trend_anomaly_and_forecast_work_in_the_unit():
    declining = [Decimal(v) for v in ("12.50", "11.00", "9.75", "8.10")]
    trend = _rule(type="trend", direction="decline", periods=3)
    result = evaluate(trend, _context(Decimal("7.20"), "months", history=declining))
    assert result.firing and "from 12.5 months in 2026-07 to 7.2 months" in result.description

    slope = _rule(type="trend", direction="decline", mode="slope", periods=4)
    assert evaluate(slope, _context(Decimal("7.20"), "months", history=declining)).firing

    forecast = _rule(type="forecast", direction="below", threshold="6")
    fired = evaluate(forecast, _context(Decimal("7.20"), "months", history=declining))
    assert fired.firing and isinstance(fired.current_value, Decimal) and fired.current_value < 6
    assert "below 6 months" in fired.description
    far = _rule(type="forecast", direction="below", threshold="1")
    assert not evaluate(far, _context(Decimal("7.20"), "months", history=declining)).firing

    steady = [Decimal("1.50") + Decimal(i % 3) / 100 for i in range(24)]
    anomaly = _rule("current_ratio", type="anomaly", direction="drop")
    spike = evaluate(anomaly, _context(Decimal("0.40"), "ratio", history=steady))
    assert spike.firing and spike.evaluable
    assert isinstance(spike.details["expected"], float) and 1.4 < spike.details["expected"] < 1.6


def test_build_context_reads_a_defined_metric_in_its_unit():
    rule = _rule(type="absolute", direction="below", threshold="6")
    plan = PlannedEvaluation(rule, PERIOD, 0)
    key = AggregateKey("_all", PERIOD, "actual")
    documents = {key: {"metrics": {"cash_cover_months": Decimal("5.75")}}}
    chart = demo_org().chart
    context = build_context(plan, documents, chart=chart, currency="USD", definitions={"cash_cover_months": RUNWAY})
    assert context.current_value == Decimal("5.75") and context.unit == "months"
    assert context.target_label == "Runway" and context.higher_is_better is True
    assert evaluate(rule, context).firing
    assert value_of(AlertTarget(metric="dso"), {"metrics": {"dso": Decimal("41.37")}}, chart) == Decimal("41.37")
    dso = build_context(
        PlannedEvaluation(_rule("dso", type="variance", threshold_pct="5"), PERIOD, 0),
        documents,
        chart=chart,
        currency="USD",
        definitions={"dso": DSO},
    )
    assert dso.higher_is_better is False and dso.unit == "days"

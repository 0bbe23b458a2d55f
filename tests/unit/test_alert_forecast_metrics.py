"""Alert rules on burn and runway judge the 13-week cash forecast's figure (finance_core.cash.CashRunway), the one
every screen shows: "not burning" never fires a "runway below" rule, and rules that need a month's history or a
budget are refused with a reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from finance_core.alert_inputs import forecast_context, is_forecast_rule
from finance_core.alert_rules import RuleError, definition_problem, evaluate, parse_rule
from finance_core.cash import cash_runway, runway_value

PERIOD = "2026-12"
AS_OF = date(2026, 12, 7)
# 8 weeks of -1,000.00 .. -1,700.00 (mean -1,350.00) and 39,200.00 of cash: 6.7 months (docs/kpis.md).
BURNING = cash_runway(Decimal(-1350_00), 39_200_00, AS_OF).as_document()
NOT_BURNING = cash_runway(Decimal(250_00), 39_200_00, AS_OF).as_document()
NO_HISTORY = cash_runway(None, 39_200_00, AS_OF).as_document()


def _rule(metric: str = "runway_months", **fields):
    base = {"rule_id": "r1", "name": "Runway short", "type": "absolute", "target": {"metric": metric}}
    return parse_rule({**base, **fields})


def _judge(rule, runway):
    return evaluate(rule, forecast_context(rule, runway, period=PERIOD, currency="USD"))


def test_the_values_are_the_forecasts():
    assert BURNING["runway_months"] == "6.7" and BURNING["burn_monthly_minor"] == 5850_00
    assert runway_value("runway_months", BURNING) == Decimal("6.7")
    assert runway_value("net_burn", BURNING) == 5850_00
    assert runway_value("runway_months", NOT_BURNING) is None
    assert runway_value("net_burn", NOT_BURNING) == 0
    assert runway_value("runway_months", NO_HISTORY) is None and runway_value("net_burn", NO_HISTORY) is None
    assert runway_value("runway_months", None) is None


@pytest.mark.parametrize(("threshold", "firing"), [("6.8", True), ("6.7", False), ("6", False)])
def test_a_runway_below_rule_compares_the_forecasts_months_exactly(threshold, firing):
    result = _judge(_rule(direction="below", threshold=threshold), BURNING)
    assert result.evaluable and result.firing is firing
    assert result.current_value == Decimal("6.7") and result.period == PERIOD
    assert "now is 6.7 months (13-week cash forecast of 2026-12-07)" in result.description


def test_not_burning_never_fires_a_runway_below_rule_and_resolves_one_that_fired():
    below = _judge(_rule(direction="below", threshold="6"), NOT_BURNING)
    # Evaluable: an alert raised while the company burned resolves once the forecast stops burning.
    assert below.evaluable and not below.firing and below.current_value is None
    assert "not burning, the 13-week cash forecast of 2026-12-07 holds or grows the cash" in below.description
    # Cash that never runs out lasts longer than any threshold.
    assert _judge(_rule(direction="above", threshold="24"), NOT_BURNING).firing


def test_no_forecast_yet_decides_nothing():
    result = _judge(_rule(direction="below", threshold="6"), NO_HISTORY)
    assert not result.evaluable and not result.firing
    assert not _judge(_rule(direction="below", threshold="6"), None).evaluable


def test_a_net_burn_rule_reads_the_monthly_burn_in_minor_units():
    rule = _rule("net_burn", direction="above", threshold_minor=5000_00)
    fired = _judge(rule, BURNING)
    assert fired.firing and fired.current_value == 5850_00 and "5,850.00" in fired.description
    # Not burning is a burn of 0, not "no figure".
    quiet = _judge(rule, NOT_BURNING)
    assert quiet.evaluable and not quiet.firing and quiet.current_value == 0


def test_thresholds_are_checked_in_the_metrics_unit():
    months = _rule(direction="below", threshold_minor=600)
    assert "is in months" in str(definition_problem(months, "months", "higher_is_better"))
    assert definition_problem(_rule(direction="below", threshold="6"), "months", "higher_is_better") is None


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "trend", "direction": "decline"},
        {"type": "variance", "threshold_pct": "10"},
        {"type": "forecast", "direction": "below", "threshold": "6"},
        {"type": "anomaly"},
    ],
)
def test_rules_that_need_a_months_history_or_a_budget_are_refused(fields):
    with pytest.raises(RuleError, match=r"live figure of the 13-week cash forecast .* only an 'absolute' rule"):
        parse_rule({"rule_id": "r1", "name": "n", "target": {"metric": "runway_months"}, **fields})


def test_burn_and_runway_are_consolidated_actuals():
    with pytest.raises(RuleError, match="consolidated cash forecast: its target is entity_id '_all'"):
        _rule(direction="below", threshold="6", target={"metric": "runway_months", "entity_id": "us"})
    with pytest.raises(RuleError, match="scenario 'actual'"):
        _rule("net_burn", direction="above", threshold_minor=1, target={"metric": "net_burn", "scenario": "budget"})


def test_only_burn_and_runway_rules_are_forecast_rules():
    assert is_forecast_rule(_rule(direction="below", threshold="6"))
    assert is_forecast_rule(_rule("net_burn", direction="above", threshold_minor=1))
    assert not is_forecast_rule(_rule("cash_position", direction="below", threshold_minor=1))


def test_one_alert_across_months_the_forecast_is_live():
    from finance_core.alert_rules import rule_fingerprint

    rule = _rule(direction="below", threshold="6")
    assert rule_fingerprint(rule, "2026-11") == rule_fingerprint(rule, "2026-12")
    revenue = _rule("revenue", direction="below", threshold_minor=1)
    assert rule_fingerprint(revenue, "2026-11") != rule_fingerprint(revenue, "2026-12")

"""Alert rules: parsing as data, stable fingerprints, and the pure evaluation of each rule type."""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pytest
from finance_core.accounts import AccountType
from finance_core.alert_rules import (
    AbsoluteRule,
    AlertTarget,
    AnomalyRule,
    ForecastRule,
    RuleContext,
    RuleError,
    Severity,
    TrendRule,
    VarianceRule,
    evaluate,
    fingerprint,
    parse_rule,
    rule_document,
    rule_fingerprint,
)
from finance_core.periods import add_months, period_range
from hypothesis import given, settings
from hypothesis import strategies as st


def _history(values, before: str) -> list[tuple[str, int]]:
    start = add_months(before, -len(values))
    return list(zip(period_range(start, add_months(before, -1)), values, strict=True)) if values else []


def _rule(**fields):
    base = {"rule_id": "r1", "name": "Test rule", "target": {"metric": "revenue"}}
    return parse_rule({**base, **fields})


# --- rules as data ------------------------------------------------------------------------------


def test_each_rule_type_parses_from_its_stored_document():
    rules = [
        _rule(type="absolute", direction="below", threshold_minor=100_000_00),
        _rule(type="variance", threshold_pct="10", target={"account_id": "6100", "entity_id": "us-east"}),
        _rule(type="trend", direction="decline", periods=3),
        _rule(type="anomaly"),
        _rule(type="forecast", direction="below", threshold_minor=0, target={"account_id": "1000"}),
    ]
    assert [type(rule) for rule in rules] == [AbsoluteRule, VarianceRule, TrendRule, AnomalyRule, ForecastRule]
    variance = rules[1]
    assert variance.direction == "unfavourable" and variance.comparison_scenario == "budget"
    assert variance.target.entity_id == "us-east" and variance.target.scenario == "actual"
    assert rules[0].severity is Severity.WARNING and rules[0].enabled and rules[0].cooldown_seconds == 3600
    for rule in rules:
        assert parse_rule(rule_document(rule)) == rule


def test_common_fields_channels_and_escalation_are_kept():
    rule = _rule(
        type="absolute",
        direction="above",
        threshold_minor=5,
        severity="critical",
        channels=["email-finance", "slack-cfo"],
        escalation={"channels": ["pager-controller", "pager-cfo"], "escalate_after_seconds": 900},
        cooldown_seconds=0,
        enabled=False,
    )
    assert rule.severity is Severity.CRITICAL and rule.channels == ("email-finance", "slack-cfo")
    assert rule.escalation.channels == ("pager-controller", "pager-cfo")
    assert rule.escalation.escalate_after_seconds == 900
    assert rule.target.entity_id == "_all"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"type": "absolute", "direction": "above", "threshold_pct": "40"}, "threshold_minor"),
        (
            {"type": "absolute", "direction": "above", "threshold_minor": 40, "target": {"metric": "net_margin_pct"}},
            "percentage",
        ),
        ({"type": "absolute", "direction": "above", "threshold_minor": 10.5}, "threshold_minor"),
        (
            {"type": "forecast", "direction": "above", "threshold_minor": 1, "target": {"metric": "gross_margin_pct"}},
            "percentages",
        ),
        (
            {"type": "variance", "threshold_pct": "10", "target": {"metric": "revenue", "account_id": "4000"}},
            "exactly one",
        ),
        ({"type": "variance", "threshold_pct": "10", "target": {}}, "exactly one"),
        ({"type": "variance", "threshold_pct": "0"}, "greater than 0"),
        ({"type": "variance", "threshold_pct": "5", "comparison_scenario": "actual"}, "comparison_scenario"),
        ({"type": "trend", "direction": "decline", "mode": "slope", "periods": 2}, "periods >= 3"),
        ({"type": "bogus"}, "does not match any of the expected tags"),
        ({"type": "anomaly", "rule_id": "bad__id"}, "rule_id"),
        ({"type": "anomaly", "channels": ["ok", "no spaces"]}, "channel id"),
        ({"type": "anomaly", "target": {"metric": "revenue", "entity_id": "a/b"}}, "entity_id"),
        ({"type": "anomaly", "thresold": 3}, "thresold: is not a field"),
    ],
)
def test_invalid_rules_are_rejected_with_a_readable_reason(document, message):
    with pytest.raises(RuleError, match=re.escape(message)):
        _rule(**document)


# --- fingerprints -------------------------------------------------------------------------------


def test_fingerprint_is_a_stable_hex_document_id_of_rule_and_target():
    target = AlertTarget(metric="revenue")
    value = fingerprint("r1", target)
    assert value == fingerprint("r1", AlertTarget(metric="revenue", entity_id="_all", scenario="actual"))
    assert re.fullmatch(r"[0-9a-f]{32}", value)
    others = {
        fingerprint("r2", target),
        fingerprint("r1", AlertTarget(metric="ebitda")),
        fingerprint("r1", AlertTarget(account_id="revenue")),
        fingerprint("r1", AlertTarget(metric="revenue", entity_id="us-east")),
        fingerprint("r1", AlertTarget(metric="revenue", scenario="forecast")),
        fingerprint("r1", target, "2026-10"),
    }
    assert value not in others and len(others) == 6


def test_period_scoped_rules_get_one_alert_per_period_and_trend_rules_one_across_periods():
    absolute = _rule(type="absolute", direction="below", threshold_minor=1)
    trend = _rule(type="trend", direction="decline")
    assert rule_fingerprint(absolute, "2026-10") != rule_fingerprint(absolute, "2026-11")
    assert rule_fingerprint(trend, "2026-10") == rule_fingerprint(trend, "2026-11")


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=-(10**12), max_value=10**12))
def test_a_fingerprint_never_depends_on_the_values(first, second):
    rule = _rule(type="absolute", direction="above", threshold_minor=0)
    one = evaluate(rule, RuleContext(period="2026-10", current_value=first))
    two = evaluate(rule, RuleContext(period="2026-10", current_value=second))
    assert one.fingerprint == two.fingerprint == rule_fingerprint(rule, "2026-10")


# --- absolute -----------------------------------------------------------------------------------


def test_absolute_rule_fires_strictly_beyond_the_threshold_and_words_amounts():
    rule = _rule(type="absolute", direction="below", threshold_minor=5_000_000, target={"account_id": "1000"})
    low = evaluate(rule, RuleContext(period="2026-10", current_value=4_999_999, target_label="Cash"))
    assert low.firing and low.evaluable
    assert low.title == "Cash (all entities) below 50,000.00 USD"
    assert low.description == (
        "Cash for all entities in 2026-10 is 49,999.99 USD, below the threshold of 50,000.00 USD."
    )
    assert (low.current_value, low.threshold) == (4_999_999, 5_000_000)
    at_threshold = evaluate(rule, RuleContext(period="2026-10", current_value=5_000_000))
    assert not at_threshold.firing and "within the threshold" in at_threshold.description
    yen = evaluate(rule, RuleContext(period="2026-10", current_value=10, currency="JPY"))
    assert "10 JPY" in yen.description and "5,000,000 JPY" in yen.description


def test_absolute_rule_on_a_margin_compares_percentages():
    rule = _rule(type="absolute", direction="below", threshold_pct="35", target={"metric": "gross_margin_pct"})
    result = evaluate(rule, RuleContext(period="2026-10", current_value=Decimal("34.9999")))
    assert result.firing and "35.00%" in result.description and "Gross margin %" in result.title


def test_no_figure_means_not_evaluable_rather_than_resolved():
    rule = _rule(type="absolute", direction="above", threshold_minor=1)
    result = evaluate(rule, RuleContext(period="2026-10", current_value=None))
    assert not result.firing and not result.evaluable


# --- variance -----------------------------------------------------------------------------------


def test_an_opex_overrun_beyond_the_threshold_fires_and_a_revenue_overrun_does_not():
    opex = _rule(type="variance", threshold_pct="10", target={"metric": "opex"})
    over = evaluate(opex, RuleContext(period="2026-10", current_value=1_150_000, comparison_value=1_000_000))
    assert over.firing and over.current_value == Decimal("15.0000") and over.threshold == Decimal("10")
    assert "1,500.00 USD (15.00%) above plan, unfavourable" in over.description
    revenue = _rule(type="variance", threshold_pct="10", target={"metric": "revenue"})
    good = evaluate(revenue, RuleContext(period="2026-10", current_value=1_150_000, comparison_value=1_000_000))
    assert not good.firing and good.evaluable
    short = evaluate(revenue, RuleContext(period="2026-10", current_value=850_000, comparison_value=1_000_000))
    assert short.firing
    within = evaluate(opex, RuleContext(period="2026-10", current_value=1_100_000, comparison_value=1_000_000))
    assert not within.firing  # exactly 10 % is not beyond 10 %


def test_variance_direction_any_and_favourable():
    both = _rule(type="variance", threshold_pct="10", direction="any")
    praise = _rule(type="variance", threshold_pct="10", direction="favourable")
    context = RuleContext(period="2026-10", current_value=1_150_000, comparison_value=1_000_000)
    assert evaluate(both, context).firing and evaluate(praise, context).firing
    worse = RuleContext(period="2026-10", current_value=850_000, comparison_value=1_000_000)
    assert evaluate(both, worse).firing and not evaluate(praise, worse).firing


def test_an_account_variance_is_judged_by_the_account_type():
    rule = _rule(type="variance", threshold_pct="5", target={"account_id": "6100"})
    expense = RuleContext(period="2026-10", current_value=120, comparison_value=100, account_type=AccountType.OPEX)
    income = RuleContext(period="2026-10", current_value=120, comparison_value=100, account_type=AccountType.REVENUE)
    assert evaluate(rule, expense).firing and not evaluate(rule, income).firing
    unknown = evaluate(rule, RuleContext(period="2026-10", current_value=120, comparison_value=100))
    assert not unknown.evaluable


def test_a_zero_budget_is_not_evaluable_and_a_margin_variance_is_in_points():
    rule = _rule(type="variance", threshold_pct="10", target={"metric": "opex"})
    assert not evaluate(rule, RuleContext(period="2026-10", current_value=5, comparison_value=0)).evaluable
    margin = _rule(type="variance", threshold_pct="2", target={"metric": "gross_margin_pct"})
    context = RuleContext(period="2026-10", current_value=Decimal("37.5"), comparison_value=Decimal("40"))
    result = evaluate(margin, context)
    assert result.firing and result.current_value == Decimal("-2.5000") and "2.5000 points" in result.description


# --- trend --------------------------------------------------------------------------------------


def test_consecutive_declines_fire_once_the_run_is_long_enough():
    rule = _rule(type="trend", direction="decline", periods=3)
    history = _history([1_000, 1_050, 900, 800, 750], "2026-10")
    falling = RuleContext(period="2026-10", current_value=700, history=history)
    result = evaluate(rule, falling)
    assert result.firing and result.current_value == 4 and result.threshold == 3
    assert "declined 4 periods in a row, from 10.50 USD in 2026-06 to 7.00 USD in 2026-10" in result.description
    two = RuleContext(period="2026-10", current_value=700, history=_history([1_000, 800, 750], "2026-10"))
    assert evaluate(rule, two).firing  # three declines: 1,000 -> 800 -> 750 -> 700
    flat_step = RuleContext(period="2026-10", current_value=700, history=_history([1_000, 800, 700], "2026-10"))
    assert not evaluate(rule, flat_step).firing  # 700 -> 700 breaks the run
    rising = _rule(type="trend", direction="increase", periods=3)
    assert not evaluate(rising, falling).firing
    short = RuleContext(period="2026-10", current_value=700, history=_history([800, 750], "2026-10"))
    assert not evaluate(rule, short).evaluable


def test_slope_mode_needs_the_sign_and_a_convincing_fit():
    rule = _rule(type="trend", direction="increase", mode="slope", periods=6, min_r_squared=0.8)
    history = _history([100, 112, 119, 131, 142, 150], "2026-10")
    steady = RuleContext(period="2026-10", current_value=160, history=history)
    result = evaluate(rule, steady)
    assert result.firing and result.current_value == 10  # minor units per period, rounded
    noisy = RuleContext(period="2026-10", current_value=160, history=_history([100, 300, 20, 250, 90, 40], "2026-10"))
    assert not evaluate(rule, noisy).firing


# --- anomaly ------------------------------------------------------------------------------------


def _anomaly_context(last: int) -> RuleContext:
    rng = np.random.default_rng(4)
    history = [int(v) for v in np.round(1_000_000 + rng.normal(0, 10_000, 24))]
    return RuleContext(period="2026-10", current_value=last, history=_history(history, "2026-10"))


def test_anomaly_rule_fires_on_a_spike_and_respects_its_direction():
    spike = _anomaly_context(1_400_000)
    result = evaluate(_rule(type="anomaly"), spike)
    assert result.firing and result.threshold == 0.999
    assert 0.999 < result.current_value <= 1.0  # the likelihood
    assert "typical deviations above the expected" in result.description and "robust baseline" in result.description
    assert "likelihood 0.99999" in result.description and "the rule fires at 0.999" in result.description
    assert result.details["likelihood"] == result.current_value
    assert result.details["episode"] == "surprise" and result.details["baseline"] == "robust"
    assert abs(result.details["expected"] - 1_000_000) < 20_000 and isinstance(result.details["expected"], int)
    assert not evaluate(_rule(type="anomaly", direction="drop"), spike).firing
    assert evaluate(_rule(type="anomaly", direction="spike"), spike).firing
    ordinary = evaluate(_rule(type="anomaly"), _anomaly_context(1_005_000))
    assert not ordinary.firing and ordinary.current_value < 0.99


def test_anomaly_thresholds_are_likelihoods_and_legacy_z_scores_keep_their_meaning():
    assert _rule(type="anomaly", threshold=0.9999).threshold == 0.9999
    # A rule stored with a robust z-score (3.5) reads as the two-sided normal likelihood of that z.
    assert _rule(type="anomaly", threshold=3.5).threshold == pytest.approx(0.999535, abs=1e-6)
    assert _rule(type="anomaly", threshold=3).threshold == pytest.approx(0.9973, abs=1e-4)
    for bad in (0, -1, "high"):
        with pytest.raises(RuleError, match="threshold"):
            _rule(type="anomaly", threshold=bad)


def test_a_change_of_level_fires_one_anomaly_alert_then_reads_as_the_new_level():
    rng = np.random.default_rng(8)
    values = [int(v) for v in np.round(1_000_000 + rng.normal(0, 10_000, 30))]
    values[20:] = [v + 300_000 for v in values[20:]]  # a new contract from month 20
    periods = period_range("2024-05", "2026-10")
    rule = _rule(type="anomaly")
    series = list(zip(periods, values, strict=True))
    evaluations = [
        evaluate(rule, RuleContext(period=p, current_value=v, history=series[max(0, i - 36) : i]))
        for i, (p, v) in enumerate(series)
    ]
    assert [e.period for e in evaluations if e.firing] == [periods[20]]
    assert evaluations[21].details["episode"] == "absorbed"
    assert "the change is confirmed and the new level is the baseline" in evaluations[21].description


def test_anomaly_rule_needs_history():
    short = RuleContext(period="2026-10", current_value=5, history=_history([1, 2, 3], "2026-10"))
    result = evaluate(_rule(type="anomaly"), short)
    assert not result.evaluable and "needs at least 6 earlier periods" in result.description


# --- forecast -----------------------------------------------------------------------------------


def test_forecast_rule_fires_when_the_forecast_crosses_within_the_horizon():
    cash = [9_000_000 - 700_000 * i for i in range(8)]  # 90,000.00 falling 7,000.00 a month
    context = RuleContext(
        period="2026-10", current_value=cash[-1] - 700_000, history=_history(cash, "2026-10"), target_label="Cash"
    )
    rule = _rule(type="forecast", direction="below", threshold_minor=2_000_000, target={"account_id": "1000"})
    result = evaluate(rule, context)
    assert result.firing
    # 34,000.00 now; forecast 27,000.00, 20,000.00 (not below), 13,000.00 in 2027-01.
    assert result.current_value == 1_300_000 and result.threshold == 2_000_000
    assert "forecast at 13,000.00 USD in 2027-01, below 20,000.00 USD" in result.description
    one_month = _rule(
        type="forecast", direction="below", threshold_minor=2_000_000, horizon_periods=1, target={"account_id": "1000"}
    )
    quiet = evaluate(one_month, context)
    assert not quiet.firing and "through 2026-11" in quiet.description and quiet.current_value == 2_700_000


def test_forecast_rule_without_enough_history_is_not_evaluable():
    rule = _rule(type="forecast", direction="above", threshold_minor=1)
    context = RuleContext(period="2026-10", current_value=5, history=_history([4], "2026-10"))
    assert not evaluate(rule, context).evaluable


# --- common behaviour ---------------------------------------------------------------------------


def test_a_disabled_rule_never_fires_but_still_counts_as_decided():
    rule = _rule(type="absolute", direction="above", threshold_minor=0, enabled=False)
    result = evaluate(rule, RuleContext(period="2026-10", current_value=10))
    assert not result.firing and result.evaluable and "disabled" in result.description


def test_the_evaluation_carries_rule_severity_target_and_period():
    rule = _rule(
        type="absolute",
        direction="above",
        threshold_minor=0,
        severity="critical",
        target={"metric": "opex", "entity_id": "eu-west", "scenario": "forecast"},
    )
    result = evaluate(rule, RuleContext(period="2026-10", current_value=10))
    assert (result.rule_id, result.rule_type, result.period, result.severity) == (
        "r1",
        "absolute",
        "2026-10",
        Severity.CRITICAL,
    )
    assert result.target == rule.target and "(eu-west, forecast)" in result.title


def test_a_context_history_must_be_consecutive_and_end_before_the_period():
    with pytest.raises(ValueError, match="consecutive"):
        RuleContext(period="2026-10", current_value=1, history=[("2026-07", 1), ("2026-09", 2)])
    with pytest.raises(ValueError, match="consecutive"):
        RuleContext(period="2026-10", current_value=1, history=[("2026-10", 1)])
    with pytest.raises(ValueError):
        RuleContext(period="2026-1", current_value=1)
    assert RuleContext(period="2026-10", current_value=1, history=[("2026-09", 2)]).series() == [
        ("2026-09", 2),
        ("2026-10", 1),
    ]

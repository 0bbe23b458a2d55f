"""Trends: least-squares fit, compound growth, pattern classification and the 3-month forecast."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import numpy as np
import pytest
from finance_core.periods import period_range
from finance_core.trends import (
    TrendError,
    TrendPattern,
    analyze_trend,
    compound_growth_pct,
    linear_fit,
    trend_document,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def _series(values, start: str = "2024-01") -> list[tuple[str, int]]:
    periods = period_range(start, "2099-12")[: len(values)]
    return [(period, int(value)) for period, value in zip(periods, values, strict=True)]


def _seasonal_values(count: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Monthly revenue in cents: 10,000.00 level, +50.00 a month, a +/-2,000.00 yearly wave, noise 100.00."""
    rng = np.random.default_rng(seed)
    t = np.arange(count + 3)
    truth = 1_000_000 + 5_000 * t + 200_000 * np.sin(2 * np.pi * t / 12)
    observed = truth[:count] + rng.normal(0, 10_000, count)
    return np.round(observed), truth[count:]


def test_a_linear_series_has_r_squared_one_the_right_slope_and_an_exact_forecast():
    trend = analyze_trend(_series([250_000 + 12_500 * i for i in range(11)], start="2026-01"))
    assert trend.slope_minor_per_period == pytest.approx(12_500, abs=1e-6)
    assert trend.intercept_minor == pytest.approx(250_000, abs=1e-6)
    assert trend.r_squared == pytest.approx(1.0, abs=1e-12)
    assert trend.pattern is TrendPattern.INCREASING
    assert trend.forecast_method == "linear"
    assert [(p.period, p.value_minor, p.lower_minor, p.upper_minor) for p in trend.forecast] == [
        ("2026-12", 387_500, 387_500, 387_500),
        ("2027-01", 400_000, 400_000, 400_000),
        ("2027-02", 412_500, 412_500, 412_500),
    ]
    assert all(isinstance(p.value_minor, int) for p in trend.forecast)
    assert (trend.first_period, trend.last_period, trend.point_count) == ("2026-01", "2026-11", 11)


def test_a_falling_line_is_decreasing():
    trend = analyze_trend(_series([900_000 - 20_000 * i + (i % 2) * 1_000 for i in range(12)]))
    assert trend.pattern is TrendPattern.DECREASING
    assert trend.slope_minor_per_period < 0


def test_a_constant_series_is_stable_with_a_perfect_fit():
    trend = analyze_trend(_series([500_000] * 8))
    assert trend.pattern is TrendPattern.STABLE
    assert trend.slope_minor_per_period == 0 and trend.r_squared == 1.0
    assert [p.value_minor for p in trend.forecast] == [500_000] * 3
    assert trend.growth_rate_pct == Decimal("0.0000")


def test_a_slow_drift_relative_to_the_level_is_stable():
    rng = np.random.default_rng(3)
    values = 1_000_000 + 1_000 * np.arange(18) + rng.normal(0, 5_000, 18)  # +0.1 % a month
    assert analyze_trend(_series(np.round(values))).pattern is TrendPattern.STABLE


def test_erratic_swings_are_volatile():
    values = [100_000, 900_000, 50_000, 700_000, 120_000, 1_000_000, 80_000, 600_000, 300_000, 40_000, 850_000, 200_000]
    trend = analyze_trend(_series(values))
    assert trend.r_squared < 0.5 and trend.coefficient_of_variation > 0.25
    assert trend.pattern is TrendPattern.VOLATILE


def test_a_seasonal_series_is_seasonal_and_its_forecast_follows_the_season():
    observed, future = _seasonal_values(36)
    trend = analyze_trend(_series(observed))
    assert trend.pattern is TrendPattern.SEASONAL
    assert trend.forecast_method == "seasonal"
    assert trend.seasonal_autocorrelation > 0.9
    forecast = np.array([p.value_minor for p in trend.forecast])
    # Months 37-39 sit on the rising side of the wave: +100,000, +173,205, +200,000 above the
    # trend. The seasonal forecast lands within a few noise widths of the truth ...
    assert np.all(np.abs(forecast - future) < 40_000)
    for point, truth in zip(trend.forecast, future, strict=True):
        assert point.lower_minor <= truth <= point.upper_minor
    # ... where a straight line, blind to the season, misses by far more.
    line = linear_fit(observed)
    line_forecast = line.intercept + line.slope * np.arange(36, 39)
    assert np.all(np.abs(line_forecast - future) > 3 * np.abs(forecast - future))
    assert [p.period for p in trend.forecast] == ["2027-01", "2027-02", "2027-03"]


def test_the_forecast_interval_widens_with_the_horizon():
    rng = np.random.default_rng(11)
    values = np.round(2_000_000 + 15_000 * np.arange(20) + rng.normal(0, 30_000, 20))
    trend = analyze_trend(_series(values))
    widths = [p.upper_minor - p.lower_minor for p in trend.forecast]
    assert widths[0] > 0 and widths[0] < widths[1] < widths[2]
    for point in trend.forecast:
        assert point.lower_minor < point.value_minor < point.upper_minor


def test_seasonality_needs_two_full_seasons():
    observed, _ = _seasonal_values(23)
    trend = analyze_trend(_series(observed))
    assert trend.seasonal_autocorrelation is None
    assert trend.pattern is not TrendPattern.SEASONAL
    assert trend.forecast_method == "linear"


def test_noise_around_a_line_is_rarely_called_seasonal():
    rng = np.random.default_rng(2024)
    called = 0
    for _ in range(100):
        values = np.round(1_000_000 + 3_000 * np.arange(24) + rng.normal(0, 100_000, 24))
        called += analyze_trend(_series(values)).pattern is TrendPattern.SEASONAL
    assert called <= 2


def test_too_few_points_is_insufficient_data_without_a_forecast():
    for values in ([], [100], [100, 200]):
        trend = analyze_trend(_series(values))
        assert trend.pattern is TrendPattern.INSUFFICIENT_DATA
        assert trend.forecast == () and trend.slope_minor_per_period is None and trend.forecast_method is None
    assert analyze_trend(_series([100, 200])).last_period == "2024-02"


def test_periods_must_be_consecutive_months():
    with pytest.raises(TrendError, match="'2026-03' is followed by '2026-05'"):
        analyze_trend([("2026-02", 1), ("2026-03", 2), ("2026-05", 3)])
    with pytest.raises(TrendError):
        analyze_trend([("2026-03", 1), ("2026-02", 2), ("2026-01", 3)])
    with pytest.raises(ValueError, match="YYYY-MM"):
        analyze_trend([("2026-13", 1)])


def test_growth_rate_is_compound_per_period_between_first_and_last_non_zero_values():
    assert compound_growth_pct([100, 110, 121]) == Decimal("10.0000")
    # Leading and trailing zeros are skipped; the zero in between still counts as a period.
    assert compound_growth_pct([0, 0, 1_000, 0, 4_000, 0]) == Decimal("100.0000")
    assert compound_growth_pct([400, 100]) == Decimal("-75.0000")
    assert compound_growth_pct([0, 500, 0]) is None
    assert compound_growth_pct([-100, 200]) is None  # from a loss to a profit: no compound meaning
    assert compound_growth_pct([-100, -200]) is None
    trend = analyze_trend(_series([100_000, 110_000, 121_000, 133_100]))
    assert trend.growth_rate_pct == Decimal("10.0000")


def test_trend_document_is_plain_json():
    observed, _ = _seasonal_values(30)
    document = trend_document(analyze_trend(_series(observed)))
    assert json.loads(json.dumps(document, allow_nan=False)) == document
    assert len(document["forecast"]) == 3 and isinstance(document["forecast"][0]["value_minor"], int)
    flat_at_zero = trend_document(analyze_trend(_series([0, 0, 0, 5, -5, 0])))
    assert flat_at_zero["coefficient_of_variation"] is None  # infinite spread on a zero mean
    json.dumps(flat_at_zero, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=-(10**9), max_value=10**9), min_size=3, max_size=40),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(min_value=-(10**9), max_value=10**9),
)
def test_adding_a_ramp_and_a_level_shifts_slope_and_intercept_by_exactly_them(values, ramp, level):
    base = linear_fit(values)
    moved = linear_fit([v + ramp * i + level for i, v in enumerate(values)])
    assert moved.slope == pytest.approx(base.slope + ramp, abs=1e-3)
    assert moved.intercept == pytest.approx(base.intercept + level, abs=1e-2)
    assert 0.0 <= moved.r_squared <= 1.0
    assert math.isfinite(moved.r_squared)

"""Trend of one account or metric over consecutive months: fit, growth, pattern and a short forecast."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any, Literal

import numpy as np

from finance_core.metrics import PERCENT_QUANTUM
from finance_core.periods import months_between, next_periods, parse_period

DEFAULT_HORIZON = 3
DEFAULT_SEASON_LENGTH = 12

# Fewer points than this leave no degree of freedom for the residual error of a straight line.
MIN_TREND_POINTS = 3
# The lag-one-season correlation of the detrended series, and the share of the straight line's
# residual variance the seasonal profile explains, must both be this high to call a series
# seasonal: either alone is met by plain noise too often with only two or three seasons.
SEASONAL_MIN_AUTOCORRELATION = 0.6
SEASONAL_MIN_STRENGTH = 0.6
# Pure noise has a lag correlation of about 1/sqrt(pairs); with few pairs (two seasons) the bar
# rises to 2.5 of those standard errors so a noisy line is rarely (~0.5 %) called seasonal.
SEASONAL_NOISE_Z = 2.5
# A series whose straight line explains under half of its variance and whose spread is over a
# quarter of its mean level moves too erratically for a direction to mean anything.
VOLATILE_MAX_R_SQUARED = 0.5
VOLATILE_MIN_VARIATION = 0.25
# A slope under half a percent of the mean level per month (about 6 % a year) is called stable.
STABLE_MAX_RELATIVE_SLOPE = 0.005
# Two-sided 95 % band of a normal forecast error.
INTERVAL_Z = 1.96

ForecastMethod = Literal["linear", "seasonal"]


class TrendPattern(StrEnum):
    """How a series moves, in the words the dashboard shows."""

    INCREASING = "increasing"
    DECREASING = "decreasing"
    STABLE = "stable"
    VOLATILE = "volatile"
    SEASONAL = "seasonal"
    INSUFFICIENT_DATA = "insufficient_data"


class TrendError(ValueError):
    """The series cannot be analysed as given (periods out of order or with gaps)."""


@dataclass(frozen=True)
class LinearFit:
    """Least-squares straight line through values at x = 0, 1, 2 ... (x = 0 is the first period)."""

    slope: float
    """Change per period, in the series' unit (minor units per month for money)."""
    intercept: float
    """Fitted value at the first period."""
    r_squared: float
    """Share of the variance the line explains; 1.0 when the line fits exactly (also a constant)."""


@dataclass(frozen=True)
class ForecastPoint:
    """Forecast of one future period, rounded half-even to integer minor units."""

    period: str
    value_minor: int
    lower_minor: int
    """Lower end of the ~95 % prediction interval."""
    upper_minor: int
    """Upper end of the ~95 % prediction interval."""


@dataclass(frozen=True)
class Trend:
    """Everything the `trends/{account_id}` document shows about one series."""

    first_period: str | None
    last_period: str | None
    point_count: int
    slope_minor_per_period: float | None
    intercept_minor: float | None
    r_squared: float | None
    growth_rate_pct: Decimal | None
    """Compound growth per period between the first and last non-zero values (see compound_growth_pct)."""
    mean_minor: float | None
    coefficient_of_variation: float | None
    """Standard deviation / |mean|; infinite for a zero mean with any spread."""
    seasonal_autocorrelation: float | None
    """Correlation of the detrended series with itself one season earlier (needs two seasons)."""
    pattern: TrendPattern
    forecast_method: ForecastMethod | None
    forecast: tuple[ForecastPoint, ...]


def linear_fit(values: Sequence[float] | np.ndarray) -> LinearFit:
    """Least-squares line through the values (at least two)."""
    y = np.asarray(values, dtype=float)
    if y.size < 2:
        raise TrendError("a straight line needs at least two points")
    x = np.arange(y.size, dtype=float)
    x_mean, y_mean = x.mean(), y.mean()
    slope = float(((x - x_mean) * (y - y_mean)).sum() / ((x - x_mean) ** 2).sum())
    intercept = float(y_mean - slope * x_mean)
    residuals = y - (intercept + slope * x)
    return LinearFit(slope, intercept, _r_squared(y, residuals))


def _r_squared(y: np.ndarray, residuals: np.ndarray) -> float:
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if ss_tot == 0.0:
        # A constant series is fitted exactly by a flat line: nothing is left unexplained.
        return 1.0
    return min(1.0, max(0.0, 1.0 - float((residuals**2).sum()) / ss_tot))


def compound_growth_pct(values: Sequence[int | float | Decimal]) -> Decimal | None:
    """Compound growth per period, in percent with 4 decimals, between the first and last non-zero values.

    (last / first) ** (1 / periods_between) - 1, where periods_between counts the periods that
    separate those two values (zeros before, between or after them are not skipped in the count).
    None when there are fewer than two non-zero values or when they are not both positive: a
    growth rate from a loss to a profit, or between two losses, has no honest compound meaning.
    """
    non_zero = [(index, float(value)) for index, value in enumerate(values) if value != 0]
    if len(non_zero) < 2:
        return None
    (first_index, first), (last_index, last) = non_zero[0], non_zero[-1]
    if first <= 0 or last <= 0:
        return None
    rate = (last / first) ** (1.0 / (last_index - first_index)) - 1.0
    return Decimal(repr(rate * 100)).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)


def _check_consecutive(periods: Sequence[str]) -> None:
    for period in periods:
        parse_period(period)
    for earlier, later in zip(periods, periods[1:], strict=False):
        if months_between(earlier, later) != 1:
            raise TrendError(
                f"periods must be consecutive months, oldest first: {earlier!r} is followed by {later!r}"
                " (fill months without records with 0)"
            )


def _design(count: int, start: int, season_length: int | None) -> np.ndarray:
    # Columns: level, trend, and one indicator per season position but the first (the level
    # absorbs it), so the seasonal model is an ordinary least-squares fit like the line.
    x = np.arange(start, start + count, dtype=float)
    columns = [np.ones(count), x]
    if season_length:
        position = np.arange(start, start + count) % season_length
        columns.extend((position == p).astype(float) for p in range(1, season_length))
    return np.column_stack(columns)


def _least_squares_forecast(y: np.ndarray, horizon: int, season_length: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Point forecasts and half-widths of the ~95 % prediction interval for the next periods."""
    n = y.size
    design = _design(n, 0, season_length)
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ coefficients
    degrees_of_freedom = n - design.shape[1]
    sigma = math.sqrt(float((residuals**2).sum()) / degrees_of_freedom) if degrees_of_freedom > 0 else 0.0
    future = _design(horizon, n, season_length)
    # Var(y_new - forecast) = sigma^2 (1 + x0' (X'X)^-1 x0): the band widens as x0 leaves the
    # fitted range, i.e. with the horizon.
    inverse = np.linalg.pinv(design.T @ design)
    leverage = np.einsum("ij,jk,ik->i", future, inverse, future)
    half_width = INTERVAL_Z * sigma * np.sqrt(1.0 + leverage)
    return future @ coefficients, half_width


def _seasonality(y: np.ndarray, line_residuals: np.ndarray, season_length: int) -> tuple[float | None, float]:
    """(lag-one-season autocorrelation, seasonal strength) of a series of two seasons or more."""
    design = _design(y.size, 0, season_length)
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    # Detrend with the trend of the joint trend + season fit: a straight line fitted alone tilts
    # to absorb part of an incomplete or asymmetric season, which hides the seasonal repeat.
    detrended = y - design[:, :2] @ coefficients[:2]
    detrended = detrended - detrended.mean()
    head, tail = detrended[:-season_length], detrended[season_length:]
    denominator = math.sqrt(float((head**2).sum()) * float((tail**2).sum()))
    autocorrelation = float((head * tail).sum()) / denominator if denominator > 0.0 else None
    seasonal_ss = float(((y - design @ coefficients) ** 2).sum())
    line_ss = float((line_residuals**2).sum())
    strength = 1.0 - seasonal_ss / line_ss if line_ss > 0.0 else 0.0
    return autocorrelation, strength


def _classify(
    fit: LinearFit,
    mean: float,
    variation: float,
    autocorrelation: float | None,
    strength: float | None,
    autocorrelation_bar: float,
) -> TrendPattern:
    if (
        autocorrelation is not None
        and strength is not None
        and autocorrelation >= autocorrelation_bar
        and strength >= SEASONAL_MIN_STRENGTH
    ):
        return TrendPattern.SEASONAL
    if fit.r_squared < VOLATILE_MAX_R_SQUARED and variation > VOLATILE_MIN_VARIATION:
        return TrendPattern.VOLATILE
    if fit.slope == 0.0 or (mean != 0.0 and abs(fit.slope) / abs(mean) < STABLE_MAX_RELATIVE_SLOPE):
        return TrendPattern.STABLE
    return TrendPattern.INCREASING if fit.slope > 0 else TrendPattern.DECREASING


def analyze_trend(
    series: Sequence[tuple[str, int | Decimal]],
    *,
    horizon: int = DEFAULT_HORIZON,
    season_length: int = DEFAULT_SEASON_LENGTH,
) -> Trend:
    """Fit, growth, pattern and a `horizon`-period forecast of `(period, minor)` pairs, oldest first.

    Periods must be consecutive months. Seasonal series (two full seasons or more, a clear
    correlation one season apart) are forecast with a trend plus the seasonal offset of the same
    month; others with the straight line. Forecast values and bands are integer minor units.
    """
    if horizon < 0:
        raise TrendError(f"horizon must be >= 0, got {horizon}")
    periods = [period for period, _ in series]
    _check_consecutive(periods)
    count = len(series)
    if count < MIN_TREND_POINTS:
        return Trend(
            first_period=periods[0] if periods else None,
            last_period=periods[-1] if periods else None,
            point_count=count,
            slope_minor_per_period=None,
            intercept_minor=None,
            r_squared=None,
            growth_rate_pct=None,
            mean_minor=None,
            coefficient_of_variation=None,
            seasonal_autocorrelation=None,
            pattern=TrendPattern.INSUFFICIENT_DATA,
            forecast_method=None,
            forecast=(),
        )
    y = np.asarray([float(value) for _, value in series])
    fit = linear_fit(y)
    line_residuals = y - (fit.intercept + fit.slope * np.arange(count))
    mean = float(y.mean())
    spread = float(y.std())
    if mean != 0.0:
        variation = spread / abs(mean)
    else:
        variation = 0.0 if spread == 0.0 else math.inf
    autocorrelation = strength = None
    if season_length >= 2 and count >= 2 * season_length:
        autocorrelation, strength = _seasonality(y, line_residuals, season_length)
    pairs = max(count - season_length, 1)
    autocorrelation_bar = max(SEASONAL_MIN_AUTOCORRELATION, SEASONAL_NOISE_Z / math.sqrt(pairs))
    pattern = _classify(fit, mean, variation, autocorrelation, strength, autocorrelation_bar)
    method: ForecastMethod = "seasonal" if pattern is TrendPattern.SEASONAL else "linear"
    values, half_widths = _least_squares_forecast(y, horizon, season_length if method == "seasonal" else None)
    labels = next_periods(periods[-1], horizon)
    forecast = tuple(
        ForecastPoint(
            period=label,
            value_minor=round(float(value)),
            lower_minor=round(float(value - half)),
            upper_minor=round(float(value + half)),
        )
        for label, value, half in zip(labels, values, half_widths, strict=True)
    )
    return Trend(
        first_period=periods[0],
        last_period=periods[-1],
        point_count=count,
        slope_minor_per_period=fit.slope,
        intercept_minor=fit.intercept,
        r_squared=fit.r_squared,
        growth_rate_pct=compound_growth_pct([value for _, value in series]),
        mean_minor=mean,
        coefficient_of_variation=variation,
        seasonal_autocorrelation=autocorrelation,
        pattern=pattern,
        forecast_method=method,
        forecast=forecast,
    )


def _finite(value: float | None, digits: int) -> float | None:
    # JSON has no infinity or NaN: an undefined statistic is stored as null.
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def trend_document(trend: Trend) -> dict[str, Any]:
    """JSON/Firestore-ready body of `trends/{account_id}`; forecast amounts stay integer minor units."""
    return {
        "first_period": trend.first_period,
        "last_period": trend.last_period,
        "point_count": trend.point_count,
        "slope_minor_per_period": _finite(trend.slope_minor_per_period, 4),
        "intercept_minor": _finite(trend.intercept_minor, 4),
        "r_squared": _finite(trend.r_squared, 4),
        "growth_rate_pct": None if trend.growth_rate_pct is None else round(float(trend.growth_rate_pct), 4),
        "coefficient_of_variation": _finite(trend.coefficient_of_variation, 4),
        "seasonal_autocorrelation": _finite(trend.seasonal_autocorrelation, 4),
        "pattern": trend.pattern.value,
        "forecast_method": trend.forecast_method,
        "forecast": [
            {
                "period": point.period,
                "value_minor": point.value_minor,
                "lower_minor": point.lower_minor,
                "upper_minor": point.upper_minor,
            }
            for point in trend.forecast
        ],
    }

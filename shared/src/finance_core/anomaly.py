"""Robust anomaly detection on a monthly series: rolling modified z-scores, seasonally adjusted when possible."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import numpy as np

DEFAULT_WINDOW = 12
DEFAULT_THRESHOLD = 3.5
DEFAULT_SEASON_LENGTH = 12
# Same-month values of at most this many previous seasons form the seasonal baseline: enough
# for the median to outvote one odd year, few enough to follow a seasonal shape that evolves.
DEFAULT_MAX_SEASONS = 3

# 0.6745 is the 75th percentile of the standard normal: MAD / 0.6745 estimates the standard
# deviation of normal data, so the modified z-score reads like an ordinary z-score (Iglewicz and
# Hoaglin). 1.253314 = sqrt(pi / 2) does the same for the mean absolute deviation.
MAD_CONSISTENCY = 0.6745
MEAN_AD_CONSISTENCY = 1.253314

Number = int | float | Decimal


class AnomalyMethod(StrEnum):
    """Which baseline a point was scored against."""

    ROBUST = "robust"
    """Median of the previous `window` points."""
    SEASONAL = "seasonal"
    """Same month of previous seasons, shifted by the series' drift, then a robust score."""


@dataclass(frozen=True)
class AnomalyPoint:
    """The verdict on one point of the series."""

    index: int
    value: float
    expected: float | None
    """Baseline the point is compared with; None when there was not enough history to score it."""
    score: float | None
    """Modified z-score; +/-inf when the history is perfectly flat and the point leaves it."""
    is_anomaly: bool
    method: AnomalyMethod


def _floor_half(value: float) -> float:
    # Round half up rather than half-even: floor(x + 0.5) commutes with adding an integer, so a
    # cleaned history (and every later score) is the same whatever constant the series carries.
    return float(math.floor(value + 0.5))


def robust_score(deviation: float, reference_deviations: np.ndarray) -> float:
    """Modified z-score of `deviation` given the deviations of the reference points from their centre.

    Scale: MAD; if the MAD is 0 (over half the points equal), the mean absolute deviation; if that
    is 0 as well, any departure is infinitely unusual and no departure scores 0.
    """
    absolute = np.abs(reference_deviations)
    mad = float(np.median(absolute))
    if mad > 0.0:
        return MAD_CONSISTENCY * deviation / mad
    mean_ad = float(absolute.mean())
    if mean_ad > 0.0:
        return deviation / (MEAN_AD_CONSISTENCY * mean_ad)
    if deviation == 0.0:
        return 0.0
    return math.copysign(math.inf, deviation)


def _drift_per_period(clean: np.ndarray, end: int, season_length: int, max_seasons: int) -> float:
    # Median year-over-year change / season length: a trend estimate that ignores the season and
    # any single odd month (Theil-Sen in spirit).
    start = max(season_length, end - max_seasons * season_length)
    changes = clean[start:end] - clean[start - season_length : end - season_length]
    return float(np.median(changes)) / season_length


def _seasonal_residual(
    value: float, index: int, clean: np.ndarray, season_length: int, max_seasons: int, drift: float
) -> float:
    seasons = min(index // season_length, max_seasons)
    # Differences between whole numbers first, drift second: keeps the residual independent of
    # the series' level to the last bit.
    candidates = [
        (value - clean[index - k * season_length]) - k * season_length * drift for k in range(1, seasons + 1)
    ]
    return float(np.median(candidates))


def detect_anomalies(
    values: Sequence[Number],
    *,
    window: int = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
    season_length: int = DEFAULT_SEASON_LENGTH,
    seasonal: bool = True,
    max_seasons: int = DEFAULT_MAX_SEASONS,
) -> list[AnomalyPoint]:
    """Score every point of a series (oldest first) against its own past; flag |score| > threshold.

    A point is scored once `window` earlier points exist. With `seasonal` and at least two full
    seasons before it, the point is compared with the same month of previous seasons (shifted
    by the drift) and its residual is scored against the residuals of the previous `window`
    points, so December is judged against Decembers, not against November. Otherwise the plain
    modified z-score against the median of the previous `window` points applies.

    A flagged point is replaced by its expected value in the history later points are judged
    against, so one spike does not widen the scale or echo as a "drop" a season later.
    """
    if window < 2:
        raise ValueError(f"window must be >= 2, got {window}")
    if season_length < 2 and seasonal:
        raise ValueError(f"season_length must be >= 2, got {season_length}")
    raw = np.asarray([float(v) for v in values], dtype=float)
    clean = raw.copy()
    # Every point of the residual window needs a season of its own history as well.
    first_seasonal = max(2 * season_length, window + season_length)
    points: list[AnomalyPoint] = []
    for index, value in enumerate(raw.tolist()):
        if seasonal and index >= first_seasonal:
            method = AnomalyMethod.SEASONAL
            drift = _drift_per_period(clean, index, season_length, max_seasons)
            residual = _seasonal_residual(value, index, clean, season_length, max_seasons, drift)
            reference = np.asarray(
                [
                    _seasonal_residual(clean[j], j, clean, season_length, max_seasons, drift)
                    for j in range(index - window, index)
                ]
            )
        elif index >= window:
            method = AnomalyMethod.ROBUST
            residual = value
            reference = clean[index - window : index]
        else:
            points.append(AnomalyPoint(index, value, None, None, False, AnomalyMethod.ROBUST))
            continue
        centre = float(np.median(reference))
        deviation = residual - centre
        score = robust_score(deviation, reference - centre)
        flagged = abs(score) > threshold
        if flagged:
            clean[index] = value - _floor_half(deviation)
        points.append(AnomalyPoint(index, value, value - deviation, score, flagged, method))
    return points


def score_latest(
    values: Sequence[Number],
    *,
    window: int = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
    season_length: int = DEFAULT_SEASON_LENGTH,
    seasonal: bool = True,
    max_seasons: int = DEFAULT_MAX_SEASONS,
) -> AnomalyPoint | None:
    """Verdict on the newest point (the live case); None for an empty series.

    The history is cleaned exactly as in detect_anomalies, so the live verdict always equals the
    last point of a full run.
    """
    if not values:
        return None
    return detect_anomalies(
        values,
        window=window,
        threshold=threshold,
        season_length=season_length,
        seasonal=seasonal,
        max_seasons=max_seasons,
    )[-1]

"""Robust anomaly detection on a monthly series: modified z-scores, seasonally adjusted when history allows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from statistics import median

DEFAULT_WINDOW = 12
DEFAULT_THRESHOLD = 3.5
DEFAULT_SEASON_LENGTH = 12
# Same-month values of at most this many other seasons form a point's seasonal baseline, and
# the seasonal history looks back this many seasons: enough for a median to outvote one odd
# year, few enough to follow a seasonal shape that evolves.
DEFAULT_MAX_SEASONS = 3

# 0.6745 is the 75th percentile of the standard normal: MAD / 0.6745 estimates the standard
# deviation of normal data, so the modified z-score reads like an ordinary z-score (Iglewicz and
# Hoaglin). 1.253314 = sqrt(pi / 2) does the same for the mean absolute deviation.
MAD_CONSISTENCY = 0.6745
MEAN_AD_CONSISTENCY = 1.253314
# A MAD of n points is as informative as a standard deviation of about 0.37 n points (its
# asymptotic efficiency), hence the degrees of freedom of the small-sample correction.
MAD_EFFICIENCY = 0.37

Number = int | float | Decimal


class AnomalyMethod(StrEnum):
    """Which baseline a point was scored against."""

    ROBUST = "robust"
    """Median of the previous `window` points."""
    SEASONAL = "seasonal"
    """Same month of other seasons, shifted by the series' drift."""


@dataclass(frozen=True)
class AnomalyPoint:
    """The verdict on one point of the series."""

    index: int
    value: float
    expected: float | None
    """Baseline the point is compared with; None when there was not enough history to score it."""
    score: float | None
    """Modified z-score (small-sample corrected by default); +/-inf when a perfectly flat history is left."""
    is_anomaly: bool
    method: AnomalyMethod


def modified_z_score(deviation: float, reference_deviations: Sequence[float]) -> float:
    """0.6745 * deviation / MAD of the reference deviations (each from the reference's centre).

    When the MAD is 0 (over half of the reference is equal) the mean absolute deviation is the
    scale instead; when that is 0 as well, any departure is infinitely unusual and none is 0.
    """
    absolute = [abs(d) for d in reference_deviations]
    mad = median(absolute)
    if mad > 0:
        return MAD_CONSISTENCY * deviation / mad
    mean_ad = sum(absolute) / len(absolute)
    if mean_ad > 0:
        return deviation / (MEAN_AD_CONSISTENCY * mean_ad)
    if deviation == 0:
        return 0.0
    return math.copysign(math.inf, deviation)


def _degrees_of_freedom(reference_size: int) -> float:
    return max(MAD_EFFICIENCY * (reference_size - 1), 1.0)


def _bailey_factor(freedom: float) -> float:
    return (8 * freedom + 1) / (8 * freedom + 3)


def small_sample_score(raw_score: float, reference_size: int) -> float:
    """The normal z-score as rare as `raw_score` is when the scale comes from only `reference_size` points.

    A scale estimated from a dozen points is itself uncertain, so the raw score has a Student-t
    tail: with 12 points a raw 3.5 happens about once in 40 normal points, not once in 2,000.
    Bailey's normalising transformation of t (accurate to about 1 % here) maps it back, so a
    threshold means the same rarity whatever the history length.
    """
    if raw_score == 0 or not math.isfinite(raw_score):
        return raw_score
    freedom = _degrees_of_freedom(reference_size)
    return math.copysign(
        _bailey_factor(freedom) * math.sqrt(freedom * math.log1p(raw_score * raw_score / freedom)), raw_score
    )


def _raw_score_at(score: float, reference_size: int) -> float:
    # Inverse of small_sample_score for a positive score.
    freedom = _degrees_of_freedom(reference_size)
    return math.sqrt(freedom * math.expm1((score / _bailey_factor(freedom)) ** 2 / freedom))


def _floor_half(value: float) -> float:
    # Round half up rather than half-even: floor(x + 0.5) commutes with adding an integer, so a
    # cleaned history (and every later score) is the same whatever constant the series carries.
    return float(math.floor(value + 0.5))


def _drift_per_period(clean: list[float], start: int, end: int, season_length: int) -> float:
    # Median season-over-season change / season length: a trend estimate that ignores the season
    # and any single odd month (Theil-Sen in spirit).
    changes = [clean[j] - clean[j - season_length] for j in range(max(start, season_length), end)]
    return median(changes) / season_length


def _seasonal_residual(
    value: float, index: int, clean: list[float], start: int, end: int, season_length: int, max_seasons: int,
    drift: float,
) -> float:
    # Compare with the nearest same-month values of other seasons inside [start, end), each moved
    # along the drift to this point's date. Differences of whole numbers come first and the drift
    # second, which keeps the residual independent of the series' level to the last bit.
    others = sorted(
        (abs(index - m), m) for m in range(start + (index - start) % season_length, end, season_length) if m != index
    )[:max_seasons]
    return median((value - clean[m]) - (index - m) * drift for _, m in others)


def detect_anomalies(
    values: Sequence[Number],
    *,
    window: int = DEFAULT_WINDOW,
    threshold: float = DEFAULT_THRESHOLD,
    season_length: int = DEFAULT_SEASON_LENGTH,
    seasonal: bool = True,
    max_seasons: int = DEFAULT_MAX_SEASONS,
    small_sample_correction: bool = True,
) -> list[AnomalyPoint]:
    """Score every point of a series (oldest first) against its own past; flag |score| > threshold.

    Robust method (a point with `window` earlier points): modified z-score against the median
    and MAD of the previous `window` points.

    Seasonal method (`seasonal` and at least two full seasons before the point): each point of
    the last `max_seasons` seasons gets a residual against the same month of the other seasons
    in that history (moved along the median season-over-season drift); the point's residual is
    centred on the median residual of the last `window` points and scaled by the MAD of all
    those residuals. December is judged against Decembers, not against November.

    The score is corrected for the size of the reference (see small_sample_score) unless
    `small_sample_correction` is False. A flagged point enters later points' history clipped to
    the threshold, so one spike neither inflates the scale nor echoes as a drop a season later,
    and flagged points do not shrink the scale either.
    """
    if window < 2:
        raise ValueError(f"window must be >= 2, got {window}")
    if seasonal and season_length < 2:
        raise ValueError(f"season_length must be >= 2, got {season_length}")
    if max_seasons < 1:
        raise ValueError(f"max_seasons must be >= 1, got {max_seasons}")
    clean = [float(v) for v in values]
    points: list[AnomalyPoint] = []
    for index, value in enumerate(list(clean)):
        if seasonal and index >= 2 * season_length:
            method = AnomalyMethod.SEASONAL
            start = max(0, index - max_seasons * season_length)
            drift = _drift_per_period(clean, start, index, season_length)
            args = (clean, start, index, season_length, max_seasons, drift)
            residual = _seasonal_residual(value, index, *args)
            reference = [_seasonal_residual(clean[j], j, *args) for j in range(start, index)]
            centre = median(reference[-window:])
            spread_centre = median(reference)
        elif index >= window:
            method = AnomalyMethod.ROBUST
            residual = value
            reference = clean[index - window : index]
            centre = spread_centre = median(reference)
        else:
            points.append(AnomalyPoint(index, value, None, None, False, AnomalyMethod.ROBUST))
            continue
        deviation = residual - centre
        raw_score = modified_z_score(deviation, [r - spread_centre for r in reference])
        score = small_sample_score(raw_score, len(reference)) if small_sample_correction else raw_score
        flagged = abs(score) > threshold
        if flagged:
            bar = _raw_score_at(threshold, len(reference)) if small_sample_correction else threshold
            kept = 0.0 if raw_score in (math.inf, -math.inf) else deviation * bar / abs(raw_score)
            clean[index] = value - _floor_half(deviation - kept)
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
    small_sample_correction: bool = True,
) -> AnomalyPoint | None:
    """Verdict on the newest point (the live case); None for an empty series.

    The history is cleaned exactly as in detect_anomalies, so the live verdict always equals the
    last point of a full run over the same series.
    """
    if len(values) == 0:
        return None
    return detect_anomalies(
        values,
        window=window,
        threshold=threshold,
        season_length=season_length,
        seasonal=seasonal,
        max_seasons=max_seasons,
        small_sample_correction=small_sample_correction,
    )[-1]

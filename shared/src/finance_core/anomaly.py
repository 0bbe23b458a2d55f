"""Anomaly likelihood of each point of a series, judged online against its own past.

One function, `detect_anomalies`, scores a series oldest first; every point gets a **likelihood**
in [0, 1] (1 - the tail probability of its deviation under a robust predictive distribution,
see anomaly_base), so a threshold of 0.999 means "rarer than one point in a thousand" on every
series, whatever its unit, level or noise. Two detectors of one family:

- `DetectorMode.EXACT` (the alert rules' monthly series): robust statistics recomputed over the
  history, a Student-t tail whose degrees of freedom follow the history's size (anomaly_exact).
- `DetectorMode.STREAMING` (daily revenue, transaction counts, 5-minute metrics): bounded
  memory and constant work per point, calibrated on the series' own record (anomaly_stream;
  `StreamingDetector` scores one point at a time). Its likelihood is per season (a point rarer
  than one season in 1 / (1 - likelihood) of the record) and a point is news only if it is
  rarer than every point of the season before it, so its threshold (0.84) reads differently.

Both hold a surprising point out of the baseline until the next points tell an outlier (cleaned
away) from a change of level (absorbed: the series is judged against the new level from then
on, so a step is one anomaly, not a train of them), floor the scale at half the series'
resolution and 0.1 % of its level (a flat or zero history never makes a change infinitely
unusual), and judge seasonality on the series' own season (`season_length_for_interval`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum

from finance_core.anomaly_base import (
    DEFAULT_THRESHOLD,
    AnomalyMethod,
    AnomalyPoint,
    EpisodeState,
    check_threshold,
    check_values,
)
from finance_core.anomaly_exact import (
    DEFAULT_MAX_SEASONS,
    DEFAULT_SEASON_LENGTH,
    DEFAULT_WINDOW,
    MIN_HISTORY,
    exact_scores,
)
from finance_core.anomaly_stream import STREAMING_THRESHOLD, StreamingDetector

__all__ = [
    "DEFAULT_MAX_SEASONS",
    "DEFAULT_SEASON_LENGTH",
    "DEFAULT_THRESHOLD",
    "DEFAULT_WINDOW",
    "MIN_HISTORY",
    "STREAMING_THRESHOLD",
    "AnomalyMethod",
    "AnomalyPoint",
    "DetectorMode",
    "EpisodeState",
    "StreamingDetector",
    "detect_anomalies",
    "score_latest",
    "season_length_for_interval",
]

Number = int | float | Decimal

_DAY = 86_400.0


class DetectorMode(StrEnum):
    """Which detector of the family scores the series."""

    EXACT = "exact"
    """Short series (monthly accounts): exact robust statistics over the history."""
    STREAMING = "streaming"
    """Long or high-frequency series: bounded memory, constant work per point."""


def season_length_for_interval(seconds: float) -> int | None:
    """The season, in points, of a series sampled every `seconds`, from the calendar.

    Intraday data: a day (288 five-minute points, 24 hours); daily data: a week (7); weekly
    data: a year (52); monthly: a year (12); quarterly: a year (4). None beyond that. Whether the
    series actually follows its season is for the detectors to find out from the data.
    """
    if not seconds > 0:
        raise ValueError(f"the sampling interval must be a positive number of seconds, got {seconds!r}")
    days = seconds / _DAY
    if days < 1.0:
        points = round(1.0 / days)
        return points if points >= 2 else None
    for longest, season in ((3.0, 7), (14.0, 52), (45.0, 12), (140.0, 4)):
        if days <= longest:
            return season
    return None


def detect_anomalies(
    values: Sequence[Number],
    *,
    threshold: float | None = None,
    mode: DetectorMode = DetectorMode.EXACT,
    season_length: int | None = DEFAULT_SEASON_LENGTH,
    window: int = DEFAULT_WINDOW,
    max_seasons: int = DEFAULT_MAX_SEASONS,
) -> list[AnomalyPoint]:
    """Verdicts on every point of a series (oldest first), each from the points before it only.

    A point is an anomaly when its likelihood reaches `threshold` and no pending change explains
    it; the default is DEFAULT_THRESHOLD (0.999 per point) in the exact mode and
    STREAMING_THRESHOLD (0.84 per season) in the streaming mode. `season_length` is the season
    in points (12 for monthly data; None for none). The exact mode judges a point once it has
    min(window, 6) earlier points, against the median of the last `window` points or, with two
    seasons of history, the same phase of the last `max_seasons` seasons. The streaming mode
    ignores `window` and `max_seasons`. No look-ahead: appending points never changes the
    verdicts on earlier ones.
    """
    streaming = DetectorMode(mode) is DetectorMode.STREAMING
    if threshold is None:
        threshold = STREAMING_THRESHOLD if streaming else DEFAULT_THRESHOLD
    check_threshold(threshold)
    if window < 2:
        raise ValueError(f"window must be >= 2, got {window}")
    if season_length is not None and season_length < 2:
        raise ValueError(f"season_length must be >= 2 or None, got {season_length}")
    if max_seasons < 1:
        raise ValueError(f"max_seasons must be >= 1, got {max_seasons}")
    floats = [float(v) for v in values]
    check_values(floats)
    if streaming:
        detector = StreamingDetector(season_length, threshold=threshold)
        return [detector.update(value) for value in floats]
    return exact_scores(
        floats, threshold=threshold, window=window, season_length=season_length, max_seasons=max_seasons
    )


def score_latest(
    values: Sequence[Number],
    *,
    threshold: float | None = None,
    mode: DetectorMode = DetectorMode.EXACT,
    season_length: int | None = DEFAULT_SEASON_LENGTH,
    window: int = DEFAULT_WINDOW,
    max_seasons: int = DEFAULT_MAX_SEASONS,
) -> AnomalyPoint | None:
    """Verdict on the newest point (the live case); None for an empty series.

    The history is cleaned and re-levelled exactly as in detect_anomalies, so the live verdict
    always equals the last point of a full run over the same series.
    """
    if len(values) == 0:
        return None
    return detect_anomalies(
        values, threshold=threshold, mode=mode, season_length=season_length, window=window, max_seasons=max_seasons
    )[-1]

"""The streaming detector for long, high-frequency series: bounded memory, constant work per point.

Daily revenue, transaction counts, 5-minute metrics: too long to recompute medians over the
history at every point. The detector keeps a small bank of exponentially smoothed predictors
and, for each, a histogram of how surprising the series has been to it:

1. **Prediction.** Robust smoothed levels with time constants of 4, 16 and 64 points, each with
   and without a seasonal profile (one value per phase of the season), and for intraday data a
   weekly profile (seven seasons: weekdays and weekends differ in demand, traffic, load).
   Whichever has predicted the series best over the last season (smallest mean absolute error)
   predicts the next point: a series without a season keeps a plain level, a series with one
   picks the profile up once it has seen a season (detected, not assumed).
2. **Model tail.** The deviation from the prediction over the predictor's mean absolute error
   gives a Student-t tail probability (4 degrees of freedom: real residuals have heavy tails).
3. **Calibration.** That probability is mapped to the series' own record: the share of the last
   ten seasons' points that were at least as surprising to the same predictor, with the model
   standing in for 100 points of prior history. Frequent spikes thus stop counting as rare, and
   the likelihood means "this point is rarer than all but 1 - likelihood of this series' points".
4. **Regime.** A deviation too gentle for one point but sustained (a slow drift, a level change
   smaller than the noise) is read from the exponentially weighted mean (16 points) of the
   slowest predictor's standardised residuals, calibrated the same way; the point's likelihood
   is the larger of the two readings, Bonferroni-corrected for reading twice.
5. **Changes.** A ChangeTracker holds surprising points out of the predictors; three points that
   agree with a new level move every predictor to it (one anomaly, then absorbed). A run none of
   whose points was an anomaly is not judged as a whole here (its residuals are correlated); the
   regime reading covers such departures.
6. **Per season.** The likelihood is read per season, not per point: 1 - the chance that a season
   of the series' own record holds a point this rare (the point's probability times the season's
   points). A 5-minute series judges 288 points a day and an hourly one 24: per point, one
   threshold would alarm twelve times as often on the first; per season, both alarm as often
   per day. Without a season, 100 points stand for one.
7. **Episodes.** A point is news only if it is rarer than every point of the season before it;
   otherwise its likelihood is 0 and, if it would have been an anomaly, its state is
   CONTINUATION: an incident, a new regime that takes a while to learn, or a burst of spikes
   raises one anomaly, not one per point.

State: 3 seasonal profiles and a weekly one, 8 histograms of 61 bins and at most one season of
episode record, whatever the length of the series.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque

from finance_core.anomaly_base import (
    ANOMALOUS_STATES,
    RELATIVE_SCALE_FLOOR,
    Action,
    AnomalyMethod,
    AnomalyPoint,
    ChangeTracker,
    EpisodeState,
    Resolution,
    bounded_deviation,
    check_threshold,
    check_values,
    deviation_at,
    likelihood_of,
    log_tail_probability,
)

# Default threshold of the per-season likelihood: a point rarer than one season in about six of the
# series' own record. Chosen by leave-one-category-out cross-validation on a labelled benchmark
# (docs/alerts.md): fitted on four kinds of series, the best threshold for the fifth was this one
# in three folds of five, 0.85-0.87 in the other two. On independent, light-tailed points without
# anomalies it alarms at most about once in six seasons (a week of 5-minute data); heavy tails and
# recurring spikes make it up to one in three, and the episode rule keeps it near one a season
# whatever the series.
STREAMING_THRESHOLD = 0.84
# Time constants of the smoothed levels, in points: from "the last few points" to "the last few
# dozen", a geometric ladder the prequential choice picks from (real series mostly favour the
# fastest; smooth or seasonal ones a slower one).
LEVEL_SPANS = (4, 16, 64)
# Intraday series (a season of at least this many points: hourly data or finer) also get a weekly
# profile, seven seasons long, on the middle level span.
WEEKLY_FROM = 24
DAYS_PER_WEEK = 7
WEEKLY_SPAN = 16
# The long memory, in seasons: the seasonal profile averages about this many seasons and the
# calibration forgets points older than this. Ten days of a daily cycle, ten years of months.
MEMORY_SEASONS = 10
# Without a season, the long memory is this many points and the short one a tenth of it.
HORIZON_WITHOUT_SEASON = 1000
# Degrees of freedom of the model tail before calibration: heavy enough that one odd point is
# not a 1e-12 event while the series' own record is still short.
TAIL_FREEDOM = 4.0
# Weight of the model's own tail in the calibration, in points of history.
PRIOR_POINTS = 100.0
# Points that must agree with a new level before the predictors move to it.
CONFIRM = 3
# Points seen before any verdict.
WARM_UP = 10
# Span of the regime reading: the geometric mean of the fastest and slowest level spans, between
# the fast level that absorbs a shift in a few points and the slow one that takes dozens.
REGIME_SPAN = 16
# Calibration histogram: bins of half a decade of tail probability, down to 1e-30.
_BIN = math.log(10.0) / 2.0
_BINS = 60
# normal consistency of a mean absolute error (sqrt(pi / 2))
_MEAN_AD = 1.2533141373155
_LOG2 = math.log(2.0)


# The deviations at the bin edges: a predictor that is not chosen is counted by bisecting its
# deviation among them rather than by computing its tail (same bin, a fraction of the work).
_EDGES = [deviation_at(-_BIN * edge, TAIL_FREEDOM) for edge in range(1, _BINS + 1)]


class Calibration:
    """Exponentially forgetting histogram of a predictor's log tail probabilities (61 bins).

    Forgetting is lazy: each new point weighs 1 / (1 - 1/memory) times the previous one and the
    weights are renormalised when they grow large, so observing is O(1).
    """

    __slots__ = ("bins", "weight", "growth", "total")

    def __init__(self, memory: float):
        self.bins = [0.0] * (_BINS + 1)
        self.weight = 1.0
        self.growth = 1.0 / (1.0 - 1.0 / memory)
        self.total = 0.0

    def observe(self, log_p: float) -> None:
        """Count one point whose model log tail probability was `log_p`."""
        self.observe_bin(int(-log_p / _BIN))

    def observe_bin(self, slot: int) -> None:
        """Count one point in bin `slot` (0: tail probability above 10^-0.5, then half decades)."""
        self.weight *= self.growth
        self.bins[slot if slot < _BINS else _BINS] += self.weight
        self.total += self.weight
        if self.weight > 1e200:
            scale = 1.0 / self.weight
            self.bins = [count * scale for count in self.bins]
            self.total *= scale
            self.weight = 1.0

    def calibrate(self, log_p: float) -> float:
        """The log share of the remembered points (with the prior) at least as surprising as `log_p`.

        Between bin edges the log share is interpolated; past the last edge (1e-30) the share
        stays that of the last bin plus the prior's: a predictor whose errors often exceed every
        edge (a scale collapsed on a mostly-constant series) does not make its extremes rarer.
        """
        if log_p >= 0.0:
            return 0.0
        weight, bins = self.weight, self.bins
        total = self.total / weight + PRIOR_POINTS
        edge = int(-log_p / _BIN)
        if edge >= _BINS:
            beyond = bins[_BINS] / weight
            if beyond > 0.0:
                return math.log((beyond + PRIOR_POINTS * math.exp(log_p)) / total)
            return math.log(PRIOR_POINTS / total) + log_p  # exp(log_p) may underflow: stay in logs
        beyond = sum(bins[edge + 1 :]) / weight
        at_edge = beyond + bins[edge] / weight if edge else self.total / weight
        upper = math.log((at_edge + PRIOR_POINTS * math.exp(-_BIN * edge)) / total)
        lower = math.log((beyond + PRIOR_POINTS * math.exp(-_BIN * (edge + 1))) / total)
        return upper + (-log_p / _BIN - edge) * (lower - upper)


class _Predictor:
    """A robust exponentially smoothed level, optionally plus a seasonal profile."""

    __slots__ = (
        "rate",
        "season",
        "ready_at",
        "level",
        "profile",
        "visits",
        "seen",
        "error",
        "predictions",
        "calibration",
        "held",
    )

    def __init__(self, span: int, season: int | None, memory: float):
        self.rate = 1.0 / span
        self.season = season
        self.ready_at = season or 0
        """Points seen before it predicts: a seasonal profile needs one whole season."""
        self.level = 0.0
        self.profile = [0.0] * season if season else []
        self.visits = [0] * season if season else []
        self.seen = 0
        self.error = 0.0
        """Mean absolute error over the short memory (points learnt only)."""
        self.predictions = 0
        self.calibration = Calibration(memory)
        self.held = 0.0
        """Sum of this predictor's residuals over the points held by the change tracker."""

    def learn(self, value: float, step: float, index: int) -> None:
        """Move towards `value` (point `index`); `step` is the residual clipped to three scales (Huber)."""
        self.seen += 1
        rate = max(self.rate, 1.0 / self.seen)
        if not self.season:
            self.level += rate * step
            return
        phase = index % self.season
        visits = self.visits[phase]
        if visits == 0:
            # The first season lays the profile down as each phase's offset from the level.
            self.profile[phase] = value - self.level
            self.visits[phase] = 1
            return
        self.visits[phase] = visits + 1
        self.level += rate * step
        self.profile[phase] += max(1.0 / MEMORY_SEASONS, 1.0 / (visits + 1)) * (1.0 - rate) * step


class StreamingDetector:
    """Scores a long series one point at a time (`update`), each against its past only.

    `season_length` is the season in points (season_length_for_interval gives it from the
    sampling interval: 288 for 5-minute data, 24 hourly, 7 daily, 12 monthly), or None.
    `threshold` is the per-season likelihood above which a point is an anomaly.
    """

    def __init__(self, season_length: int | None = None, *, threshold: float = STREAMING_THRESHOLD):
        check_threshold(threshold)
        if season_length is not None and season_length < 2:
            raise ValueError(f"season_length must be >= 2 points or None, got {season_length}")
        self.season_length = season_length
        self.threshold = threshold
        horizon = season_length or HORIZON_WITHOUT_SEASON // MEMORY_SEASONS
        memory = MEMORY_SEASONS * horizon
        self._horizon = horizon
        self._log_horizon = math.log(horizon)
        self._episode: deque[tuple[int, float]] = deque()
        """(index, log probability) of the last season's points, each rarer than every later one."""
        self._short = horizon
        spans: list[tuple[int, int | None]] = [(span, None) for span in LEVEL_SPANS]
        if season_length:
            spans += [(span, season_length) for span in LEVEL_SPANS]
            if season_length >= WEEKLY_FROM:
                spans.append((WEEKLY_SPAN, DAYS_PER_WEEK * season_length))
        self._predictors = [_Predictor(span, season, memory) for span, season in spans]
        # The tracker judges single points: the per-season threshold spread over a season's points.
        point_threshold = -math.expm1(math.log1p(-threshold) - self._log_horizon)
        self._tracker = ChangeTracker(point_threshold, CONFIRM, judge_changes=False)
        self._resolution = Resolution()
        self._regime = 0.0
        self._regime_rate = 1.0 / REGIME_SPAN
        self._regime_norm = math.sqrt(self._regime_rate / (2.0 - self._regime_rate))
        self._regime_calibration = Calibration(memory)
        # The regime reads the slowest level of the chosen kind (plain, seasonal or weekly).
        self._slowest: dict[int | None, int] = {}
        for i, predictor in enumerate(self._predictors):
            slowest = self._slowest.get(predictor.season)
            if slowest is None or predictor.rate < self._predictors[slowest].rate:
                self._slowest[predictor.season] = i
        self._chosen = 0
        self._count = 0

    def update(self, value: float) -> AnomalyPoint:
        """The verdict on the next point (then learn from it)."""
        value = float(value)
        check_values([value])
        index = self._count
        self._count += 1
        predictors = self._predictors
        resolution = self._resolution
        if index == 0:
            resolution.see(value)
            for predictor in predictors:
                predictor.level = value
                predictor.seen = 1
                if predictor.season:
                    predictor.visits[0] = 1
            return AnomalyPoint(index, value, None, None, None, False, AnomalyMethod.ROBUST)
        predictions = [
            (p.level + p.profile[index % p.season] if p.season else p.level) if p.seen >= p.ready_at else None
            for p in predictors
        ]
        chosen = predictors[self._chosen]
        expected = predictions[self._chosen]
        # The chosen predictor always predicts: it is the plain level (ready from the first point) or
        # one that _choose picked because it predicted, and a predictor stays ready once it is.
        assert expected is not None
        half_step = 0.0 if math.isinf(resolution.step) else 0.5 * resolution.step
        scale = max(_MEAN_AD * chosen.error, half_step, RELATIVE_SCALE_FLOOR * abs(expected), 1e-12)
        freedom = min(TAIL_FREEDOM, max(1.0, index - 1.0))
        deviation = value - expected
        judged = index > WARM_UP
        verdict = self._tracker.judge(deviation, scale, freedom, chosen.calibration.calibrate) if judged else None
        action = verdict.action if verdict else Action.LEARN
        resolution.see(value)
        short = self._short
        edges = _EDGES if freedom == TAIL_FREEDOM else None
        for predictor, prediction in zip(predictors, predictions, strict=True):
            if prediction is None:
                predictor.learn(value, 0.0, index)  # still laying its first season down
                continue
            residual = value - prediction
            own_scale = max(_MEAN_AD * predictor.error, half_step, RELATIVE_SCALE_FLOOR * abs(prediction), 1e-12)
            predictor.predictions += 1
            if predictor.predictions > WARM_UP:
                if predictor is chosen and verdict is not None:
                    # The chosen predictor learns the model tail of the reading reported: a
                    # point continuing a pending change is not a fresh surprise.
                    predictor.calibration.observe(verdict.model_log_probability)
                elif edges is not None:
                    predictor.calibration.observe_bin(bisect_right(edges, abs(residual) / own_scale))
                else:
                    predictor.calibration.observe(log_tail_probability(residual / own_scale, freedom))
            if action is Action.HOLD:
                predictor.held += residual
                continue
            if action is Action.RESTART:
                predictor.held = residual
                continue
            if action is Action.SHIFT:
                assert verdict is not None  # only a verdict shifts
                predictor.level += (predictor.held + residual) / (len(verdict.pending) + 1)
                predictor.held = 0.0
                continue
            predictor.held = 0.0
            bound = 3.0 * own_scale
            predictor.learn(value, bound if residual > bound else (-bound if residual < -bound else residual), index)
            predictor.error += (abs(residual) - predictor.error) / (
                predictor.predictions if predictor.predictions < short else short
            )
        log_p = verdict.log_probability if verdict else 0.0
        state = verdict.state if verdict else EpisodeState.NORMAL
        if action is Action.SHIFT:
            self._regime = 0.0  # the predictors moved to the new level: what the regime held is explained
        elif judged and action in (Action.LEARN, Action.DROP_PENDING):
            # Held points are the change tracker's; the regime reads the points judged normal.
            slow = self._slowest[chosen.season]
            slow_prediction = predictions[slow]
            # The slowest level of the chosen kind is ready whenever the chosen one is (same season).
            assert slow_prediction is not None
            regime_log_p = self._read_regime(value, slow_prediction, predictors[slow], half_step)
            if regime_log_p < log_p and regime_log_p < self._tracker.log_alert:
                state = EpisodeState.SURPRISE
            log_p = min(0.0, min(log_p, regime_log_p) + _LOG2)
        self._choose(predictions)
        if judged:
            if self._is_news(index, log_p):
                log_p = min(0.0, log_p + self._log_horizon)
            else:
                log_p = 0.0
                if state in ANOMALOUS_STATES:
                    state = EpisodeState.CONTINUATION
        likelihood = likelihood_of(log_p) if judged else None
        method = AnomalyMethod.SEASONAL if chosen.season else AnomalyMethod.ROBUST
        return AnomalyPoint(
            index,
            value,
            expected,
            likelihood,
            bounded_deviation(value, expected, scale),
            likelihood is not None and likelihood >= self.threshold and state in ANOMALOUS_STATES,
            method,
            state,
        )

    def _is_news(self, index: int, log_p: float) -> bool:
        """Whether the point is rarer than every point of the season before it (then remember it).

        The record holds the last season's points that are rarer than every point after them, the
        rarest first: the front is the season's rarest, and each point is pushed and popped once.
        """
        record = self._episode
        while record and record[0][0] <= index - self._horizon:
            record.popleft()
        news = not record or log_p < record[0][1]
        while record and record[-1][1] >= log_p:
            record.pop()
        record.append((index, log_p))
        return news

    def _read_regime(self, value: float, prediction: float, slow: _Predictor, half_step: float) -> float:
        """Calibrated log tail of the regime reading; a sustained departure moves the slow predictor."""
        scale = max(_MEAN_AD * slow.error, half_step, RELATIVE_SCALE_FLOOR * abs(prediction), 1e-12)
        standardised = max(-50.0, min(50.0, (value - prediction) / scale))
        self._regime += self._regime_rate * (standardised - self._regime)
        model = log_tail_probability(self._regime / self._regime_norm, TAIL_FREEDOM)
        calibrated = self._regime_calibration.calibrate(model)
        self._regime_calibration.observe(model)
        if calibrated < self._tracker.log_alert:
            slow.level += self._regime * scale  # the regime is a change: the slow level takes it
            self._regime = 0.0
        return calibrated

    def _choose(self, predictions: list[float | None]) -> None:
        best, best_error = 0, math.inf
        for i, predictor in enumerate(self._predictors):
            if predictions[i] is not None and predictor.predictions >= self._short and predictor.error < best_error:
                best, best_error = i, predictor.error
        self._chosen = best

"""What both anomaly detectors share: the verdict type, tail probabilities, the scale floor, change episodes.

The detectors (anomaly_exact for short monthly series, anomaly_stream for long high-frequency
ones) differ in how they predict the next point; they agree on what a verdict means. A point's
**likelihood** is 1 - P(a point at least this far from the prediction), the tail probability of
a Student-t predictive distribution: 0.999 means "one point in a thousand is this unusual",
whatever the series' unit, level or spread, so one threshold means the same on every account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

# Likelihood at or above which a point is an anomaly: a one-in-a-thousand point. A monthly
# account judged for three years has 36 chances; a hundred accounts then raise about one false
# alert a year on pure noise.
DEFAULT_THRESHOLD = 0.999
# A point rarer than one in a hundred is held out of the baseline until the next points tell an
# outlier from a change (ChangeTracker). Holding costs little (one normal point in a hundred
# waits one point), and a change too small to be an anomaly at its first point is then absorbed
# instead of dragging the baseline slowly (which made months of near-threshold alerts).
HOLD_LEVEL = 0.01

# |deviation| is capped here: a value of 1e300 against a scale of 1e-12 must give a (tiny) finite
# tail probability, not an overflow. 1e100 squared is still a float.
MAX_DEVIATION = 1e100
# Values beyond this magnitude are rejected: differences of two of them stay finite.
MAX_VALUE = 1e300

# The scale of a series never falls below this fraction of its level: a rent booked at exactly
# 100,000.00 for a year that moves by 0.50 is not an anomaly, one that moves by 10 % is.
RELATIVE_SCALE_FLOOR = 1e-3


class AnomalyMethod(StrEnum):
    """Which baseline predicted the point."""

    ROBUST = "robust"
    """The series' recent level (median of the last points, or a robust smoothed level)."""
    SEASONAL = "seasonal"
    """The same phase of other seasons (December against Decembers), moved to the current level."""
    SPARSE = "sparse"
    """An account that is 0 in most periods: a posting against the size of its earlier postings."""


class EpisodeState(StrEnum):
    """Where the point stands in a change episode (ChangeTracker)."""

    NORMAL = "normal"
    """Explained by the baseline."""
    HELD = "held"
    """Unusual enough (rarer than 1 in 100) to be kept out of the baseline until the next point, not an anomaly."""
    SURPRISE = "surprise"
    """An anomaly: rarer than the threshold under the baseline, and no pending change explains it."""
    CONTINUATION = "continuation"
    """Unusual under the old baseline but in line with a pending change (not an anomaly again)."""
    ABSORBED = "absorbed"
    """In line with a pending change, which is now confirmed: the baseline moved to the new level."""
    CHANGE = "change"
    """An anomaly: confirms a change of level too large for chance, none of whose points was an anomaly."""


ANOMALOUS_STATES = frozenset({EpisodeState.SURPRISE, EpisodeState.CHANGE})


@dataclass(frozen=True)
class AnomalyPoint:
    """The verdict on one point of a series, from the points before it only."""

    index: int
    value: float
    expected: float | None
    """The baseline's prediction; None when there was not enough history to judge the point."""
    likelihood: float | None
    """1 - tail probability of the deviation, in [0, 1]; None when not judged."""
    deviation: float | None
    """(value - expected) / scale: signed and finite, how many typical deviations away."""
    is_anomaly: bool
    """likelihood >= the threshold the series was judged with."""
    method: AnomalyMethod
    state: EpisodeState = EpisodeState.NORMAL


def check_values(values: list[float]) -> None:
    """ValueError naming the first value a detector cannot judge (NaN, infinite, beyond 1e300)."""
    for index, value in enumerate(values):
        if not math.isfinite(value) or abs(value) > MAX_VALUE:
            raise ValueError(f"value {index} is {value!r}: anomaly detection needs finite numbers up to 1e300")


def check_threshold(threshold: float) -> None:
    """ValueError unless 0 < threshold < 1."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold is a likelihood strictly between 0 and 1, got {threshold!r}")


_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_PI = 0.5 * math.log(math.pi)


def log_tail_probability(deviation: float, freedom: float) -> float:
    """log P(|T| >= |deviation|) for a Student-t with `freedom` degrees of freedom (two-sided), <= 0.

    Bailey's normalising transformation maps t to a normal deviate (within about 1 % of the exact
    tail here); the normal tail comes from erfc, or from its asymptotic series where erfc
    underflows, so the logarithm stays exact to far beyond 1e-300.
    """
    size = min(abs(deviation), MAX_DEVIATION)
    if size == 0.0:
        return 0.0
    normal = (8 * freedom + 1) / (8 * freedom + 3) * math.sqrt(freedom * math.log1p(size * size / freedom))
    half = normal / _SQRT2
    if half < 20.0:
        return math.log(math.erfc(half))
    # erfc(x) = exp(-x^2) / (x sqrt(pi)) * (1 - 1/(2x^2) + ...)
    return -half * half - math.log(half) - _LOG_SQRT_PI + math.log1p(-0.5 / (half * half))


def deviation_at(log_probability: float, freedom: float) -> float:
    """The |deviation| whose two-sided t tail has `log_probability` (inverse of log_tail_probability, by bisection)."""
    low, high = 0.0, 1.0
    while log_tail_probability(high, freedom) > log_probability:
        high *= 2.0
    for _ in range(100):
        middle = 0.5 * (low + high)
        if log_tail_probability(middle, freedom) > log_probability:
            low = middle
        else:
            high = middle
    return high


def likelihood_of(log_probability: float) -> float:
    """1 - exp(log p), computed without cancellation; in [0, 1]."""
    return min(1.0, max(0.0, -math.expm1(min(log_probability, 0.0))))


def bounded_deviation(value: float, expected: float, scale: float) -> float:
    """(value - expected) / scale, capped at +/-MAX_DEVIATION."""
    deviation = (value - expected) / scale
    return max(-MAX_DEVIATION, min(MAX_DEVIATION, deviation))


class Resolution:
    """The smallest step between distinct consecutive values seen so far (1 for counts, 1 cent for money)."""

    __slots__ = ("step", "_previous")

    def __init__(self) -> None:
        self.step = math.inf
        self._previous: float | None = None

    def see(self, value: float) -> None:
        """Take the next value into account."""
        if self._previous is not None and value != self._previous:
            self.step = min(self.step, abs(value - self._previous))
        self._previous = value

    def floor(self, level: float) -> float:
        """The smallest scale a prediction at `level` may have: half a resolution step, 0.1 % of the level.

        A series that sat perfectly flat has no spread of its own; without a floor any change would
        be infinitely unusual. Half a step is the rounding error of a value quantised to the step;
        the relative floor keeps a series without decimals of precision (a flat rent) sensible.
        """
        step = 0.0 if math.isinf(self.step) else self.step
        return max(0.5 * step, RELATIVE_SCALE_FLOOR * abs(level), 1e-12)


class Action(StrEnum):
    """What the detector does to its baseline after a ChangeTracker verdict."""

    LEARN = "learn"
    """The point is normal: update the baseline with it."""
    HOLD = "hold"
    """Keep the point out of the baseline (it may be an outlier or the start of a change)."""
    DROP_PENDING = "drop_pending"
    """The held points were a transient: forget them (replace the anomalous ones), then learn this point."""
    RESTART = "restart"
    """The held points were outliers (forget them); hold this point as the start of a new run."""
    SHIFT = "shift"
    """The held points and this one are a new level: move the baseline by `ChangeVerdict.shift`."""


@dataclass(frozen=True)
class ChangeVerdict:
    """The ChangeTracker's reading of one point."""

    state: EpisodeState
    action: Action
    log_probability: float
    """log tail probability reported for the point (old baseline, pending change, or the confirmed change)."""
    model_log_probability: float
    """The point's own reading before calibration (equal to it when the detector does not calibrate)."""
    shift: float = 0.0
    """For SHIFT: how far the baseline moves."""
    pending: tuple[bool, ...] = ()
    """For DROP_PENDING, RESTART and SHIFT: whether each held point (oldest first) was an anomaly."""


class ChangeTracker:
    """Tells an outlier from a change of level, so a step raises one anomaly and is then absorbed.

    A point rarer than HOLD_LEVEL under the baseline is held out of it (an anomaly if rarer than
    the alert level). The next point is read both ways, against the old baseline and against the
    held points' mean, and follows the better explanation if it is a plausible one: back to
    normal (the held points were an outlier) or in line with a new level (not an anomaly
    again). A change is confirmed once `confirm` points in a row agree with it;
    the baseline then moves to the new level, and if none of the run was an anomaly the change
    itself is judged: the run's mean deviation against its standard error. A surprising point
    that does not follow the held ones ends their run as outliers and starts its own. After
    `2 * confirm` surprising points that never settle the old baseline is obsolete: it moves to
    the median of that stretch.
    """

    __slots__ = ("log_hold", "log_alert", "confirm", "judge_changes", "pending", "fired", "stretch")

    def __init__(self, threshold: float, confirm: int, *, judge_changes: bool = True):
        if confirm < 2:
            raise ValueError(f"confirm must be >= 2 (the surprising point and one that agrees), got {confirm}")
        self.log_alert = math.log1p(-threshold)
        self.log_hold = max(math.log(HOLD_LEVEL), self.log_alert)
        self.confirm = confirm
        self.judge_changes = judge_changes
        """Whether a confirmed run that had no anomaly is judged as a whole (CHANGE): its mean over
        sqrt(run) assumes independent residuals, true of monthly data, not of smoothed 5-minute
        residuals (the streaming detector reads sustained departures with its regime instead)."""
        self.pending: list[float] = []
        """Deviations of the held run, oldest first."""
        self.fired: list[bool] = []
        """Whether each held point was an anomaly."""
        self.stretch: list[float] = []
        """Deviations of the current run of points held under the old baseline."""

    def judge(self, deviation: float, scale: float, freedom: float, calibrate=None) -> ChangeVerdict:
        """Read one point that is `deviation` (value minus the old baseline) from its prediction.

        `calibrate` maps a model log tail probability to the series' own (streaming detector).
        """

        def read(offset: float, inflation: float, calibrated: bool = True) -> tuple[float, float]:
            model = log_tail_probability(offset / (scale * inflation), freedom)
            return (calibrate(model) if calibrate is not None and calibrated else model), model

        old, old_model = read(deviation, 1.0)
        pending, fired = self.pending, tuple(self.fired)
        if not pending:
            if old >= self.log_hold:
                return ChangeVerdict(EpisodeState.NORMAL, Action.LEARN, old, old_model)
            alone = EpisodeState.SURPRISE if old < self.log_alert else EpisodeState.HELD
            self.pending, self.fired, self.stretch = [deviation], [alone is EpisodeState.SURPRISE], [deviation]
            return ChangeVerdict(alone, Action.HOLD, old, old_model)
        mean = sum(pending) / len(pending)
        # The new level is known from len(pending) points: its own error widens the reading. The
        # calibration says how often the old baseline is surprised; whether a point sits on a
        # new level is a question for the model alone.
        new, new_model = read(deviation - mean, math.sqrt(1.0 + 1.0 / len(pending)), calibrated=False)
        run = len(pending) + 1
        # The run with this point against the old baseline: its mean deviation over its standard error.
        joint, _ = read((sum(pending) + deviation) / math.sqrt(run), 1.0)
        if old >= self.log_hold and (old >= new or joint >= self.log_alert):
            # Back to normal: the old baseline explains the point, and better than the change or
            # the run as a whole is not beyond chance.
            self.pending, self.fired, self.stretch = [], [], []
            return ChangeVerdict(EpisodeState.NORMAL, Action.DROP_PENDING, old, old_model, pending=fired)
        self.stretch.append(deviation)
        alone = EpisodeState.SURPRISE if old < self.log_alert else EpisodeState.HELD
        if new >= self.log_hold:
            pending.append(deviation)
            self.fired.append(False)
            if len(pending) < self.confirm:
                return ChangeVerdict(EpisodeState.CONTINUATION, Action.HOLD, new, new_model)
            self.pending, self.fired, self.stretch = [], [], []
            shift = sum(pending) / len(pending)
            if self.judge_changes and not any(fired) and joint < self.log_alert:
                # None of the run was an anomaly, but the change as a whole is beyond chance.
                return ChangeVerdict(EpisodeState.CHANGE, Action.SHIFT, joint, new_model, shift, fired)
            return ChangeVerdict(EpisodeState.ABSORBED, Action.SHIFT, new, new_model, shift, fired)
        if len(self.stretch) >= 2 * self.confirm:
            ordered = sorted(self.stretch)
            middle = len(ordered) // 2
            median = ordered[middle] if len(ordered) % 2 else 0.5 * (ordered[middle - 1] + ordered[middle])
            self.pending, self.fired, self.stretch = [], [], []
            return ChangeVerdict(alone, Action.SHIFT, old, old_model, median, fired)
        # Unusual both ways: the held points were outliers; this one starts a run of its own.
        self.pending, self.fired = [deviation], [alone is EpisodeState.SURPRISE]
        return ChangeVerdict(alone, Action.RESTART, old, old_model, pending=fired)

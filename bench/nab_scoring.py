"""The Numenta Anomaly Benchmark's scoring method (NAB 1.x sweeper), for bench_nab.py.

A detector emits one score in [0, 1] per row, seeing only earlier rows. One threshold for the
whole corpus turns scores into detections; it is chosen per profile to maximise the total
score. Per file:

- the first 15 % of the rows (at most 750) are a probation period: never scored;
- the first detection inside a labelled window scores tp_weight * S(p) / S(-1), p being its
  relative position (-1 at the window's left edge, about 0 at its right edge), with
  S(p) = 2 / (1 + exp(5 p)) - 1; later detections in the same window add nothing; a window
  without detection costs -fn_weight;
- a detection outside every window costs fp_weight * S(p), p its distance past the preceding
  window's right edge in window widths (S = -1 from 3 widths on, or with no window before).

normalised = 100 * (raw - null) / (perfect - null), where null never detects (-fn_weight per
scored window) and perfect detects every window at its left edge (tp_weight per window).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PROBATION_FRACTION = 0.15
PROBATION_CAP_ROWS = 5000  # NAB: min(floor(0.15 n), 0.15 * 5000) = at most 750 rows


@dataclass(frozen=True)
class Profile:
    """NAB's application profile: weights of true positives, false positives and false negatives."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


PROFILES = (
    Profile("standard", 1.0, 0.11, 1.0),
    Profile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    Profile("reward_low_FN_rate", 1.0, 0.11, 2.0),
)

# Marks of a row in `RowWeights.window`.
OUTSIDE = -1
PROBATION = -2


def scaled_sigmoid(position: float) -> float:
    """S(p) = 2 / (1 + exp(5 p)) - 1, and -1 from 3 window widths past a window on."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_length(rows: int) -> float:
    """Rows at the start of a file that are never scored."""
    return min(math.floor(PROBATION_FRACTION * rows), PROBATION_FRACTION * PROBATION_CAP_ROWS)


@dataclass(frozen=True)
class RowWeights:
    """What a detection on each row of one file would score, and which window the row is in."""

    weight: np.ndarray
    window: np.ndarray
    """Window number in the file (0, 1, ...), OUTSIDE, or PROBATION."""


def row_weights(rows: int, windows: Sequence[tuple[int, int]], profile: Profile) -> RowWeights:
    """Per-row detection weights of one file; `windows` are (first row, last row), in order, not overlapping."""
    weight = np.empty(rows)
    window = np.full(rows, OUTSIDE, dtype=np.int64)
    max_tp = scaled_sigmoid(-1.0)
    pending = list(windows)
    current: tuple[int, int, float] | None = None
    previous_right: int | None = None
    previous_width = 0.0
    number = -1
    for i in range(rows):
        if pending and i == pending[0][0]:
            left, right = pending.pop(0)
            number += 1
            current = (left, right, float(right - left + 1))
        if current is not None:
            position = -(current[1] - i + 1) / current[2]
            weight[i] = scaled_sigmoid(position) * profile.tp_weight / max_tp
            window[i] = number
        else:
            position = 3.0 if previous_right is None else abs(previous_right - i) / (previous_width - 1.0)
            weight[i] = scaled_sigmoid(position) * profile.fp_weight
        if current is not None and i == current[1]:
            previous_right, previous_width = i, current[2]
            current = None
    window[: int(math.ceil(probation_length(rows)))] = PROBATION
    return RowWeights(weight, window)


@dataclass(frozen=True)
class CorpusScore:
    """The best corpus-wide threshold of one profile and what it scores."""

    profile: Profile
    threshold: float
    raw: float
    null: float
    perfect: float
    windows: int

    @property
    def normalised(self) -> float:
        return 100.0 * (self.raw - self.null) / (self.perfect - self.null)


def score_corpus(files: Sequence[tuple[np.ndarray, Sequence[tuple[int, int]]]], profile: Profile) -> CorpusScore:
    """Sweep every threshold over all files at once (NAB's optimiser) and keep the best.

    `files` holds (scores per row, windows as row ranges). Detections are rows whose score is
    >= the threshold; thresholds are tried from the highest score down, as NAB does.
    """
    scores, weights, window_ids = [], [], []
    windows_total = 0
    for values, windows in files:
        rows = row_weights(len(values), windows, profile)
        scorable = rows.window != PROBATION
        ids = rows.window[scorable]
        scores.append(np.asarray(values, dtype=float)[scorable])
        weights.append(rows.weight[scorable])
        window_ids.append(np.where(ids >= 0, ids + windows_total, OUTSIDE))
        windows_total += len(windows)
    score = np.concatenate(scores) if scores else np.empty(0)
    weight = np.concatenate(weights) if weights else np.empty(0)
    window_id = np.concatenate(window_ids) if window_ids else np.empty(0, dtype=np.int64)
    scored_windows = sorted({int(w) for w in window_id if w >= 0})
    best_tp = {w: -profile.fn_weight for w in scored_windows}
    window_part = -profile.fn_weight * len(scored_windows)
    false_positives = 0.0
    order = np.argsort(-score, kind="stable")
    threshold = 1.1
    best_raw, best_threshold = window_part, threshold
    for row in order:
        if score[row] != threshold:
            total = window_part + false_positives
            if total > best_raw:
                best_raw, best_threshold = total, threshold
            threshold = float(score[row])
        w = int(window_id[row])
        if w < 0:
            false_positives += float(weight[row])
        elif weight[row] > best_tp[w]:
            window_part += float(weight[row]) - best_tp[w]
            best_tp[w] = float(weight[row])
    total = window_part + false_positives
    if total > best_raw:
        best_raw, best_threshold = total, threshold
    # As NAB normalises: the null detector misses every scored window; the perfect one is
    # credited with every labelled window (the same unless a window lies in a probation period).
    return CorpusScore(
        profile,
        best_threshold,
        best_raw,
        -profile.fn_weight * len(scored_windows),
        profile.tp_weight * windows_total,
        windows_total,
    )


@dataclass(frozen=True)
class FileOutcome:
    """One file at a given threshold: its score, the first detection's weight per window, false positives."""

    score: float
    window_hits: tuple[float | None, ...]
    false_positives: int
    false_positive_cost: float


def file_outcome(
    values: np.ndarray, windows: Sequence[tuple[int, int]], profile: Profile, threshold: float
) -> FileOutcome:
    """How one file scores at `threshold` (for per-file reports)."""
    rows = row_weights(len(values), windows, profile)
    detected = (np.asarray(values) >= threshold) & (rows.window != PROBATION)
    outside = detected & (rows.window == OUTSIDE)
    hits: list[float | None] = []
    total = 0.0
    for number in range(len(windows)):
        rows_in = np.flatnonzero(detected & (rows.window == number))
        in_probation = not np.any(rows.window == number)
        if in_probation:
            hits.append(None)
            continue
        if len(rows_in):
            hits.append(float(rows.weight[rows_in[0]]))
            total += float(rows.weight[rows_in[0]])
        else:
            hits.append(None)
            total -= profile.fn_weight
    cost = float(rows.weight[outside].sum())
    return FileOutcome(total + cost, tuple(hits), int(outside.sum()), cost)


@dataclass(frozen=True)
class HeldOutScore:
    """Leave-one-group-out: each group scored at the threshold that is best on the other groups."""

    profile: Profile
    thresholds: dict[str, float]
    """The threshold each group was scored at (fitted without it)."""
    raw: dict[str, float]
    """Each group's raw score at its threshold."""
    null: float
    perfect: float

    @property
    def normalised(self) -> float:
        """The held-out groups together, normalised as one corpus."""
        return 100.0 * (sum(self.raw.values()) - self.null) / (self.perfect - self.null)


def score_at(
    files: Sequence[tuple[np.ndarray, Sequence[tuple[int, int]]]], profile: Profile, threshold: float
) -> float:
    """Raw score of `files` at a given threshold (detections: scores >= threshold)."""
    return sum(file_outcome(values, windows, profile, threshold).score for values, windows in files)


def leave_one_group_out(
    groups: dict[str, Sequence[tuple[np.ndarray, Sequence[tuple[int, int]]]]], profile: Profile
) -> HeldOutScore:
    """Fit the threshold on every group but one (NAB's sweep), score the one left out; each group in turn.

    This is what a corpus with kinds of series the detector was never tuned on would score, as
    far as the groups (NAB's categories) differ from each other. Null and perfect are those of
    all the groups together, so the figure reads like `score_corpus(...).normalised`.
    """
    thresholds, raw = {}, {}
    null = perfect = 0.0
    for held_out, files in groups.items():
        training = [file for group, members in groups.items() if group != held_out for file in members]
        thresholds[held_out] = score_corpus(training, profile).threshold
        raw[held_out] = score_at(files, profile, thresholds[held_out])
        corpus = score_corpus(files, profile)
        null += corpus.null
        perfect += corpus.perfect
    return HeldOutScore(profile, thresholds, raw, null, perfect)

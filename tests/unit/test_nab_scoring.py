"""The NAB harness: NAB's scoring rules on hand-computed cases, and a run on a small NAB-layout folder."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from bench.nab_scoring import (
    PROFILES,
    file_outcome,
    leave_one_group_out,
    probation_length,
    row_weights,
    scaled_sigmoid,
    score_corpus,
)

ROOT = Path(__file__).resolve().parents[2]
STANDARD, LOW_FP, LOW_FN = PROFILES


def test_the_scaled_sigmoid_and_the_probation_period():
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)  # NAB's documented values
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == -1.0
    assert probation_length(1_000) == 150
    assert probation_length(20_000) == 750


def test_row_weights_follow_nab_inside_after_and_before_windows():
    weights = row_weights(100, [(40, 59)], STANDARD)
    assert weights.weight[40] == pytest.approx(1.0)  # left edge: the full true-positive weight
    assert weights.weight[50] == pytest.approx(0.84828 / 0.98661, abs=1e-5)  # halfway in
    assert weights.weight[59] == pytest.approx(scaled_sigmoid(-1 / 20) / scaled_sigmoid(-1.0))
    # After the window: distance past its right edge in widths - 1 rows (NAB's denominator).
    assert weights.weight[60] == pytest.approx(0.11 * scaled_sigmoid(1 / 19))
    assert weights.weight[90] == pytest.approx(0.11 * scaled_sigmoid(31 / 19))
    assert weights.weight[20] == pytest.approx(-0.11)  # no window before: the full cost
    assert list(weights.window[:15]) == [-2] * 15 and weights.window[15] == -1  # probation: 15 % of 100 rows
    assert set(weights.window[40:60]) == {0}


def test_one_file_at_a_threshold_scores_the_first_detection_per_window_and_every_false_positive():
    scores = np.zeros(100)
    scores[[5, 20, 50, 55, 90]] = 0.9  # probation, before the window, in it twice, after it
    outcome = file_outcome(scores, [(40, 59)], STANDARD, 0.5)
    assert outcome.window_hits == (pytest.approx(0.84828 / 0.98661, abs=1e-5),)  # 55 adds nothing
    assert outcome.false_positives == 2
    assert outcome.score == pytest.approx(0.84828 / 0.98661 - 0.11 + 0.11 * scaled_sigmoid(31 / 19), abs=1e-5)
    missed = file_outcome(np.zeros(100), [(40, 59)], LOW_FN, 0.5)
    assert missed.score == -2.0 and missed.window_hits == (None,)


def test_the_corpus_threshold_is_swept_for_the_best_total_and_normalised_between_null_and_perfect():
    a, b = np.zeros(200), np.zeros(200)
    a[100] = 0.9  # the left edge of a's window
    a[180] = 0.8  # a false positive 2 widths past it
    b[60] = 0.7  # a false positive with no window before it
    files = [(a, [(100, 119)]), (b, [(150, 169)])]
    best = score_corpus(files, STANDARD)
    # 0.9: a found at its edge (+1), b missed (-1): raw 0. Lower thresholds only add false positives.
    assert best.threshold == 0.9 and best.raw == pytest.approx(0.0)
    assert (best.null, best.perfect, best.windows) == (-2.0, 2.0, 2)
    assert best.normalised == pytest.approx(50.0)
    low_fn = score_corpus(files, LOW_FN)
    assert low_fn.raw == pytest.approx(-1.0) and low_fn.normalised == pytest.approx(50.0)  # (-1 + 4) / (2 + 4)
    # Detecting b's window too pays once its reward beats the false positives on the way down.
    b[150] = 0.6
    assert score_corpus(files, STANDARD).threshold == 0.6
    assert score_corpus(files, STANDARD).raw == pytest.approx(2.0 - 0.11 - 0.11 * abs(scaled_sigmoid(60 / 19)))


def test_leave_one_group_out_scores_each_group_at_the_threshold_fitted_on_the_others():
    a, b = np.zeros(200), np.zeros(200)
    a[100], a[180] = 0.9, 0.8  # a's window found at its left edge; a false positive over 3 widths past it
    b[150], b[60] = 0.6, 0.7  # b's window found at its left edge; a false positive with no window before
    held = leave_one_group_out({"A": [(a, [(100, 119)])], "B": [(b, [(150, 169)])]}, STANDARD)
    # Fitted on B alone, 0.6 is best (+1 - 0.11); A at 0.6 finds its window and pays its false positive.
    # Fitted on A alone, 0.9 is best (+1); B at 0.9 finds nothing (-1).
    assert held.thresholds == {"A": 0.6, "B": 0.9}
    assert held.raw == {"A": pytest.approx(1 - 0.11), "B": pytest.approx(-1.0)}
    assert (held.null, held.perfect) == (-2.0, 2.0)
    assert held.normalised == pytest.approx(100 * (1 - 0.11 - 1 + 2) / 4)


def _write_nab_folder(root: Path) -> None:
    """Two 5-minute files in NAB's layout: one with a burst inside its labelled window, one quiet."""
    rng = np.random.default_rng(11)
    start = datetime(2024, 3, 1)
    stamps = [start + timedelta(minutes=5 * i) for i in range(1_200)]
    noisy = 50 + rng.normal(0, 2, len(stamps))
    burst = noisy.copy()
    burst[900:904] += 40
    for name, values in (("demo/burst.csv", burst), ("demo/quiet.csv", noisy[::-1])):
        path = root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp", "value"])
            writer.writerows((s.strftime("%Y-%m-%d %H:%M:%S"), f"{v:.3f}") for s, v in zip(stamps, values, strict=True))
    label = "%Y-%m-%d %H:%M:%S.%f"
    windows = {"demo/burst.csv": [[stamps[880].strftime(label), stamps[940].strftime(label)]], "demo/quiet.csv": []}
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))


def test_the_harness_scores_a_nab_layout_folder_given_as_an_argument(tmp_path):
    _write_nab_folder(tmp_path)
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_nab.py"), str(tmp_path), "--files"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    standard = re.search(r"^standard\s+([\d.]+)\s+([\d.]+)", run.stdout, re.MULTILINE)
    assert standard, run.stdout
    # The burst at row 900 of a window spanning 880-940: S(-41/61) / S(-1) = 0.94, no false positive.
    expected = 100 * (scaled_sigmoid(-41 / 61) / scaled_sigmoid(-1.0) + 1) / 2
    assert float(standard.group(1)) == pytest.approx(expected, abs=0.1)
    assert "demo/quiet.csv" in run.stdout and "season 288" in run.stdout


def test_the_harness_says_what_is_missing_in_a_folder_that_is_not_nab(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_nab.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert run.returncode != 0 and "no combined_windows.json" in run.stderr

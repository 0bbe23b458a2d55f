"""How often the streaming anomaly detector alarms on series that have no anomaly, and after a change of regime.

Run: .venv/bin/python bench/bench_anomaly_calibration.py   [--seeds 3] [--seasons 14]

Synthetic 5-minute series (288 points a season), none with an anomaly: white noise, a random
walk, a daily cycle, log-normal values, sparse and daily counts, spikes that recur every 50
points or at random, a quantised CPU percentage with heavy tails, a slow AR(1). Each is judged by
`StreamingDetector(288)` from its first point; alarms are counted after the first two seasons
and printed per season: the default threshold (0.84 per season) promises at most about 0.16 on
series whose points are independent, and the episode rule caps it at one per season whatever
they are. Then five changes of regime at the start of a season (a step, a step into a noisier
or quieter regime, noise alone, a step of a spiky series): alarms before the change, in the
first two seasons after it (one is the change itself) and after that.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
from finance_core.anomaly import STREAMING_THRESHOLD, StreamingDetector

SEASON = 288
WARM_UP_SEASONS = 2

Family = Callable[[np.random.Generator, int], np.ndarray]


def _spikes(rng: np.random.Generator, n: int, every: int | None) -> np.ndarray:
    values = 10 + rng.normal(0, 1, n)
    if every:
        at = np.arange(every // 2, n, every)
        values[at] += rng.uniform(20, 60, len(at))
    else:
        at = rng.random(n) < 0.02
        values[at] += rng.exponential(30, int(at.sum()))
    return values


def _ar(rng: np.random.Generator, n: int) -> np.ndarray:
    values = np.zeros(n)
    shocks = rng.normal(0, 1, n)
    for i in range(1, n):
        values[i] = 0.95 * values[i - 1] + shocks[i]
    return 40 + values


def _cycle(n: int) -> np.ndarray:
    return np.sin(2 * np.pi * np.arange(n) / SEASON)


WITHOUT_ANOMALY: dict[str, Family] = {
    "white noise": lambda rng, n: 50 + rng.normal(0, 5, n),
    "random walk": lambda rng, n: 100 + np.cumsum(rng.normal(0, 1, n)),
    "daily cycle": lambda rng, n: 50 + 20 * _cycle(n) + rng.normal(0, 3, n),
    "log-normal": lambda rng, n: np.exp(rng.normal(2, 1, n)),
    "sparse counts": lambda rng, n: rng.poisson(0.5, n).astype(float),
    "daily counts": lambda rng, n: rng.poisson(20 + 15 * _cycle(n)).astype(float),
    "spikes every 50": lambda rng, n: _spikes(rng, n, 50),
    "random spikes": lambda rng, n: _spikes(rng, n, None),
    "CPU percent": lambda rng, n: np.clip(np.round(30 + 5 * rng.standard_t(3, n)), 0, 100),
    "AR(1) 0.95": _ar,
}


def _regime(before: Family, after: Family) -> Callable[[np.random.Generator, int, int], np.ndarray]:
    def make(rng: np.random.Generator, n: int, at: int) -> np.ndarray:
        return np.concatenate([before(rng, at), after(rng, n - at)])

    return make


REGIME_CHANGES = {
    "step of 10 sd": _regime(lambda r, n: 50 + r.normal(0, 2, n), lambda r, n: 70 + r.normal(0, 2, n)),
    "step, 4x noisier": _regime(lambda r, n: 50 + r.normal(0, 2, n), lambda r, n: 70 + r.normal(0, 8, n)),
    "step, 4x quieter": _regime(lambda r, n: 50 + r.normal(0, 2, n), lambda r, n: 20 + r.normal(0, 0.5, n)),
    "4x noisier": _regime(lambda r, n: 50 + r.normal(0, 2, n), lambda r, n: 50 + r.normal(0, 8, n)),
    "spiky series, step": _regime(lambda r, n: _spikes(r, n, None), lambda r, n: 15 + _spikes(r, n, None)),
}


def alarms(values: np.ndarray, threshold: float) -> np.ndarray:
    detector = StreamingDetector(SEASON, threshold=threshold)
    return np.array([detector.update(float(value)).is_anomaly for value in values])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="series per family (default 3)")
    parser.add_argument("--seasons", type=int, default=14, help="seasons per series (default 14)")
    parser.add_argument("--threshold", type=float, default=STREAMING_THRESHOLD)
    args = parser.parse_args()
    started = time.perf_counter()
    n = args.seasons * SEASON
    judged = n - WARM_UP_SEASONS * SEASON
    print(
        f"StreamingDetector({SEASON}) at threshold {args.threshold}: {args.seeds} series of {args.seasons} seasons "
        f"per family, alarms counted after the first {WARM_UP_SEASONS} seasons"
    )
    print()
    print(f"    {'series without anomaly':<24}{'alarms per season':>18}{'most in one series':>20}")
    for name, family in WITHOUT_ANOMALY.items():
        counts = [
            int(alarms(family(np.random.default_rng(seed), n), args.threshold)[WARM_UP_SEASONS * SEASON :].sum())
            for seed in range(args.seeds)
        ]
        print(f"    {name:<24}{sum(counts) * SEASON / (judged * args.seeds):>18.2f}{max(counts):>20}")
    print()
    at = (args.seasons // 2) * SEASON
    print(
        f"    {'change of regime':<24}{'alarms before':>14}{'2 seasons after':>17}{'later':>7}   (all series together)"
    )
    for name, make in REGIME_CHANGES.items():
        before = first = later = 0
        for seed in range(args.seeds):
            flagged = alarms(make(np.random.default_rng(seed), n, at), args.threshold)
            before += int(flagged[WARM_UP_SEASONS * SEASON : at].sum())
            first += int(flagged[at : at + 2 * SEASON].sum())
            later += int(flagged[at + 2 * SEASON :].sum())
        print(f"    {name:<24}{before:>14}{first:>17}{later:>7}")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())

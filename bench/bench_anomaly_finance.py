"""Precision and recall of the alert rules' anomaly detector (exact mode) on labelled synthetic finance series.

Run: .venv/bin/python bench/bench_anomaly_finance.py   [--per-family 250] [--seed 2026]

The families (tools/anomaly_sets.py): seasonal accounts with a spike or drop, lasting changes of
level, sparse accounts (postings in a third of the months), new accounts of 8-14 months. Every
judged month counts: a flagged month that is not labelled is a false alarm (after a step, that
is the alarm train the detector must not make).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finance_core.anomaly import detect_anomalies  # noqa: E402

from tools.anomaly_sets import FAMILIES, Tally, finance_set  # noqa: E402

THRESHOLDS = (0.99, 0.999, 0.9999)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-family", type=int, default=250, help="series per family (default 250)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    series = finance_set(args.per_family, args.seed)
    print(
        f"anomaly detection on {len(series):,} labelled monthly series ({args.per_family} per family, "
        f"seed {args.seed}), exact mode, every judged month counted"
    )
    started = time.perf_counter()
    for threshold in THRESHOLDS:
        tallies = {family: Tally() for family in FAMILIES}
        alerts_after_steps, late_steps, steps = 0, 0, 0
        for labelled in series:
            points = detect_anomalies(labelled.values, threshold=threshold)
            flagged = {p.index for p in points if p.is_anomaly}
            tallies[labelled.family].add(flagged, labelled.anomalies, sum(p.likelihood is not None for p in points))
            if labelled.family == "step":
                month = min(labelled.anomalies)
                steps += 1
                alerts_after_steps += sum(1 for i in flagged if i > month)
                late_steps += month not in flagged and month + 1 in flagged
        print(f"\nthreshold {threshold}:")
        print(
            f"    {'family':<10}{'labelled':>9}{'found':>7}{'false alarms':>14}{'precision':>11}{'recall':>8}"
            f"{'false alarms per normal month':>31}"
        )
        for family, tally in tallies.items():
            labelled_count = tally.true_positives + tally.false_negatives
            print(
                f"    {family:<10}{labelled_count:>9}{tally.true_positives:>7}{tally.false_positives:>14}"
                f"{tally.precision:>11.3f}{tally.recall:>8.3f}{tally.false_alarm_rate:>31.4f}"
            )
        print(
            f"    steps: {alerts_after_steps} alerts in the months after {steps} steps "
            f"({alerts_after_steps / steps:.2f} per step); {late_steps} steps found the month after"
        )
    elapsed = time.perf_counter() - started
    points = sum(len(s.values) for s in series) * len(THRESHOLDS)
    print(f"\n{points:,} points scored in {elapsed:.1f} s ({1e6 * elapsed / points:.0f} us per point)")


if __name__ == "__main__":
    sys.exit(main())

"""Scores finance_core's streaming anomaly detector on a Numenta Anomaly Benchmark corpus, NAB's way.

Run: .venv/bin/python bench/bench_nab.py PATH/TO/NAB   [--jobs 2] [--files]

PATH is a folder in NAB's layout: `data/<category>/<file>.csv` (timestamp,value, oldest first)
and the windows in `labels/combined_windows.json` (a NAB checkout) or `combined_windows.json`
beside `data/`. Every labelled file is scored: the detector sees each file once, oldest row
first, and scores each row from the rows before it (StreamingDetector, season from the sampling
interval of the first rows, default threshold). The scoring is NAB's (nab_scoring.py): one
threshold per profile for the whole corpus, chosen to maximise the total; the normalised
standard, reward_low_FP_rate and reward_low_FN_rate scores are printed, per category too.

Beside that in-sample figure (the threshold fitted on the files it scores), it prints what the
detector scores on kinds of series it was not tuned to: leave-one-category-out, each category
scored at the threshold that is best on the other categories, and every file at the detector's
own default threshold (no fitting at all).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from finance_core.anomaly import STREAMING_THRESHOLD, StreamingDetector, season_length_for_interval
from nab_scoring import PROFILES, file_outcome, leave_one_group_out, score_at, score_corpus

# The season is read from the sampling interval of the first rows (the timestamps, not the
# values): NAB's files are mostly regular, some have gaps or jitter, hence a median.
INTERVAL_ROWS = 10

PUBLISHED = (
    ("ARTime", 74.9),
    ("Numenta HTM", 70.1),
    ("earthgeckoSkyline", 58.2),
    ("relativeEntropy", 54.6),
    ("Random Cut Forest", 51.7),
    ("Twitter ADVec", 47.1),
    ("windowedGaussian", 39.6),
)


def find_windows(root: Path) -> Path:
    for candidate in (root / "labels" / "combined_windows.json", root / "combined_windows.json"):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"no combined_windows.json in {root}/labels/ or {root}/: is {root} a NAB checkout?")


def read_file(path: Path) -> tuple[list[datetime], list[float]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or set(rows[0]) != {"timestamp", "value"}:
        raise SystemExit(f"{path}: expected the columns timestamp,value")
    return [datetime.fromisoformat(r["timestamp"]) for r in rows], [float(r["value"]) for r in rows]


def window_rows(name: str, stamps: list[datetime], windows: list[list[str]]) -> list[tuple[int, int]]:
    index = {stamp: i for i, stamp in enumerate(stamps)}
    rows = []
    for left, right in windows:
        try:
            rows.append((index[datetime.fromisoformat(left)], index[datetime.fromisoformat(right)]))
        except KeyError as missing:
            raise SystemExit(f"{name}: window edge {missing} is not a timestamp of the file") from None
    return rows


def season_of(stamps: list[datetime]) -> int | None:
    steps = [
        (b - a).total_seconds() for a, b in zip(stamps[:INTERVAL_ROWS], stamps[1 : INTERVAL_ROWS + 1], strict=False)
    ]
    steps = [s for s in steps if s > 0]
    return season_length_for_interval(statistics.median(steps)) if steps else None


def detect(job: tuple[str, str]) -> tuple[str, np.ndarray, int | None, float]:
    """Scores of one file (0 where the detector does not judge yet), its season, the CPU seconds taken."""
    name, path = job
    stamps, values = read_file(Path(path))
    season = season_of(stamps)
    detector = StreamingDetector(season)
    started = time.process_time()
    scores = np.array([detector.update(v).likelihood or 0.0 for v in values])
    return name, scores, season, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="NAB-layout folder: data/<category>/<file>.csv and its windows")
    parser.add_argument("--jobs", type=int, default=1, help="files scored in parallel (default 1)")
    parser.add_argument("--files", action="store_true", help="print every file's score at the standard threshold")
    args = parser.parse_args()
    root = args.corpus.resolve()
    labels = json.loads(find_windows(root).read_text())
    jobs = []
    for name in sorted(labels):
        path = root / "data" / name
        if not path.is_file():
            raise SystemExit(f"{name} is labelled but {path} does not exist")
        jobs.append((name, str(path)))
    print(
        f"NAB evaluation of finance_core.anomaly.StreamingDetector on {root}: {len(jobs)} files, "
        f"{sum(len(w) for w in labels.values())} windows"
    )
    started = time.perf_counter()
    results: dict[str, tuple[np.ndarray, int | None]] = {}
    seconds = 0.0
    with Pool(args.jobs) as pool:
        for done, (name, scores, season, spent) in enumerate(pool.imap_unordered(detect, jobs), 1):
            results[name] = (scores, season)
            seconds += spent
            print(
                f"  [{done:>3}/{len(jobs)}] {name}: {len(scores):,} rows, season {season}, {spent:.1f} s CPU",
                flush=True,
            )
    rows = sum(len(s) for s, _ in results.values())
    windows = {name: window_rows(name, read_file(root / "data" / name)[0], labels[name]) for name in sorted(labels)}
    files = [(results[name][0], windows[name]) for name in sorted(labels)]
    print(
        f"scored {rows:,} rows in {time.perf_counter() - started:.0f} s "
        f"({1e6 * seconds / rows:.1f} us of CPU per row in the detector)"
    )
    print()
    print(f"{'profile':<22}{'normalised':>11}{'threshold':>16}{'raw':>9}{'windows':>9}")
    best = {}
    for profile in PROFILES:
        result = score_corpus(files, profile)
        best[profile.name] = result
        print(
            f"{profile.name:<22}{result.normalised:>11.1f}{result.threshold:>16.10f}{result.raw:>9.2f}"
            f"{result.windows:>9}"
        )
    print(
        "published standard scores on the full 58-file corpus: "
        + ", ".join(f"{name} {score}" for name, score in PUBLISHED)
    )
    categories: dict[str, list] = defaultdict(list)
    for name in sorted(labels):
        categories[name.split("/")[0]].append((results[name][0], windows[name]))
    print()
    print(
        f"generalisation: leave one category out (threshold fitted on the other {len(categories) - 1} categories), "
        f"and the default threshold {STREAMING_THRESHOLD} (nothing fitted)"
    )
    print(f"{'profile':<22}{'in-sample':>11}{'held out':>10}{'default':>9}   thresholds fitted without each category")
    for profile in PROFILES:
        held = leave_one_group_out(categories, profile)
        at_default = (
            100.0
            * (score_at(files, profile, STREAMING_THRESHOLD) - best[profile.name].null)
            / (best[profile.name].perfect - best[profile.name].null)
        )
        fitted = ", ".join(f"{group} {threshold:.4f}" for group, threshold in held.thresholds.items())
        in_sample = best[profile.name].normalised
        print(f"{profile.name:<22}{in_sample:>11.1f}{held.normalised:>10.1f}{at_default:>9.1f}   {fitted}")
    standard = best["standard"]
    print()
    print(f"in-sample, at the standard threshold {standard.threshold:.10f}:")
    if args.files:
        print(
            "    file                                                        score  false positives  windows "
            "(weight of the first detection)"
        )
    by_category = defaultdict(lambda: [0.0, 0, 0, 0, 0])
    for name in sorted(labels):
        outcome = file_outcome(results[name][0], windows[name], standard.profile, standard.threshold)
        row = by_category[name.split("/")[0]]
        row[0] += outcome.score
        row[1] += sum(hit is not None for hit in outcome.window_hits)
        row[2] += len(windows[name])
        row[3] += outcome.false_positives
        row[4] += 1
        if args.files:
            hits = " ".join("-" if hit is None else f"{hit:.2f}" for hit in outcome.window_hits)
            print(f"    {name:<58}{outcome.score:>7.2f}{outcome.false_positives:>17}  [{hits}]")
    print(f"    {'category':<26}{'files':>6}{'raw':>9}{'windows found':>15}{'false positives':>17}")
    for category, (raw, found, total, false_positives, count) in sorted(by_category.items()):
        print(f"    {category:<26}{count:>6}{raw:>9.2f}{f'{found}/{total}':>15}{false_positives:>17}")


if __name__ == "__main__":
    sys.exit(main())

"""Benchmarks of the pure core: calculation propagation per change, anomaly scoring per point, its memory.

Run: .venv/bin/python bench/bench_core.py   (prints a table; takes about a minute)
"""

from __future__ import annotations

import csv
import gc
import json
import math
import pickle
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from finance_core.accounts import ChartOfAccounts
from finance_core.aggregates import (
    AggregateKey,
    FoldedTotals,
    aggregates_from_records,
    build_view,
    record_delta,
)
from finance_core.anomaly import StreamingDetector, detect_anomalies, score_latest
from finance_core.metrics import MetricGraph
from finance_core.money import convert_to_reporting_minor, to_minor
from finance_core.records import RecordState
from finance_core.reference import OrgReference

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 5


def timed(
    batch: Callable[[], int], repeats: int = REPEATS, clock: Callable[[], float] = time.perf_counter
) -> tuple[float, int]:
    """Best seconds per operation over `repeats` runs of a batch that returns its operation count.

    `clock` is wall time by default; time.process_time gives the CPU time of this process, which
    other processes sharing the cores inflate far less."""
    per_op = []
    ops = 0
    for _ in range(repeats):
        gc.collect()
        start = clock()
        ops = batch()
        per_op.append((clock() - start) / ops)
    return min(per_op), ops


# --- demo data -------------------------------------------------------------------------------------


def demo_reference() -> tuple[dict, ChartOfAccounts, dict]:
    raw = json.loads((ROOT / "demo_data" / "reference.json").read_text())
    chart = ChartOfAccounts.from_documents(
        {a["account_id"]: {"name": a["name"], "type": a["type"], "parent_id": a["parent_id"]} for a in raw["accounts"]}
    )
    return raw, chart, OrgReference.parse_rates(raw["fx_rates"])


def demo_records(reporting: str, rates: dict) -> list[RecordState]:
    records = []
    with (ROOT / "demo_data" / "records.csv").open() as handle:
        for row in csv.DictReader(handle):
            amount = Decimal(row["amount"])
            rate = Decimal(1) if row["currency"] == reporting else rates[row["period"]][row["currency"]]
            records.append(
                RecordState(
                    org_id="northwind",
                    record_id=row["record_id"],
                    version=1,
                    event_id=f"{row['record_id']}-v1",
                    entity_id=row["entity_id"],
                    account_id=row["account_id"],
                    period=row["period"],
                    scenario=row["scenario"],
                    amount=amount,
                    currency=row["currency"],
                    amount_minor=to_minor(amount, row["currency"]),
                    reporting_amount_minor=convert_to_reporting_minor(amount, row["currency"], reporting, rate),
                )
            )
    return records


def busy_key_records(chart: ChartOfAccounts, count: int, rng: random.Random) -> list[RecordState]:
    """A month of `count` ledger lines of one entity on the demo chart's leaf accounts."""
    leaves = [a.account_id for a in chart if chart.is_leaf(a.account_id)]
    return [
        RecordState(
            org_id="northwind",
            record_id=f"JE-{i}",
            version=1,
            event_id=f"JE-{i}-v1",
            entity_id="us-east",
            account_id=rng.choice(leaves),
            period="2026-10",
            scenario="actual",
            reporting_amount_minor=rng.randint(1_00, 50_000_00),
        )
        for i in range(count)
    ]


# --- (a) calculation propagation -----------------------------------------------------------------


def propagation(
    records: list[RecordState],
    key: AggregateKey,
    chart: ChartOfAccounts,
    graph: MetricGraph,
    rng: random.Random,
    changes: int,
) -> dict[str, float]:
    """Per change: record_delta + incremental build_view vs full recompute from all records of the key."""
    of_key = [r for r in records if (r.entity_id, r.period, r.scenario) == (key.entity_id, key.period, key.scenario)]
    leaves = sorted({r.account_id for r in of_key})
    # One update per change: a new amount, sometimes another account (both stay in the key).
    current = {r.record_id: r for r in of_key}
    updates = []
    for _ in range(changes):
        before = current[of_key[rng.randrange(len(of_key))].record_id]
        after = replace(
            before,
            version=before.version + 1,
            reporting_amount_minor=(before.reporting_amount_minor or 0) + rng.randint(-5_000, 5_000),
            account_id=rng.choice(leaves) if rng.random() < 0.2 else before.account_id,
        )
        current[after.record_id] = after
        updates.append((before, after))
    truth = aggregates_from_records(of_key)[key]
    start_totals = dict(truth.accounts)
    start_view = build_view(FoldedTotals(start_totals, truth.record_count, {}), chart, graph)

    def incremental() -> int:
        totals = dict(start_totals)
        metrics, by_type = start_view.metrics, start_view.totals_by_type
        for before, after in updates:
            change = record_delta(before, after).get(key)
            if change is None:
                continue
            for account_id, minor in change.accounts.items():
                totals[account_id] = totals.get(account_id, 0) + minor
            view = build_view(FoldedTotals(totals, truth.record_count, {}), chart, graph, metrics, by_type)
            metrics, by_type = view.metrics, view.totals_by_type
        return len(updates)

    full_runs = max(3, min(200, 20_000 // len(of_key)))

    def full() -> int:
        for _ in range(full_runs):
            recomputed = aggregates_from_records(of_key)[key]
            build_view(FoldedTotals(recomputed.accounts, recomputed.record_count, {}), chart, graph)
        return full_runs

    incremental_s, _ = timed(incremental)
    full_s, _ = timed(full)
    return {
        "records": len(of_key),
        "incremental_us": incremental_s * 1e6,
        "full_us": full_s * 1e6,
        "changes": len(updates),
        "full_runs": full_runs,
    }


# --- (b), (c) anomaly scoring --------------------------------------------------------------------


def series_family(count: int, length: int, rng: random.Random) -> list[list[int]]:
    """Monthly account series in minor units: level, trend, a yearly season, noise and a few spikes."""
    family = []
    for _ in range(count):
        level = rng.uniform(50_000_00, 2_000_000_00)
        trend = rng.uniform(-0.004, 0.01) * level
        amplitude = rng.uniform(0.0, 0.15) * level
        values = []
        for month in range(length):
            value = level + trend * month + amplitude * math.sin(2 * math.pi * month / 12) + rng.gauss(0, 0.03 * level)
            if rng.random() < 0.02:
                value *= rng.choice([0.4, 1.8])
            values.append(round(value))
        family.append(values)
    return family


def anomaly_scoring(points: int = 10_000, length: int = 36) -> dict[str, float]:
    rng = random.Random(36)
    family = series_family(math.ceil(points / length), length, rng)
    scored = sum(len(s) for s in family)

    def full_runs() -> int:
        for values in family:
            detect_anomalies(values)
        return scored

    def live() -> int:
        for values in family:
            score_latest(values)
        return len(family)

    per_point_s, _ = timed(full_runs, repeats=3)
    per_latest_s, _ = timed(live, repeats=3)

    def peak_of(run: Callable[[], Any]) -> tuple[float, Any]:
        gc.collect()
        tracemalloc.start()
        kept = run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak / 1024, kept

    streaming_kib, _ = peak_of(full_runs)  # one series' verdicts alive at a time
    retained_kib, verdicts = peak_of(lambda: [detect_anomalies(values) for values in family])  # all kept
    flagged = sum(p.is_anomaly for points_of in verdicts for p in points_of)
    return {
        "series": len(family),
        "points": scored,
        "per_point_us": per_point_s * 1e6,
        "per_latest_us": per_latest_s * 1e6,
        "flagged": flagged,
        "streaming_kib": streaming_kib,
        "retained_kib": retained_kib,
    }


STREAM_TARGET_US = 50.0


def five_minute_counts(points: int, rng: random.Random) -> list[float]:
    """Transaction counts every 5 minutes: a daily cycle, Poisson-like noise, a burst now and then."""
    values = []
    for i in range(points):
        rate = 40 + 30 * math.sin(2 * math.pi * i / 288)
        value = max(0.0, round(rng.gauss(rate, math.sqrt(rate))))
        if rng.random() < 0.001:
            value += rng.choice([100, 300])
        values.append(value)
    return values


def streaming_scoring(points: int = 60_000) -> dict[str, float]:
    """StreamingDetector.update per point on a long 5-minute series, and the size of its state as it grows."""
    values = five_minute_counts(points, random.Random(288))

    def run() -> int:
        detector = StreamingDetector(288)
        for value in values:
            detector.update(value)
        return len(values)

    per_point_s, _ = timed(run, repeats=3)
    per_point_cpu_s, _ = timed(run, repeats=3, clock=time.process_time)
    detector = StreamingDetector(288)
    state_bytes = {}
    flagged = 0
    for i, value in enumerate(values, 1):
        flagged += detector.update(value).is_anomaly
        if i in (2_880, points):
            state_bytes[i] = len(pickle.dumps(detector))
    gc.collect()
    tracemalloc.start()
    fresh = StreamingDetector(288)
    for value in values[:2_880]:
        fresh.update(value)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "points": points,
        "per_point_us": per_point_s * 1e6,
        "per_point_cpu_us": per_point_cpu_s * 1e6,
        "flagged": flagged,
        "state_early": state_bytes[2_880],
        "state_late": state_bytes[points],
        "peak_kib": peak / 1024,
    }


def metric_definitions_bench(chart: ChartOfAccounts, extra_unaffected: int = 540) -> dict[str, Any]:
    """Incremental recomputation of one change with 60 definitions (the library + 35 of an org's own).

    The chart is the demo's plus tagged balance-sheet accounts; the series has 36 months. A change
    is the new account totals of one period with one account moved (`MetricSet.update` told which
    account). The same changes are measured again with `extra_unaffected` more definitions that
    the changed accounts do not feed, and against a full recompute of the series.
    """
    from finance_core.accounts import Account, AccountType
    from finance_core.metric_library import library
    from finance_core.metric_series import Calendar, compile_definitions

    balance_sheet = [
        Account("1000", "Cash", AccountType.ASSET, None, frozenset({"cash", "current_asset"})),
        Account("1200", "Receivables", AccountType.ASSET, None, frozenset({"receivable", "current_asset"})),
        Account("2100", "Payables", AccountType.LIABILITY, None, frozenset({"payable", "current_liability"})),
        Account("2500", "Loan", AccountType.LIABILITY, None, frozenset({"debt"})),
        Account("3000", "Equity", AccountType.EQUITY),
    ]
    # The demo chart may carry these accounts already (with its own tags): the bench's tags win.
    ids = {a.account_id for a in balance_sheet}
    accounts = [a for a in chart if a.account_id not in ids] + balance_sheet
    accounts = [a if a.account_id != "4200" else replace(a, tags=frozenset({"recurring"})) for a in accounts]
    big_chart = ChartOfAccounts(accounts)
    leaves = [a.account_id for a in big_chart if big_chart.is_leaf(a.account_id)]
    definitions: dict[str, dict[str, Any]] = dict(library())
    own = 60 - len(definitions)
    for n in range(own):
        leaf = leaves[n % len(leaves)]
        shape = [
            '100 * account("{a}") / revenue',
            'ytd(account("{a}"))',
            'growth_yoy(account("{a}"))',
            'avg(account("{a}"), 3) - prev(account("{a}"))',
            'ttm(account("{a}")) / positive(ttm(revenue))',
        ][n % 5]
        definitions[f"own_{n}"] = {"label": f"own {n}", "expression": shape.format(a=leaf), "unit": "ratio"}
    assert len(definitions) == 60
    # Unaffected: they read an account the measured changes never touch.
    noise = {
        f"unaffected_{n}": {"label": "u", "expression": f'ytd(account("8100")) * {n + 2} + closing(account("2500"))'}
        for n in range(extra_unaffected)
    }
    calendar = Calendar.spanning(["2024-01", "2026-12"])
    rng = random.Random(11)
    inputs = {p: {a: rng.randint(0, 5_000_000) for a in leaves} for p in calendar.periods}
    results: dict[str, Any] = {"definitions": len(definitions), "unaffected": extra_unaffected}
    cases = [
        ("revenue account, latest period", "4100", -1),
        ("revenue account, 12 months back", "4100", -13),
        ("cash account, latest period", "1000", -1),
        ("cash account, 24 months back", "1000", -25),
    ]
    for label, documents in (("60", definitions), ("60+unaffected", {**definitions, **noise})):
        metric_set, errors = compile_definitions(documents, big_chart, calendar)
        assert not errors, errors
        values = metric_set.full(inputs)
        for case, account, offset in cases:
            period = calendar.periods[offset]
            totals = dict(inputs[period])
            cells = 0

            def batch(period=period, totals=totals, account=account, metric_set=metric_set, values=values) -> int:
                nonlocal cells
                for n in range(500):
                    totals[account] += 1 if n % 2 else -1
                    cells = metric_set.update(values, period, totals, [account])
                return 500

            seconds, _ = timed(batch)
            results[(label, case)] = (seconds * 1e6, cells)
        runs = 5

        def full_batch(metric_set=metric_set, runs=runs) -> int:
            for _ in range(runs):
                metric_set.full(inputs)
            return runs

        results[(label, "full")] = timed(full_batch, 3)[0] * 1e6
        results[(label, "cells")] = len(metric_set.cells)
    results["cases"] = [case for case, _, _ in cases]
    return results


def main() -> None:
    started = time.perf_counter()
    raw, chart, rates = demo_reference()
    graph = MetricGraph()
    rng = random.Random(7)
    print(
        f"finance_core benchmarks - Python {platform.python_version()} on {platform.machine()}, "
        f"{REPEATS} repeats, best run per figure"
    )
    print()
    m = metric_definitions_bench(chart)
    print(
        f"(d) metric definitions: one change recomputed incrementally (MetricSet.update), {m['definitions']} "
        f"definitions, 36-month series"
    )
    print(f"    {'change':<36}{'60 definitions':>22}{'+' + str(m['unaffected']) + ' unaffected':>26}")
    for case in m["cases"]:
        (us, cells), (us_more, cells_more) = m[("60", case)], m[("60+unaffected", case)]
        print(f"    {case:<36}{us:>9.1f} us {cells:>4} cells{us_more:>13.1f} us {cells_more:>4} cells")
    print(
        f"    {'full recompute of the series':<36}{m[('60', 'full')] / 1000:>9.1f} ms "
        f"{m[('60', 'cells')]:>4} rows{m[('60+unaffected', 'full')] / 1000:>13.1f} ms "
        f"{m[('60+unaffected', 'cells')]:>4} rows"
    )
    print()
    if sys.argv[1:] == ["--metrics-only"]:
        return

    records = demo_records(raw["org"]["reporting_currency"], rates)
    latest_actual = max(r.period for r in records if r.entity_id == "us-east" and r.scenario == "actual")
    demo_key = AggregateKey("us-east", str(latest_actual), "actual")
    busy = busy_key_records(chart, 5_000, rng)
    rows = [
        ("demo key " + demo_key.doc_id, propagation(records, demo_key, chart, graph, rng, 2_000)),
        (
            "busy key (5,000 ledger lines)",
            propagation(busy, AggregateKey("us-east", "2026-10", "actual"), chart, graph, rng, 2_000),
        ),
    ]
    print("(a) calculation propagation per change (record_delta + build_view with the demo chart)")
    print(f"    {'aggregate':<38}{'records':>8}{'incremental':>14}{'full recompute':>17}{'ratio':>9}")
    for label, r in rows:
        print(
            f"    {label:<38}{r['records']:>8}{r['incremental_us']:>11.1f} us{r['full_us']:>14.1f} us"
            f"{r['full_us'] / r['incremental_us']:>8.1f}x"
        )
    print(f"    incremental: {rows[0][1]['changes']:,} updates per run; full recompute: aggregates_from_records of")
    runs = f"{rows[0][1]['full_runs']} / {rows[1][1]['full_runs']}"
    print(f"    every record of the key + build_view, {runs} runs per batch")
    print()

    a = anomaly_scoring()
    print(
        f"(b) anomaly scoring, exact mode (the alert rules'), {a['series']} series x 36 months = {a['points']:,} points"
    )
    print(
        f"    detect_anomalies, every point scored     {a['per_point_us']:>9.1f} us per point ({a['flagged']} flagged)"
    )
    print(
        f"    score_latest, live verdict on a series   {a['per_latest_us']:>9.1f} us per series "
        f"({a['per_latest_us'] / a['per_point_us']:.0f}x one point: it replays the history)"
    )
    print()
    b = streaming_scoring()
    print(f"(b') anomaly scoring, streaming mode: StreamingDetector(288).update on {b['points']:,} five-minute points")
    print(
        f"    per point, CPU time of this process      {b['per_point_cpu_us']:>9.1f} us "
        f"(target < {STREAM_TARGET_US:.0f} us: {b['per_point_cpu_us'] / STREAM_TARGET_US:.2f} of it; "
        f"{b['flagged']} flagged)"
    )
    print(f"    per point, wall time                     {b['per_point_us']:>9.1f} us")
    print(
        f"    state after 10 days / {b['points'] / 288:.0f} days (pickled)      "
        f"{b['state_early'] / 1024:>6.1f} KiB / {b['state_late'] / 1024:.1f} KiB (bounded: it does not grow)"
    )
    print(f"    peak traced memory over the first 10 days {b['peak_kib']:>8.1f} KiB")
    print()
    print("(c) peak memory of (b) (tracemalloc, peak traced allocation of one pass over the family)")
    print(f"    {'series by series, verdicts dropped':<41}{a['streaming_kib']:>9.1f} KiB")
    print(
        f"    {'all ' + format(a['points'], ',') + ' verdicts kept':<41}{a['retained_kib']:>9.1f} KiB "
        f"({a['retained_kib'] * 1024 / a['points']:.0f} bytes per point)"
    )
    print()
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    sys.exit(main())

"""Pipeline benchmark on the local stack: publish-to-listener latency of every lone event, stage by stage,
the commits that contended, and hot-key ratios.

Run with a stack up (`./dev up`, or `./dev up --seed` for the demo org):
`.venv/bin/python bench/bench_pipeline.py [--events 600] [--rate 20] [--org northwind] [--latency-only]`.
Prints the commit measured, the figures and the machine's load beside them; it asserts nothing
(targets are read from the output, docs/performance.md keeps them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from finance_core.aggregates import AggregateKey  # noqa: E402
from finance_core.identifiers import CONSOLIDATED_ENTITY  # noqa: E402
from google.cloud import firestore, pubsub_v1  # noqa: E402
from google.cloud.firestore_v1.base_query import FieldFilter  # noqa: E402

from tools.machine_load import LoadMeter  # noqa: E402
from tools.stack.emulators import LocalStack  # noqa: E402
from tools.stack.meter import commits_since  # noqa: E402
from tools.stack.seed import demo_reference, firestore_client  # noqa: E402
from tools.visibility import STAGES, VisibilityLog, percentile  # noqa: E402


def seed(db, org_id: str) -> None:
    from tests.support import seed_org

    seed_org(db, org_id)


def lone_event(org_id: str, index: int, period: str, run: str) -> dict:
    """A new ledger line of its own (a lone event): entities and accounts vary, amounts are exact."""
    entity = ["us-east", "us-west", "eu-central"][index % 3]
    return {
        "event_id": f"bench-{run}-{index}",
        "type": "record.upserted",
        "org_id": org_id,
        "record_id": f"bench-{run}-{index}",
        "version": 1,
        "occurred_at": f"{period}-05T12:00:00Z",
        "record": {
            "entity_id": entity,
            "account_id": ["4100", "5100", "6100", "6200"][index % 4],
            "period": period,
            "scenario": "actual",
            "amount": "125.50",
            "currency": "EUR" if entity == "eu-central" else "USD",
        },
    }


def bench_latency(config, db, org_id: str, count: int, rate: float, period: str) -> dict:
    """Publish `count` lone events at `rate`/s; every event's publish -> listener lag, stage by stage.

    Listeners on the org's change documents and on the consolidated aggregate of the period give
    each applied event's server times (tools/visibility.py): the figures cover every event, not a
    sample.
    """
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(config.project_id, "financial-events")
    visibility = VisibilityLog(AggregateKey(CONSOLIDATED_ENTITY, period, "actual"))
    ref = db.document(f"organizations/{org_id}/aggregates/{CONSOLIDATED_ENTITY}__{period}__actual")
    since = datetime.now(UTC) - timedelta(seconds=2)

    def on_aggregate(snapshots, changes, read_time):
        now = time.time()
        for snapshot in snapshots:
            visibility.on_aggregate_snapshot(snapshot.to_dict() or {}, now, snapshot.update_time)

    def on_changes(snapshots, changes, read_time):
        for change in changes:
            if change.type.name != "REMOVED":
                visibility.on_change_document(change.document.to_dict() or {})

    watches = [
        ref.on_snapshot(on_aggregate),
        db.collection(f"organizations/{org_id}/record_changes")
        .where(filter=FieldFilter("created_at", ">=", since))
        .on_snapshot(on_changes),
    ]
    run = uuid.uuid4().hex[:8]
    started_wall = time.time()
    started = time.monotonic()
    for i in range(count):
        body = lone_event(org_id, i, period, run)
        visibility.on_published(body["event_id"])
        publisher.publish(topic, json.dumps(body).encode(), org_id=org_id)
        time.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
    publish_seconds = time.monotonic() - started
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        summary = visibility.summary()
        if summary.measured >= count:
            break
        time.sleep(0.2)
    total_seconds = time.monotonic() - started
    for watch in watches:
        watch.unsubscribe()
    summary = visibility.summary()
    stages = visibility.stages_ms()
    return {
        "events": count,
        "offered_rate": rate,
        "publish_seconds": publish_seconds,
        "drain_seconds": total_seconds,
        "sustained_rate": summary.measured / total_seconds,
        "lag": summary,
        "lag_mean_ms": statistics.mean(visibility.lags_ms().values()) if summary.measured else float("nan"),
        "stages": {
            stage: (
                percentile([s[stage] for s in stages.values() if stage in s], 0.5),
                percentile([s[stage] for s in stages.values() if stage in s], 0.99),
            )
            for stage in STAGES
        },
        "commits": commits_since(started_wall),
        "window": (started_wall, time.time()),
    }


def bench_raw_transactions(db, seconds: float = 5.0) -> float:
    """Single-thread read-modify-write transactions on one document per second (the emulator's raw rate)."""
    ref = db.document(f"bench/{uuid.uuid4().hex}")
    ref.set({"n": 0})

    @firestore.transactional
    def increment(transaction):
        snapshot = ref.get(transaction=transaction)
        transaction.update(ref, {"n": snapshot.get("n") + 1})

    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        increment(db.transaction())
        done += 1
    return done / seconds


def bench_hot_key(db, org_id: str, threads: int, per_thread: int) -> dict[str, float]:
    """Producers on one aggregate key: the sharded store vs the emulator's single-document Increment()
    and vs a naive read-modify-write transaction, same concurrency.

    A producer here is what the record-changes trigger does for each change document: one atomic
    commit of the change's marker and one shard increment per key (AggregateStore.apply_once).
    The readable document is folded once at the end and checked exact.
    """
    from adapters.reference_store import ReferenceStore
    from aggregations.store import AggregateStore
    from finance_core.aggregates import AggregateDelta, AggregateKey

    store = AggregateStore(db, shard_count=8)
    chart = ReferenceStore(db).get(org_id).chart
    key = AggregateKey("us-east", "2026-11", "actual")
    failures = {"sharded": 0, "increment": 0, "naive": 0}

    def sharded(index: int) -> None:
        for n in range(per_thread):
            try:
                if not store.apply_once(org_id, f"hot-{index}-{n}", {key: AggregateDelta({"4100": 1}, 1)}):
                    failures["sharded"] += 1
            except Exception:  # noqa: BLE001 - counted
                failures["sharded"] += 1

    increment_ref = db.document(f"organizations/{org_id}/bench/increment-only")
    increment_ref.set({"n": 0})

    def increment(index: int) -> None:
        for _ in range(per_thread):
            try:
                increment_ref.update({"n": firestore.Increment(1)})
            except Exception:  # noqa: BLE001 - counted
                failures["increment"] += 1

    naive_ref = db.document(f"organizations/{org_id}/bench/naive-aggregate")
    naive_ref.set({"accounts": {"4100": 0}, "record_count": 0})
    naive_per_thread = max(1, per_thread // 10)

    def naive(index: int) -> None:
        for _ in range(naive_per_thread):

            @firestore.transactional
            def add(transaction):
                snapshot = naive_ref.get(transaction=transaction)
                transaction.update(
                    naive_ref,
                    {
                        "accounts": {"4100": snapshot.get("accounts")["4100"] + 1},
                        "record_count": snapshot.get("record_count") + 1,
                    },
                )

            try:
                add(db.transaction(max_attempts=5))
            except Exception:  # noqa: BLE001 - counted
                failures["naive"] += 1

    results = {}
    for name, target, each in (
        ("increment", increment, per_thread),
        ("sharded", sharded, per_thread),
        ("naive", naive, naive_per_thread),
    ):
        workers = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
        started = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.monotonic() - started
        results[f"{name}_per_s"] = threads * each / elapsed
        results[f"{name}_failed"] = failures[name]
    store.fold(org_id, key, chart, "USD")
    view = db.document(f"organizations/{org_id}/aggregates/{key.doc_id}").get().to_dict()
    results["sharded_exact"] = view["accounts"]["4100"] == view["record_count"] == threads * per_thread
    results["increment_exact"] = increment_ref.get().get("n") == threads * per_thread
    results["naive_total"] = naive_ref.get().get("record_count")
    return results


def _commit() -> str:
    """The commit measured (with a mark when the work tree has changes)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument(
        "--org",
        default=None,
        help="publish to this seeded org (e.g. northwind, the demo org with its KPIs and rules), not a fresh one",
    )
    parser.add_argument("--latency-only", action="store_true", help="skip the raw transaction and hot-key figures")
    parser.add_argument("--threads", type=int, default=8, help="producers on the hot key")
    parser.add_argument("--per-thread", type=int, default=100)
    args = parser.parse_args()
    stack = LocalStack.running()
    db = firestore_client(stack.config)
    if args.org:
        org_id, period = args.org, demo_reference()["current_period"]
    else:
        org_id, period = f"bench-{uuid.uuid4().hex[:8]}", "2026-10"
        seed(db, org_id)
    print(f"pipeline benchmark on the local stack (org {org_id}, commit {_commit()}, {time.strftime('%Y-%m-%d')})")
    meter = LoadMeter(lambda: [service.pid for service in stack.services]).start()
    latency = bench_latency(stack.config, db, org_id, args.events, args.rate, period)
    load = meter.report()
    lag = latency["lag"]
    print(f"  events published                      {latency['events']} lone events at {latency['offered_rate']:g}/s")
    print(
        f"  all visible to the listener after     {latency['drain_seconds']:.1f} s "
        f"({latency['sustained_rate']:.1f} events/s)"
    )
    print(f"  publish -> aggregate seen by listener {lag.describe()}, worst {_ms(lag.worst)} ms")
    print("  stages, ms after publish (p50 / p99 over every event):")
    for stage, (p50, p99) in latency["stages"].items():
        print(f"    {stage:<20} {_ms(p50):>7} / {_ms(p99):>7}")
    commits = latency["commits"]
    print(
        f"  commits of the functions              {sum(commits.commits.values()):,}, "
        f"{sum(commits.failed.values())} failed (contended, then retried), "
        f"{sum(commits.failed.values()) / max(1, latency['events']):.3f} per event"
    )
    for (function, error), count in sorted(commits.failures.items()):
        print(f"    {function:<32} {count:>5} x {error}")
    print(f"  machine                               {load.describe()}")
    if args.latency_only:
        return 0
    raw = bench_raw_transactions(db)
    # An org of its own: the exactness check counts from zero (the demo org's key has its history).
    hot_org = f"bench-hot-{uuid.uuid4().hex[:8]}"
    seed(db, hot_org)
    hot = bench_hot_key(db, hot_org, args.threads, args.per_thread)
    print(f"  raw emulator transactions (1 thread)  {raw:.0f} read-modify-write/s")
    print(f"  ratio pipeline events / raw txn       {latency['sustained_rate'] / raw:.3f}")
    print(f"  hot key, {args.threads} producers x {args.per_thread} changes:")
    print(
        f"    single-document Increment()         {hot['increment_per_s']:.0f}/s ({hot['increment_failed']} failed, "
        f"exact={hot['increment_exact']})"
    )
    print(
        f"    sharded store (change marker + shard increment per commit) {hot['sharded_per_s']:.0f} changes/s "
        f"({hot['sharded_failed']} failed commits, exact={hot['sharded_exact']})"
    )
    print(
        f"    naive read-modify-write transaction {hot['naive_per_s']:.1f}/s ({hot['naive_failed']} failed, "
        f"total {hot['naive_total']})"
    )
    print(f"  ratio sharded / Increment()           {hot['sharded_per_s'] / max(hot['increment_per_s'], 1e-9):.2f}")
    print(f"  ratio sharded / naive                 {hot['sharded_per_s'] / max(hot['naive_per_s'], 1e-9):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pipeline benchmark on the local stack: sustained events/s, publish-to-listener latency, hot-key ratios.

Run with a stack up (`./dev up`): `.venv/bin/python bench/bench_pipeline.py [--events 600] [--rate 20]`.
Prints figures and ratios; it asserts nothing (targets are read from the output).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from google.cloud import firestore, pubsub_v1  # noqa: E402

from tools.stack.emulators import LocalStack  # noqa: E402
from tools.stack.seed import firestore_client  # noqa: E402


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def seed(db, org_id: str) -> None:
    from tests.support import seed_org

    seed_org(db, org_id)


def bench_latency(config, db, org_id: str, count: int, rate: float) -> dict[str, float]:
    """Publish `count` events at `rate`/s; a listener on the consolidated aggregate measures lag."""
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(config.project_id, "financial-events")
    published: dict[str, float] = {}
    lags: list[float] = []
    seen: set[str] = set()
    done = threading.Event()
    ref = db.document(f"organizations/{org_id}/aggregates/_all__2026-10__actual")

    def on_snapshot(snapshots, changes, read_time):
        now = time.time()
        for snapshot in snapshots:
            doc = snapshot.to_dict() or {}
            event_id = doc.get("last_event_id")
            if event_id in published and event_id not in seen:
                seen.add(event_id)
                lags.append((now - published[event_id]) * 1000)
            if doc.get("record_count", 0) >= count:
                done.set()

    watch = ref.on_snapshot(on_snapshot)
    started = time.monotonic()
    for i in range(count):
        event_id = f"bench-{org_id}-{i}"
        body = {
            "event_id": event_id,
            "type": "record.upserted",
            "org_id": org_id,
            "record_id": f"b-{i}",
            "version": 1,
            "occurred_at": "2026-10-05T12:00:00Z",
            "record": {
                "entity_id": ["us-east", "us-west", "eu-central"][i % 3],
                "account_id": ["4100", "5100", "6100", "6200"][i % 4],
                "period": "2026-10",
                "scenario": "actual",
                "amount": "125.50",
                "currency": "EUR" if i % 3 == 2 else "USD",
            },
        }
        published[event_id] = time.time()
        publisher.publish(topic, json.dumps(body).encode(), org_id=org_id)
        time.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
    publish_seconds = time.monotonic() - started
    done.wait(timeout=600)
    total_seconds = time.monotonic() - started
    watch.unsubscribe()
    return {
        "events": count,
        "offered_rate": rate,
        "publish_seconds": publish_seconds,
        "drain_seconds": total_seconds,
        "sustained_rate": count / total_seconds,
        "lag_samples": len(lags),
        "lag_p50_ms": percentile(lags, 0.5) if lags else float("nan"),
        "lag_p99_ms": percentile(lags, 0.99) if lags else float("nan"),
        "lag_mean_ms": statistics.mean(lags) if lags else float("nan"),
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=8, help="producers on the hot key")
    parser.add_argument("--per-thread", type=int, default=100)
    args = parser.parse_args()
    stack = LocalStack.running()
    db = firestore_client(stack.config)
    org_id = f"bench-{uuid.uuid4().hex[:8]}"
    seed(db, org_id)
    print(f"pipeline benchmark on the local stack (org {org_id})")
    latency = bench_latency(stack.config, db, org_id, args.events, args.rate)
    raw = bench_raw_transactions(db)
    hot = bench_hot_key(db, org_id, args.threads, args.per_thread)
    print(f"  events published                      {latency['events']} at {latency['offered_rate']:.0f}/s offered")
    print(
        f"  sustained pipeline rate               {latency['sustained_rate']:.1f} events/s "
        f"(all {latency['events']} in the consolidated aggregate after {latency['drain_seconds']:.1f} s)"
    )
    print(
        f"  publish -> aggregate seen by listener p50 {latency['lag_p50_ms']:.0f} ms, "
        f"p99 {latency['lag_p99_ms']:.0f} ms "
        f"({latency['lag_samples']} samples)"
    )
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

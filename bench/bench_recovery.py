"""Drift window of a lost record-changes trigger: how long a stored line stays out of its aggregate.

Run with a stack up (`./dev up`): `.venv/bin/python bench/bench_recovery.py [--lines 12] [--spread 150]`.

Method: lines are stored through the real ingestion store (`IngestionStore.apply`, one commit each:
the records and their change document) in a project of the Firestore emulator where no function
is deployed, so every record-changes trigger invocation is lost, at random moments over
`--spread` seconds. A scheduler in this process runs the real outbox sweep (`sweep_outbox`, the
code of `publish_pending_changes`) every `--every` seconds, as Cloud Scheduler does in
production, until every change document is applied. The drift window of a line is the time from
its commit to the sweep's application of its deltas to the aggregate shards (polled every 0.25 s).
It prints the windows and the bound (sweep period + the sweep's 20 s delay). Asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from google.auth.credentials import AnonymousCredentials  # noqa: E402
from google.cloud import firestore  # noqa: E402

from tools.stack.emulators import LocalStack  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=12, help="lost commits (default 12)")
    parser.add_argument("--spread", type=float, default=150.0, help="seconds over which they are stored")
    parser.add_argument("--every", type=float, default=60.0, help="sweep period in seconds (production: 60)")
    args = parser.parse_args()
    stack = LocalStack.attach()
    if stack is None:
        print("no local stack: start it with ./dev up", file=sys.stderr)
        return 1
    stack.config.apply_client_env()
    from adapters.reference_store import ReferenceStore
    from aggregations.store import AggregateStore
    from finance_core.aggregates import AggregateKey
    from finance_core.batches import IngestLine
    from finance_core.events import parse_event
    from ingestion.store import IngestionStore, Parsed
    from realtime_processor.outbox import SWEEP_AFTER, sweep_outbox
    from realtime_processor.processor import RecordChangeProcessor

    from tests.support import event, raw, seed_org

    db = firestore.Client(project=f"demo-lost-{uuid.uuid4().hex[:6]}", credentials=AnonymousCredentials())
    org = f"drift-{uuid.uuid4().hex[:8]}"
    seed_org(db, org)
    reference = ReferenceStore(db, ttl_seconds=0).get(org)
    store = IngestionStore(db)
    processor = RecordChangeProcessor(db, AggregateStore(db, 8), None)
    offsets = sorted(random.uniform(0, args.spread) for _ in range(args.lines))
    committed: dict[str, float] = {}
    applied: dict[str, float] = {}
    stop = threading.Event()

    def scheduler() -> None:
        # Cloud Scheduler: the first run at a random phase of the period, then every period.
        next_run = time.monotonic() + random.uniform(0, args.every)
        while not stop.is_set():
            stop.wait(max(0.0, next_run - time.monotonic()))
            if stop.is_set():
                return
            sweep = sweep_outbox(db, processor, org_id=org)
            print(
                f"  sweep at {time.monotonic() - started:6.1f} s: {sweep.done} change document(s) applied", flush=True
            )
            next_run += args.every

    def watcher() -> None:
        # Polls the change documents from the start: a line's window ends when its state leaves pending.
        changes = db.collection(f"organizations/{org}/record_changes")
        while not stop.is_set():
            for snap in changes.stream():
                doc = snap.to_dict() or {}
                if doc.get("state") != "pending":
                    # The change document names its record ids in its changes (JSON text).
                    for record_id in [r for r in list(committed) if f'"{r}"' in doc["changes"] and r not in applied]:
                        applied[record_id] = time.monotonic()
            stop.wait(0.25)

    started = time.monotonic()
    threading.Thread(target=scheduler, daemon=True).start()
    threading.Thread(target=watcher, daemon=True).start()
    print(
        f"storing {args.lines} lines over {args.spread:.0f} s with every trigger lost; sweep every "
        f"{args.every:.0f} s (delay {SWEEP_AFTER.total_seconds():.0f} s)"
    )
    for index, offset in enumerate(offsets):
        time.sleep(max(0.0, started + offset - time.monotonic()))
        body = event(org, f"d-{index}", 1, amount="10.00")
        store.apply(org, [Parsed(IngestLine(parse_event(raw(body))), raw(body))], reference, source="bench")
        committed[f"d-{index}"] = time.monotonic()
    deadline = time.monotonic() + args.every * 2 + 60
    while len(applied) < args.lines and time.monotonic() < deadline:
        time.sleep(0.25)
    stop.set()
    windows = sorted(applied[r] - committed[r] for r in applied)
    if len(windows) < args.lines:
        print(f"only {len(windows)} of {args.lines} lines applied before the deadline")
    bound = args.every + SWEEP_AFTER.total_seconds()
    print(
        f"drift window of a lost trigger over {len(windows)} lines: p50 {statistics.median(windows):.1f} s, "
        f"max {max(windows):.1f} s (bound: period {args.every:.0f} s + delay {SWEEP_AFTER.total_seconds():.0f} s "
        f"= {bound:.0f} s; before the outbox sweep: the nightly reconciliation, up to 24 h = 86,400 s)"
    )
    truth = AggregateStore(db, 8).shard_totals(org, AggregateKey("us-east", "2026-10", "actual"))
    print(
        f"aggregate after recovery: {truth.accounts.get('4100', 0)} minor units for {args.lines} lines of 1000 "
        f"({'exact' if truth.accounts.get('4100', 0) == 1000 * args.lines else 'NOT exact'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

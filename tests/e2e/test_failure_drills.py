"""Failure drills on the emulators: a stream of events meets dying function workers, then a restart of the
Functions emulator's runtime; afterwards the aggregates and BigQuery equal an independent ground truth.

Each drill names what recovers it:
- a killed worker during a Pub/Sub delivery: the delivery fails and Pub/Sub redelivers it with backoff
  (tools/stack/pubsub_delivery.cjs, as in production); the line already stored is a duplicate;
- a killed worker during a Firestore trigger (apply_record_changes): the change document stays pending
  or applied, and the outbox sweep (publish_pending_changes, fired here as Cloud Scheduler does) applies
  it exactly once and publishes it, or a later invocation of the org takes it along;
- a reload of the Functions emulator (every worker stopped, the triggers registered again): the same two.

Lean on purpose (CI budget): one small feed per drill, the sweep fired once, waits on positive signals.
A restart of the Pub/Sub emulator is not drilled: the emulator keeps no state across a restart (topics,
subscriptions and unacknowledged messages are lost, which production Pub/Sub never does) and firebase-tools
cannot restart it under a running stack; what Pub/Sub being unavailable does to the pipeline (a change
document left applied and republished by the outbox sweep) is tested in tests/integration/test_outbox.py
(docs/operations.md, "Failure drills").
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.bigquery_checks import latest_totals
from tests.firestore_events import run_scheduled
from tests.scenario import build_scenario
from tests.support import aggregate_drift, publish, seed_org, wait_for_events, wait_until
from tools.stack.provision import bigquery_client

pytestmark = [pytest.mark.emulators, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
KILLED_FUNCTIONS = (
    "ingest_financial_event",
    "apply_record_changes",
    "refresh_aggregate_views",
    "sink_changes_to_bigquery",
)
OUTBOX_SWEEP_INTERVAL = 5  # seconds between runs of the sweep (it takes documents older than SWEEP_AFTER, 20 s)


def workers(stack, function: str) -> list[int]:
    """Python worker processes of `function` in this stack's Functions emulator (never another stack's)."""
    port = f"FINANCE_FUNCTIONS_PORT={stack.config.ports['functions']}".encode()
    target = f"FUNCTION_TARGET={function}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if (
            target in environ
            and (port in environ or stack.config.uses_default_ports)
            and cwd == str(ROOT / "functions")
        ):
            found.append(int(pid))
    return found


def stream(stack, deliveries: list[bytes], seconds: float) -> threading.Thread:
    """Publish the deliveries evenly over `seconds`, in the background."""

    def run() -> None:
        pause = seconds / max(1, len(deliveries) // 10)
        for start in range(0, len(deliveries), 10):
            publish(stack, deliveries[start : start + 10])
            time.sleep(pause)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def recover_and_compare(stack, db, scenario, reference) -> dict[str, int]:
    """Wait for every delivery, let the outbox sweep finish what lost triggers left, compare with the truth."""
    began = time.monotonic()
    wait_for_events(db, scenario.org_id, scenario.org_deliveries, timeout=300)
    print(f"[drill] every delivery accounted for after {time.monotonic() - began:.1f} s")
    changes = db.collection(f"organizations/{scenario.org_id}/record_changes")

    def unfinished() -> list:
        return [s for s in changes.stream() if s.get("state") in ("pending", "applied")]

    before_sweep = len(unfinished())
    if before_sweep:
        # The recovering mechanism of a lost trigger: the sweep, which takes the documents once they
        # are old enough (SWEEP_AFTER). Run it until none is left unfinished.
        def swept() -> bool:
            response = run_scheduled(stack, "publish_pending_changes")
            assert response.status_code == 200, response.text
            return not unfinished()

        wait_until(swept, 120, interval=OUTBOX_SWEEP_INTERVAL, what="the outbox sweep to finish every change")
    expected = scenario.expected_totals(reference["fx_rates"])

    def aggregates_exact():
        docs = {s.id: s.to_dict() or {} for s in db.collection(f"organizations/{scenario.org_id}/aggregates").stream()}
        got = {
            tuple(doc_id.split("__")): {
                "accounts": {k: int(v) for k, v in d.get("accounts", {}).items() if int(v)},
                "record_count": d.get("record_count", 0),
            }
            for doc_id, d in docs.items()
        }
        return {k: v for k, v in got.items() if v["record_count"] or v["accounts"]} == expected

    try:
        wait_until(aggregates_exact, 180, 0.5, "the aggregates to equal the ground truth after recovery")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{aggregate_drift(db, scenario.org_id, expected)}") from None
    print(f"[drill] aggregates exact after {time.monotonic() - began:.1f} s")
    client = bigquery_client(stack.config)
    wait_until(
        lambda: latest_totals(client, scenario.org_id) == expected,
        180,
        1.0,
        "financial_records_latest to equal the ground truth after recovery",
    )
    print(f"[drill] BigQuery exact after {time.monotonic() - began:.1f} s")
    assert not [s.id for s in changes.stream() if s.get("state") in ("pending", "applied")]
    return {"unfinished_before_sweep": before_sweep}


def test_killed_workers_mid_stream_recover_by_redelivery_and_the_outbox_sweep(stack, db):
    org = f"drill-{uuid.uuid4().hex[:8]}"
    reference = seed_org(db, org)
    scenario = build_scenario(org, records=40, versions=(1, 3), invalid_share=0.0, seed=14)
    publisher = stream(stack, scenario.deliveries, seconds=8)
    # Each function's worker is killed once, in the middle of the stream (once the first tenth of it
    # is stored: workers are serving, not starting): its delivery in flight fails and the emulator
    # starts a new worker.
    wait_for_events(db, org, len(scenario.deliveries) // 10, timeout=120)
    killed: set[str] = set()
    deadline = time.monotonic() + 60
    while len(killed) < len(KILLED_FUNCTIONS) and time.monotonic() < deadline:
        for function in set(KILLED_FUNCTIONS) - killed:
            pids = workers(stack, function)
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.add(function)
        time.sleep(0.1)
    publisher.join()
    assert killed == set(KILLED_FUNCTIONS), f"the drill found workers of {sorted(killed)} only"
    recover_and_compare(stack, db, scenario, reference)


def test_a_reload_of_the_functions_emulator_mid_stream_recovers(stack, db):
    org = f"drill-{uuid.uuid4().hex[:8]}"
    reference = seed_org(db, org)
    scenario = build_scenario(org, records=30, versions=(1, 3), invalid_share=0.0, seed=15)
    main = ROOT / "functions" / "main.py"
    before = {pid for function in KILLED_FUNCTIONS for pid in workers(stack, function)}
    publisher = stream(stack, scenario.deliveries, seconds=6)
    # Mid-stream: once part of the deliveries has gone through.
    wait_for_events(db, org, len(scenario.deliveries) // 10, timeout=120)
    # The emulator watches the source: a touched main.py stops every worker and registers the triggers again.
    os.utime(main)
    publisher.join()
    wait_until(
        lambda: {pid for f in KILLED_FUNCTIONS for pid in workers(stack, f)} - before,
        120,
        0.5,
        "new workers after the reload",
    )
    recover_and_compare(stack, db, scenario, reference)

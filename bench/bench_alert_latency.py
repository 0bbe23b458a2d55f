"""Alert delivery latency on the local stack: publish of a breaching event -> the local webhook receives the alert.

Run with a stack up (`./dev up`): `.venv/bin/python bench/bench_alert_latency.py [--breaches 30] [--warmup 2]`.
Prints p50/p95/p99/max and the share of deliveries under the 2 s target; it asserts nothing.

Each breach is one ledger line of a fresh org pushed above a critical rule's threshold (the rule
has cooldown 0, the org's policy group_wait 0 for critical alerts and no group interval), so
every breach is a new firing episode that must reach the webhook; between breaches the line goes
back under the threshold and the alert resolves. Timestamps: the publish call returning (the
Pub/Sub emulator has the message), the alert's `fired_at` (clock of the function), and the
receipt in the webhook's handler, all on this machine's clock.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from google.cloud import pubsub_v1  # noqa: E402

from tests.alert_receivers import WebhookReceiver  # noqa: E402
from tests.support import event, seed_org  # noqa: E402
from tools.stack.emulators import LocalStack  # noqa: E402
from tools.stack.seed import firestore_client  # noqa: E402

THRESHOLD_MINOR = 100_000  # 1,000.00 USD
TARGET_SECONDS = 2.0


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--breaches", type=int, default=30, help="measured breaches")
    parser.add_argument("--warmup", type=int, default=2, help="breaches before measuring (worker start-up)")
    args = parser.parse_args()
    stack = LocalStack.running()
    db = firestore_client(stack.config)
    org_id = f"bench-alerts-{uuid.uuid4().hex[:8]}"
    rule = {
        "rule_id": "salaries-high",
        "name": "Salaries above 1,000",
        "type": "absolute",
        "severity": "critical",
        "target": {"entity_id": "us-east", "account_id": "6100"},
        "direction": "above",
        "threshold_minor": THRESHOLD_MINOR,
        "cooldown_seconds": 0,
        "channels": ["bench-hook"],
    }
    seed_org(db, org_id, rules=[rule])
    db.document(f"organizations/{org_id}/alert_settings/notification_policy").set(
        {
            "group_interval_seconds": 0,
            "max_notifications_per_hour": 100_000,
            "severity_overrides": {"critical": {"group_wait_seconds": 0}},
        }
    )
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(stack.config.project_id, "financial-events")
    alerts = db.collection(f"organizations/{org_id}/alerts")
    version = 0

    def send(amount: str) -> float:
        nonlocal version
        version += 1
        body = event(org_id, "bench-line", version, account="6100", amount=amount)
        publisher.publish(topic, json.dumps(body).encode(), org_id=org_id).result(timeout=30)
        return time.time()

    def alert() -> dict | None:
        docs = [s.to_dict() for s in alerts.stream()]
        return docs[0] if docs else None

    total, fired, delivered = [], [], []
    with WebhookReceiver() as hook:
        db.document(f"organizations/{org_id}/notification_channels/bench-hook").set(
            {"type": "webhook", "url": f"{hook.url}/bench"}
        )
        for index in range(args.warmup + args.breaches):
            received_before = len(hook.delivered())
            published = send("1500.00")
            wait_for(lambda before=received_before: len(hook.delivered()) > before, 60, f"notification {index + 1}")
            received = hook.delivered()[received_before].at
            doc = wait_for(lambda: (a := alert()) and a["status"] == "active" and a, 30, "the active alert")
            if index >= args.warmup:
                total.append(received - published)
                fired.append(doc["fired_at"].timestamp() - published)
                delivered.append(received - doc["fired_at"].timestamp())
            send("100.00")
            wait_for(lambda: (a := alert()) and a["status"] == "resolved", 60, "the resolution")
        extra = len(hook.delivered()) - (args.warmup + args.breaches)
    print(f"alert delivery latency, {len(total)} breaches after {args.warmup} warm-up (org {org_id})")
    print(f"{'stage':<38}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}  (ms)")
    for name, samples in (
        ("publish -> alert fired (Firestore)", fired),
        ("alert fired -> webhook received", delivered),
        ("publish -> webhook received", total),
    ):
        ms = [s * 1000 for s in samples]
        print(
            f"{name:<38}{percentile(ms, 0.5):>8.0f}{percentile(ms, 0.95):>8.0f}"
            f"{percentile(ms, 0.99):>8.0f}{max(ms):>8.0f}"
        )
    under = sum(1 for s in total if s < TARGET_SECONDS)
    print(
        f"mean {statistics.mean(total) * 1000:.0f} ms; under the {TARGET_SECONDS:.0f} s target: {under}/{len(total)} "
        f"= {under / len(total):.2f}; p99 / target = {percentile(total, 0.99) / TARGET_SECONDS:.2f}"
    )
    print(f"unexpected extra notifications: {extra}")


if __name__ == "__main__":
    main()

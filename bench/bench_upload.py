"""Large uploads and the demo history on the local stack: time to the answer, then to exact aggregates.

Run with a stack up (`./dev up`):
    .venv/bin/python bench/bench_upload.py [--rows 20000]

1. Upload: an editor (Auth emulator user) POSTs a CSV of `--rows` new ledger lines of the demo chart
   to `ingest_upload`; measured: the HTTP answer with its per-row report (every row stored), then
   every readable aggregate equal to the file's own totals (the same half-even conversion).
2. Demo history: the 1,521-line history of demo_data/ into a fresh org with the demo alert rules,
   published as records.batch messages as `./dev demo` does; measured from the first publish to
   every aggregate exact, kpis/current and the variance documents current, BigQuery's
   financial_records_latest holding every line, and every change message handled by the alert
   engine (each change document published and no alert document changing for 5 s).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

import requests  # noqa: E402
from google.cloud.firestore_v1.base_query import FieldFilter  # noqa: E402

from tests.auth_emulator import sign_up  # noqa: E402
from tests.bigquery_checks import clean_totals, firestore_aggregates, rows  # noqa: E402
from tests.support import seed_org  # noqa: E402
from tools.demo.alert_rules import demo_alert_rules  # noqa: E402
from tools.stack.emulators import LocalStack  # noqa: E402
from tools.stack.provision import bigquery_client  # noqa: E402
from tools.stack.seed import (  # noqa: E402
    applied_change_count,
    data_quality_total,
    demo_records,
    firestore_client,
    publish_batches,
    record_event,
    records_batches,
)

LEAVES = ["4100", "4200", "4300", "5100", "5200", "6100", "6200", "6300", "6400"]
ENTITIES = {"us-east": "USD", "us-west": "USD", "eu-central": "EUR"}


def expected_totals(lines: list[dict], fx_rates: dict) -> dict:
    """The aggregates a set of live lines must give: each converted on its own, half-even at cents."""
    totals: dict = defaultdict(lambda: {"accounts": defaultdict(int), "record_count": 0})
    for line in lines:
        rate = Decimal(1) if line["currency"] == "USD" else Decimal(fx_rates[line["period"]][line["currency"]])
        minor = int((Decimal(line["amount"]) * rate * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        for entity in (line["entity_id"], "_all"):
            slot = totals[(entity, line["period"], line["scenario"])]
            slot["accounts"][line["account_id"]] += minor
            slot["record_count"] += 1
    return clean_totals(totals)


def bench_upload(stack, db, rows_count: int) -> None:
    org_id = f"upload-{uuid.uuid4().hex[:8]}"
    reference = seed_org(db, org_id, all_periods_open=True)
    editor = sign_up(stack)
    db.document(f"organizations/{org_id}/members/{editor.uid}").set({"uid": editor.uid, "role": "editor"})
    rng = random.Random(20000)
    periods = ["2026-09", "2026-10", "2026-11", "2026-12"]
    lines = []
    for index in range(rows_count):
        entity = rng.choice(list(ENTITIES))
        lines.append(
            {
                "record_id": f"up-{index:06d}",
                "entity_id": entity,
                "account_id": rng.choice(LEAVES),
                "period": rng.choice(periods),
                "scenario": rng.choice(["actual", "budget", "forecast"]),
                "amount": f"{rng.randint(-50_000, 5_000_000) / 100:.2f}",
                "currency": ENTITIES[entity],
            }
        )
    header = "record_id,entity_id,account_id,period,scenario,amount,currency"
    body = "\n".join([header, *(",".join(line[k] for k in header.split(",")) for line in lines)]).encode()
    url = f"http://{stack.config.address('functions')}/{stack.config.project_id}/us-central1/ingest_upload"
    print(f"upload: {rows_count} rows, {len(body) / 1e6:.2f} MB CSV, org {org_id}")
    started = time.monotonic()
    response = requests.post(
        url,
        params={"org_id": org_id},
        data=body,
        timeout=1800,
        headers={"Authorization": f"Bearer {editor.id_token}", "Content-Type": "text/csv"},
    )
    answered = time.monotonic() - started
    report = response.json()
    print(
        f"  answered {response.status_code} after {answered:.1f} s ({rows_count / answered:,.0f} rows/s): "
        f"{report.get('counts')}"
    )
    expected = expected_totals(lines, reference["fx_rates"])
    while firestore_aggregates(db, org_id) != expected:
        time.sleep(1.0)
    exact = time.monotonic() - started
    print(f"  every aggregate exact after {exact:.1f} s ({rows_count / exact:,.0f} rows/s)")


def alerts_quiet_since(db, org_id: str) -> float:
    """Seconds since the org's last alert document changed (inf with none)."""
    snaps = list(db.collection(f"organizations/{org_id}/alerts").stream())
    if not snaps:
        return float("inf")
    last = max(s.update_time.timestamp() for s in snaps)
    return time.time() - last


def bench_demo_history(stack, db) -> None:
    org_id = f"history-{uuid.uuid4().hex[:8]}"
    reference = seed_org(db, org_id, all_periods_open=True, rules=demo_alert_rules())
    source = demo_records()
    events = [record_event(org_id, row) for row in source]
    expected = expected_totals(source, reference["fx_rates"])
    batches = records_batches(org_id, events, "history")
    print(
        f"demo history: {len(events)} lines in {len(batches)} records.batch messages, org {org_id}, "
        f"{len(demo_alert_rules())} alert rules"
    )
    client = bigquery_client(stack.config)
    started = time.monotonic()
    publish_batches(stack.config, batches)
    marks: dict[str, float] = {}
    deadline = started + 600
    while len(marks) < 5 and time.monotonic() < deadline:
        now = time.monotonic() - started
        if "stored" not in marks and data_quality_total(db, org_id) >= len(events):
            marks["stored"] = now
        if (
            "aggregates" not in marks
            and applied_change_count(db, org_id) >= len(events)
            and firestore_aggregates(db, org_id) == expected
        ):
            marks["aggregates"] = now
        if "aggregates" in marks and "kpis+variance" not in marks:
            kpis = db.document(f"organizations/{org_id}/kpis/current").get()
            variance = db.document(f"organizations/{org_id}/variance/_all__{reference['current_period']}").get()
            if kpis.exists and variance.exists and kpis.update_time.timestamp() >= time.time() - now - 1:
                marks["kpis+variance"] = now
        if "bigquery" not in marks and rows(
            client, "SELECT COUNT(*) AS n FROM `{ds}.financial_records_latest` WHERE org_id = @org", org_id
        )[0]["n"] == len(events):
            marks["bigquery"] = now
        if "aggregates" in marks and "alerts" not in marks:
            pending = list(
                db.collection(f"organizations/{org_id}/record_changes")
                .where(filter=FieldFilter("state", "in", ["pending", "applied"]))
                .limit(1)
                .stream()
            )
            quiet = alerts_quiet_since(db, org_id)
            if not pending and quiet != float("inf") and quiet >= 5:
                marks["alerts"] = now - quiet
        time.sleep(0.5)
    for name in ("stored", "aggregates", "kpis+variance", "bigquery", "alerts"):
        value = marks.get(name)
        print(f"  {name:<15} {'not reached' if value is None else f'{value:.1f} s'}")
    if len(marks) == 5:
        print(f"  whole pipeline  {max(marks.values()):.1f} s")
    active = [s.to_dict() for s in db.collection(f"organizations/{org_id}/alerts").stream()]
    print(f"  alerts: {sum(1 for a in active if a.get('status') == 'active')} active of {len(active)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--skip-history", action="store_true")
    args = parser.parse_args()
    stack = LocalStack.running()
    db = firestore_client(stack.config)
    if not args.skip_upload:
        bench_upload(stack, db, args.rows)
    if not args.skip_history:
        bench_demo_history(stack, db)
    return 0


if __name__ == "__main__":
    sys.exit(main())

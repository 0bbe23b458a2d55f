"""BigQuery metric values on the local stack: rows and requests per change, time until the view shows it, equality.

Needs a running stack with a seeded org (`./dev up`, `./dev seed`; default org: northwind). For each of
`--events` single events (revenue of the current month) it counts the `metric_values` rows and series writes
(= insertAll requests) they caused and the time from publishing until `metrics_latest` shows the new consolidated
revenue; then it compares every cell of the org's series with the view and times a full resend (`./dev replay`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from tests.bigquery_checks import metric_cell_mismatches, metrics_view_cells, rows, series_cells  # noqa: E402
from tools.stack.emulators import LocalStack  # noqa: E402
from tools.stack.provision import bigquery_client  # noqa: E402
from tools.stack.seed import firestore_client, publish_events, record_event  # noqa: E402

COUNTS = (
    "SELECT COUNT(*) AS n, COUNT(DISTINCT CONCAT(entity_id, '/', scenario, '/', CAST(series_version AS STRING)))"
    " AS writes FROM `{ds}.metric_values` WHERE org_id = @org"
)
REVENUE = (
    "SELECT value FROM `{ds}.metrics_latest` WHERE org_id = @org AND entity_id = '_all' AND scenario = 'actual'"
    " AND metric_id = 'revenue' AND period = DATE '%s-01'"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--org", default="northwind")
    parser.add_argument("--events", type=int, default=10)
    args = parser.parse_args()
    stack = LocalStack.running()
    db, client = firestore_client(stack.config), bigquery_client(stack.config)
    period = (db.document(f"organizations/{args.org}").get().to_dict() or {}).get("current_period")
    if not period:
        raise SystemExit(f"{args.org} is not seeded: run ./dev seed")
    per_event_rows, per_event_writes, latencies = [], [], []
    for n in range(args.events):
        before = rows(client, COUNTS, args.org)[0]
        start_value = rows(client, REVENUE % period, args.org)
        start_value = start_value[0]["value"] if start_value else 0
        line = {
            "record_id": f"bench-{uuid.uuid4().hex[:8]}",
            "entity_id": "us-east",
            "account_id": "4100",
            "period": period,
            "scenario": "actual",
            "amount": f"{100 + n}.25",
            "currency": "USD",
        }
        started = time.monotonic()
        publish_events(stack.config, [record_event(args.org, line)])
        while True:
            found = rows(client, REVENUE % period, args.org)
            if found and found[0]["value"] != start_value:
                latencies.append(time.monotonic() - started)
                break
            if time.monotonic() - started > 60:
                raise SystemExit("the change did not reach metrics_latest within 60 s")
            time.sleep(0.1)
        time.sleep(1.5)  # the other series write of the event (entity or consolidated) may land a moment later
        after = rows(client, COUNTS, args.org)[0]
        per_event_rows.append(after["n"] - before["n"])
        per_event_writes.append(after["writes"] - before["writes"])
    print(
        f"single events: {args.events}; metric_values rows per event: median {statistics.median(per_event_rows)} "
        f"(min {min(per_event_rows)}, max {max(per_event_rows)}); series writes = insertAll requests per event: "
        f"median {statistics.median(per_event_writes)}"
    )
    print(
        f"publish -> metrics_latest shows the new consolidated revenue: median {statistics.median(latencies):.2f} s, "
        f"max {max(latencies):.2f} s"
    )
    series = series_cells(db, args.org)
    money = {
        m
        for s in db.collection(f"organizations/{args.org}/metric_series").stream()
        for m, d in ((s.to_dict() or {}).get("definitions") or {}).items()
        if d.get("unit") == "money"
    }
    problems = metric_cell_mismatches(metrics_view_cells(client, args.org), series, money)
    print(f"cells of the series: {len(series):,}; differing from metrics_latest: {len(problems)} {problems[:3]}")
    functions_dir = str(ROOT / "functions")
    if functions_dir not in sys.path:
        sys.path.insert(0, functions_dir)
    stack.config.apply_client_env()
    from analytics_sink.triggers import metric_sink

    documents = [s.to_dict() or {} for s in db.collection(f"organizations/{args.org}/metric_series").stream()]
    started = time.monotonic()
    written = metric_sink().resend(args.org, documents, datetime.now(UTC))
    seconds = time.monotonic() - started
    print(
        f"resend of every cell ({len(documents)} series, one request each): {written:,} rows in {seconds:.2f} s "
        f"({written / seconds:,.0f} rows/s)"
    )


if __name__ == "__main__":
    main()

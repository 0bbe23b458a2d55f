"""Month-end bulk load on the local stack: lines/s to exact aggregates, writes and invocations per line.

Run with a stack up (`./dev up`):
    .venv/bin/python bench/bench_bulk.py [--lines 100000] [--batch-lines 1000]
    .venv/bin/python bench/bench_bulk.py --singles --lines 10000      # a burst of single events
    .venv/bin/python bench/bench_bulk.py --lines 20000 --dimensions 3  # every line carries 3 dimensions
    .venv/bin/python bench/bench_bulk.py --lines 100000 --dated        # every line carries a booking date

A fresh org with 5 entities (2 currencies), 12 open periods, 3 scenarios and 60 leaf accounts
gets a shuffled feed (versions, moves, deletes, 10% duplicated deliveries, 1% invalid), published
at once as records.batch messages (or, with --singles, as that many single events). The clock runs
from the first publish until every readable aggregate equals the ground truth, computed
independently of the pipeline (tests/scenario.py: each final record converted on its own, half-even
at cents, and summed), and then until BigQuery's financial_records_latest does too. In the same
run it measures the emulator's own batched-write rate (documents/s in commits of 400) for the
ratio. Writes per line are counted, not estimated: every commit of the functions logs the
documents it writes and deletes (functions/adapters/write_meter.py); invocations per line come
from the Functions emulator's own log (`Finished "<function>" in <ms>` lines). Prints figures and
ratios; asserts nothing. With --dimensions N the org declares N dimensions of --dimension-values
values each and every upsert carries all of them (a value drawn from its event id, so a record's
versions move between values); the clock then also waits until the dimension aggregates account
for every live record. With --dated every upsert carries a booking date inside its period (a day
drawn from its event id, so a record's versions move between days); the clock then also waits
until the daily totals account for every live record.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from google.cloud import pubsub_v1  # noqa: E402

from tests.scenario import SCENARIOS, Shape, build_scenario  # noqa: E402
from tools.stack.emulators import LocalStack  # noqa: E402
from tools.stack.meter import commits_since, debug_log_offset, invocations_since  # noqa: E402
from tools.stack.seed import (  # noqa: E402
    BATCHES_TOPIC,
    EVENTS_TOPIC,
    data_quality_total,  # noqa: E402
    firestore_client,
    write_reference,
)

PERIODS = tuple(f"2026-{month:02d}" for month in range(1, 13))
ENTITIES = {"us-east": "USD", "us-west": "USD", "us-central": "USD", "eu-central": "EUR", "eu-west": "EUR"}
# Parent account, type, number of leaves: 60 leaf accounts under six summary accounts.
CHART = [
    ("4000", "revenue", 15),
    ("5000", "cogs", 10),
    ("6000", "opex", 20),
    ("7000", "other_income", 5),
    ("8000", "other_expense", 5),
    ("9000", "tax", 5),
]
SHAPE = Shape(
    entities=ENTITIES,
    open_periods=PERIODS,
    closed_period="2025-06",
    leaf_accounts=tuple(f"{parent[0]}{n:03d}" for parent, _, leaves in CHART for n in range(1, leaves + 1)),
    summary_account="6000",
)


def bulk_reference(org_id: str) -> dict:
    """Reference data of the bench org (the shape above), in the seed's format."""
    accounts = []
    for parent, account_type, leaves in CHART:
        accounts.append(
            {"account_id": parent, "name": f"{account_type} total", "type": account_type, "parent_id": None}
        )
        accounts += [
            {
                "account_id": f"{parent[0]}{n:03d}",
                "name": f"{account_type} {n}",
                "type": account_type,
                "parent_id": parent,
            }
            for n in range(1, leaves + 1)
        ]
    rates = {period: {"EUR": str(Decimal("1.08") + Decimal(index) / 1000)} for index, period in enumerate(PERIODS)}
    periods = {period: {"status": "open"} for period in PERIODS} | {SHAPE.closed_period: {"status": "closed"}}
    return {
        "org": {"org_id": org_id, "name": "Bulk load bench", "reporting_currency": "USD", "fiscal_year_start_month": 1},
        "entities": [{"entity_id": e, "name": e, "parent_id": None, "currency": c} for e, c in ENTITIES.items()],
        "accounts": accounts,
        "fx_rates": rates,
        "periods": periods,
        "members": [],
        "current_period": "2026-12",
    }


def emulator_batched_write_rate(db, documents: int = 4000, per_commit: int = 400) -> float:
    """Documents/s the Firestore emulator writes in commits of `per_commit` (its own ceiling for us)."""
    collection = db.collection(f"bench/{uuid.uuid4().hex}/docs")
    started = time.perf_counter()
    for start in range(0, documents, per_commit):
        batch = db.batch()
        for index in range(start, min(documents, start + per_commit)):
            batch.set(collection.document(f"d{index}"), {"n": index, "amount_minor": index * 100})
        batch.commit()
    return documents / (time.perf_counter() - started)


def readable_aggregates(db, org_id: str) -> dict:
    got = {}
    for snap in db.collection(f"organizations/{org_id}/aggregates").stream():
        doc = snap.to_dict() or {}
        accounts = {k: int(v) for k, v in (doc.get("accounts") or {}).items() if int(v) != 0}
        if accounts or doc.get("record_count"):
            got[tuple(snap.id.split("__"))] = {"accounts": accounts, "record_count": int(doc.get("record_count") or 0)}
    return got


def bigquery_latest(config, org_id: str) -> dict:
    from tools.stack.provision import bigquery_client

    client = bigquery_client(config)
    sql = (
        f"SELECT entity_id, period, scenario, account_id, "
        f"SUM(reporting_amount) AS total, COUNT(*) AS n FROM `{config.project_id}.finance.financial_records_latest` "
        "WHERE org_id = @org GROUP BY 1, 2, 3, 4"
    )
    from google.cloud import bigquery

    job = client.query(
        sql,
        job_config=bigquery.QueryJobConfig(query_parameters=[bigquery.ScalarQueryParameter("org", "STRING", org_id)]),
    )
    got: dict = {}
    for row in job.result():
        minor = int(Decimal(row["total"]) * 100)
        for entity in (row["entity_id"], "_all"):
            key = (entity, row["period"].strftime("%Y-%m"), row["scenario"])
            slot = got.setdefault(key, {"accounts": {}, "record_count": 0})
            slot["accounts"][row["account_id"]] = slot["accounts"].get(row["account_id"], 0) + minor
            slot["record_count"] += int(row["n"])
    return {
        k: {"accounts": {a: m for a, m in v["accounts"].items() if m}, "record_count": v["record_count"]}
        for k, v in got.items()
    }


def with_dimensions(raw: bytes, count: int, values: int) -> bytes:
    """The delivery with `count` dimensions on its record, values drawn from its event id (copies agree)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(body, dict) or not isinstance(body.get("record"), dict):
        return raw
    digest = hashlib.blake2b(str(body.get("event_id")).encode(), digest_size=8).digest()
    body["record"]["dimensions"] = {f"dim{i + 1}": f"v{digest[i] % values}" for i in range(count)}
    return json.dumps(body).encode()


def with_date(raw: bytes) -> bytes:
    """The delivery with a booking date inside its period, the day drawn from its event id (copies agree)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(body, dict) or not isinstance(body.get("record"), dict):
        return raw
    period = body["record"].get("period")
    if not isinstance(period, str) or len(period) != 7:
        return raw
    digest = hashlib.blake2b(str(body.get("event_id")).encode(), digest_size=8).digest()
    body["record"]["date"] = f"{period}-{digest[0] % 28 + 1:02d}"
    return json.dumps(body).encode()


def dated_records(db, org_id: str) -> int:
    """Live records the days of the consolidated aggregates account for."""
    query = db.collection(f"organizations/{org_id}/aggregates").where("entity_id", "==", "_all")
    return sum(
        int(day.get("record_count") or 0)
        for snap in query.stream()
        for day in ((snap.to_dict() or {}).get("days") or {}).values()
    )


def dimension_records(db, org_id: str, dimension: str) -> int:
    """Live records the consolidated aggregates of one dimension account for."""
    query = (
        db.collection(f"organizations/{org_id}/dimension_aggregates")
        .where("dimension", "==", dimension)
        .where("entity_id", "==", "_all")
    )
    return sum(int((s.to_dict() or {}).get("record_count") or 0) for s in query.stream())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000, help="deliveries to publish (about)")
    parser.add_argument("--batch-lines", type=int, default=1000, help="lines per records.batch message")
    parser.add_argument("--singles", action="store_true", help="publish single events instead of batches (a burst)")
    parser.add_argument("--dimensions", type=int, default=0, help="declared dimensions every line carries (0-5)")
    parser.add_argument("--dimension-values", type=int, default=4, help="values of each dimension")
    parser.add_argument("--dated", action="store_true", help="every upsert carries a booking date (record.date)")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    stack = LocalStack.running()
    config = stack.config
    db = firestore_client(config)
    org_id = f"bulk-{uuid.uuid4().hex[:8]}"
    reference = bulk_reference(org_id)
    dimensions = [f"dim{i + 1}" for i in range(args.dimensions)]
    if dimensions:
        values = [f"v{n}" for n in range(args.dimension_values)]
        reference["org"]["dimensions"] = {name: {"label": name, "values": values} for name in dimensions}
    write_reference(db, org_id, reference)
    # About 2 versions per record, then 10% duplicated deliveries and 1% invalid messages.
    scenario = build_scenario(
        org_id,
        records=max(1, int(args.lines / 2.2)),
        seed=11,
        duplicate_share=0.10,
        invalid_share=0.01,
        versions=(1, 3),
        shape=SHAPE,
    )
    expected = scenario.expected_totals(reference["fx_rates"])
    deliveries_sent = (
        [with_dimensions(raw, args.dimensions, args.dimension_values) for raw in scenario.deliveries]
        if dimensions
        else list(scenario.deliveries)
    )
    if args.dated:
        deliveries_sent = [with_date(raw) for raw in deliveries_sent]
    live_records = sum(v["record_count"] for k, v in expected.items() if k[0] != "_all")
    print(
        f"bulk load on the local stack: org {org_id}, {len(scenario.deliveries)} deliveries "
        f"({len(scenario.valid_event_ids)} distinct valid events, {len(scenario.invalid_event_ids)} invalid, "
        f"{scenario.duplicate_copies} duplicated), {len(expected)} aggregate keys, "
        f"{len(ENTITIES)} entities x {len(PERIODS)} periods x {len(SCENARIOS)} scenarios x "
        f"{len(SHAPE.leaf_accounts)} accounts, "
        f"{len(dimensions)} dimensions x {args.dimension_values if dimensions else 0} values on every line"
        + (", a booking date on every line" if args.dated else "")
    )
    write_rate = emulator_batched_write_rate(db)
    print(f"  emulator batched writes (commits of 400)   {write_rate:,.0f} documents/s")

    publisher = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_messages=1000, max_bytes=9_000_000)
    )
    if args.singles:
        messages = [(EVENTS_TOPIC, raw) for raw in deliveries_sent]
    else:
        # Every delivery that is a JSON object becomes a line; a broken one can only travel alone.
        lines, singles = [], []
        for raw in deliveries_sent:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            (lines.append(body) if isinstance(body, dict) else singles.append(raw))
        batches = [
            {
                "type": "records.batch",
                "batch_id": f"close-{n // args.batch_lines:05d}",
                "org_id": org_id,
                "events": lines[n : n + args.batch_lines],
            }
            for n in range(0, len(lines), args.batch_lines)
        ]
        messages = [(BATCHES_TOPIC, json.dumps(b).encode()) for b in batches] + [(EVENTS_TOPIC, raw) for raw in singles]
    log_offset = debug_log_offset()
    started_wall = time.time()
    started = time.monotonic()
    futures = [
        publisher.publish(publisher.topic_path(config.project_id, topic), data, org_id=org_id)
        for topic, data in messages
    ]
    for future in futures:
        future.result(timeout=300)
    published = time.monotonic() - started
    print(f"  published {len(messages)} messages in {published:.1f} s")

    deliveries = scenario.org_deliveries
    last_report = 0.0
    while True:
        elapsed = time.monotonic() - started
        total = data_quality_total(db, org_id)
        got = readable_aggregates(db, org_id) if total >= deliveries else {}
        if got == expected:
            firestore_seconds = elapsed
            break
        if elapsed - last_report >= 10:
            last_report = elapsed
            matching = sum(1 for k, v in got.items() if expected.get(k) == v)
            print(
                f"  {elapsed:6.0f} s: {total}/{deliveries} deliveries accounted for, "
                f"{matching}/{len(expected)} aggregates exact",
                flush=True,
            )
        if elapsed > args.timeout:
            print(f"timed out after {elapsed:.0f} s", file=sys.stderr)
            return 1
        time.sleep(1.0)
    rate = len(scenario.deliveries) / firestore_seconds
    print(
        f"  every aggregate exact in Firestore after {firestore_seconds:.1f} s: {rate:,.0f} lines/s "
        f"(ratio to the emulator's batched writes: {rate / write_rate:.3f})"
    )
    while args.dated and dated_records(db, org_id) != live_records:
        if time.monotonic() - started > args.timeout:
            print("the daily totals never accounted for every record", file=sys.stderr)
            return 1
        time.sleep(1.0)
    if args.dated:
        print(f"  every day folded after {time.monotonic() - started:.1f} s ({live_records:,} dated records)")
    while dimensions and any(dimension_records(db, org_id, d) != live_records for d in dimensions):
        if time.monotonic() - started > args.timeout:
            print("the dimension aggregates never accounted for every record", file=sys.stderr)
            return 1
        time.sleep(1.0)
    if dimensions:
        dimension_seconds = time.monotonic() - started
        keys = sum(1 for _ in db.collection(f"organizations/{org_id}/dimension_aggregates").select([]).stream())
        print(
            f"  every dimension aggregate folded after {dimension_seconds:.1f} s "
            f"({len(scenario.deliveries) / dimension_seconds:,.0f} lines/s; {keys:,} dimension aggregate keys "
            f"beside {len(expected)} aggregate keys)"
        )
    while bigquery_latest(config, org_id) != expected:
        if time.monotonic() - started > args.timeout:
            print("BigQuery never matched", file=sys.stderr)
            return 1
        time.sleep(2.0)
    bigquery_seconds = time.monotonic() - started
    print(
        f"  financial_records_latest exact in BigQuery after {bigquery_seconds:.1f} s "
        f"({len(scenario.deliveries) / bigquery_seconds:,.0f} lines/s)"
    )
    time.sleep(5)  # let the last consumers finish before counting what they did
    meter = commits_since(started_wall)
    counts, millis = invocations_since(log_offset)
    lines_count = len(scenario.deliveries)
    writes = sum(meter.writes.values())
    deletes = sum(meter.deletes.values())
    invocations = sum(counts.values())
    print(
        f"  Firestore document writes per line        {writes / lines_count:.2f} ({writes:,} writes, "
        f"{deletes:,} deletes = {deletes / lines_count:.2f} per line)"
    )
    for function in sorted(meter.commits):
        print(
            f"    {function:<32} {meter.writes[function]:>9,} writes {meter.deletes[function]:>7,} deletes "
            f"{meter.commits[function]:>6,} commits ({meter.failed[function]:,} failed)"
        )
    print(f"  function invocations per line             {invocations / lines_count:.3f} ({invocations:,})")
    for function, count in counts.most_common():
        print(f"    {function:<32} {count:>7,} invocations, {millis[function] / count:8.0f} ms each")
    return 0


if __name__ == "__main__":
    sys.exit(main())

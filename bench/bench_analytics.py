"""Analytics sink figures on the local stack: streaming insert rates, backfill (replay) rate, view query times.

Needs a running stack (`./dev up`). Writes only to a scratch BigQuery dataset it deletes at the
end; reads the Firestore records of an existing org for the replay figure (`--org`, default: the
org with the most records among the first 200 organisations).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]


from tools.stack.emulators import LocalStack  # noqa: E402
from tools.stack.provision import ProvisionReport, provision_bigquery, resources  # noqa: E402


def _rows(count: int, org: str):
    from finance_core.facts import fact_row
    from finance_core.records import RecordState

    now = datetime.now(UTC)
    for i in range(count):
        cents = 10_000 + i
        state = RecordState(
            org,
            f"r{i}",
            1,
            f"e{i}",
            entity_id="us-east",
            account_id="4100",
            period="2026-10",
            scenario="actual",
            amount=Decimal(cents).scaleb(-2),
            currency="USD",
            amount_minor=cents,
            reporting_amount_minor=cents,
            occurred_at=now.isoformat(),
        )
        yield fact_row(
            state,
            op="upsert",
            version=1,
            event_id=f"{org}-e{i}",
            account_type="revenue",
            reporting_currency="USD",
            ingested_at=now,
        )


def _biggest_org(db) -> str:
    best, size = None, -1
    for org in list(db.collection("organizations").list_documents())[:200]:
        count = db.collection(f"{org.path}/financial_records").count().get()[0][0].value
        if count > size:
            best, size = org.id, count
    if best is None:
        raise SystemExit("no organisation with records: seed one with ./dev seed")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--org", default=None, help="org whose Firestore records the replay reads")
    parser.add_argument("--single", type=int, default=200, help="rows written one request each")
    parser.add_argument("--batched", type=int, default=5000, help="rows written in batches of 500")
    args = parser.parse_args()

    stack = LocalStack.running()
    from adapters.clients import bigquery_client, firestore_client
    from adapters.runtime import reference_store
    from analytics_sink.replay import FactReplayer
    from analytics_sink.writer import FactWriter

    client = bigquery_client()
    name = f"bench_{uuid.uuid4().hex[:8]}"
    dataset = f"{stack.config.project_id}.{name}"
    try:
        provision_bigquery(stack.config, ProvisionReport(), client, dataset_name=name)
        writer = FactWriter(client, f"{dataset}.financial_facts")

        single = list(_rows(args.single, "bench-single"))
        started = time.perf_counter()
        for row in single:
            assert not writer.write([row]).failed
        single_rate = len(single) / (time.perf_counter() - started)

        batched = list(_rows(args.batched, "bench-batched"))
        started = time.perf_counter()
        result = writer.write(batched)
        assert not result.failed
        batched_rate = len(batched) / (time.perf_counter() - started)

        db = firestore_client()
        org = args.org or _biggest_org(db)
        replayer = FactReplayer(db, client, writer, reference_store())
        started = time.perf_counter()
        report = replayer.run(org)
        replay_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = replayer.run(org)
        again_seconds = time.perf_counter() - started

        timings = {}
        for view in resources()["bigquery"]["views"]:
            started = time.perf_counter()
            list(client.query(f"SELECT * FROM `{dataset}.{view['name']}`").result())
            timings[view["name"]] = time.perf_counter() - started

        print("Analytics sink on the local BigQuery emulator")
        print(
            f"  streaming, one row per request (what the trigger does): {single_rate:,.0f} rows/s "
            f"({1000 / single_rate:.1f} ms per insert, {args.single} rows)"
        )
        print(
            f"  streaming, batches of 500 (replay and dead-letter paths): {batched_rate:,.0f} rows/s "
            f"({args.batched} rows); ratio batched / single {batched_rate / single_rate:.0f}x"
        )
        print(
            f"  replay of org {org}: {report.records} records -> {report.written} rows in {replay_seconds:.2f}s "
            f"({report.written / replay_seconds:,.0f} rows/s including the Firestore and BigQuery reads)"
        )
        print(f"  replay again (idempotent): {again.written} rows written, plan in {again_seconds:.2f}s")
        total = args.single + args.batched + report.written
        print(
            f"  view queries over {total:,} fact rows: "
            + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in timings.items())
        )
    finally:
        client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


if __name__ == "__main__":
    main()

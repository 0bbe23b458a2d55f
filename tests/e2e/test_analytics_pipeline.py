"""BigQuery fan-out and trends through the real triggers: exactly once in the views, replay, outage, debounce.

Events go through the whole pipeline (ingestion -> records -> on_record_written -> the change
topic -> sink_changes_to_bigquery / refresh_trends); the BigQuery views are compared with the
Firestore aggregates and with finance_core computed from the same records.
"""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from finance_core.accounts import ChartOfAccounts
from finance_core.aggregates import AggregateKey
from finance_core.analytics_rows import FinancialFact
from finance_core.changes import decode_change_message
from finance_core.metrics import MetricGraph
from finance_core.trend_series import trend_documents
from finance_core.variance import account_variances
from google.cloud import bigquery, pubsub_v1
from trends.triggers import trend_requests

from tests.bigquery_checks import (
    Totals,
    assert_pnl_row_equals_core,
    cents,
    clean_totals,
    firestore_aggregates,
    latest_totals,
    rows,
)
from tests.support import (
    aggregate_drift,
    event,
    publish,
    published_change_messages,
    seed_org,
    wait_for_events,
    wait_until,
)
from tools.replay import drain_dead_letters, replay_org
from tools.stack.provision import bigquery_client
from tools.stack.seed import applied_change_count, demo_records, record_event

# The shared local stack's serial record trigger can lag minutes behind under other test runs:
# waits are driven by progress, within this budget per test (fixture setup included).
pytestmark = [pytest.mark.emulators, pytest.mark.timeout(1800)]

DATASET = "finance"
CHANGES_TOPIC = "financial-record-changes"


# --- reading both sides ---------------------------------------------------------------------------


def bq(stack) -> bigquery.Client:
    return bigquery_client(stack.config)


def firestore_records(db, org_id: str) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() for s in db.collection(f"organizations/{org_id}/financial_records").stream()}


def record_totals(records: dict[str, dict[str, Any]]) -> Totals:
    """Totals computed by the core's arithmetic from the Firestore records themselves."""
    totals: Totals = defaultdict(lambda: {"accounts": defaultdict(int), "record_count": 0})
    for record in records.values():
        for entity in (record["entity_id"], "_all"):
            key = (entity, record["period"], record["scenario"])
            totals[key]["accounts"][record["account_id"]] += int(record["reporting_amount_minor"])
            totals[key]["record_count"] += 1
    return clean_totals(totals)


def latest_state(client: bigquery.Client, org_id: str) -> dict[str, tuple]:
    return {
        r["record_id"]: (r["version"], r["event_id"], r["reporting_amount"], r["account_id"], r["period"])
        for r in rows(client, "SELECT * FROM `{ds}.financial_records_latest` WHERE org_id = @org", org_id)
    }


def facts_count(client: bigquery.Client, org_id: str) -> int:
    return rows(client, "SELECT COUNT(*) AS n FROM `{ds}.financial_facts` WHERE org_id = @org", org_id)[0]["n"]


def wait_latest_equals_firestore(client, db, org_id: str, timeout: float = 300) -> Totals:
    def check():
        expected = record_totals(firestore_records(db, org_id))
        return expected if latest_totals(client, org_id) == expected else None

    return wait_until(check, timeout, interval=1.0, what=f"financial_records_latest of {org_id} to equal Firestore")


# --- exactly once -------------------------------------------------------------------------------


def test_latest_totals_equal_the_firestore_aggregates_after_the_integrator_scenario_and_duplicates(
    integrator_scenario, stack, db
):
    scenario, reference = integrator_scenario
    org = scenario.org_id
    client = bq(stack)
    expected = scenario.expected_totals(reference["fx_rates"])
    wait_until(
        lambda: latest_totals(client, org) == expected,
        600,
        interval=2.0,
        what="the latest view to equal the scenario's ground truth",
    )
    try:
        wait_until(
            lambda: firestore_aggregates(db, org) == expected,
            300,
            interval=2.0,
            what="the Firestore aggregates to equal the ground truth",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{aggregate_drift(db, org, expected)}") from None

    # The fan-out invoked again for some changes (their messages republished: every consumer sees
    # them twice), and some rows written twice straight into the table.
    before = facts_count(client, org)
    # Batches and coalescing make few messages of many changes each: republish up to 20 of them.
    changes = list(published_change_messages(db, org).items())[:20]
    assert changes
    republished_rows = sum(len(decode_change_message(data).changes) for _, data in changes)
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(stack.config.project_id, CHANGES_TOPIC)
    for future in [publisher.publish(topic, data, org_id=org, change_id=change_id) for change_id, data in changes]:
        future.result(timeout=60)
    copies = rows(client, "SELECT * FROM `{ds}.financial_facts` WHERE org_id = @org LIMIT 20", org)
    assert (
        client.insert_rows_json(
            f"{stack.config.project_id}.{DATASET}.financial_facts",
            [FinancialFact(**r).model_dump(mode="json") for r in copies],
        )
        == []
    )
    wait_until(
        lambda: facts_count(client, org) >= before + republished_rows + 20,
        300,
        interval=1.0,
        what="the republished changes to be streamed again",
    )
    assert latest_totals(client, org) == expected == firestore_aggregates(db, org)
    latest = latest_state(client, org)
    assert set(latest) == set(scenario.final_records)
    assert rows(client, "SELECT COUNT(*) AS n FROM `{ds}.financial_records_latest` WHERE org_id = @org", org)[0][
        "n"
    ] == len(scenario.final_records)


# --- the demo data set: P&L and budget variance as the core computes them ---------------------------

DEMO_PERIODS = ("2026-09", "2026-10", "2026-11", "2026-12")


def wait_applied(db, org_id: str, expected: int, stall: float = 180, cap: float = 1200) -> int:
    """Wait until the record trigger applied `expected` changes of the org, as long as it progresses.

    Returns how many it applied: fewer only when nothing moved for `stall` seconds (the local
    Firestore emulator never redelivers a record trigger that failed, e.g. in a worker reloaded
    mid-invocation by another engineer's edit).
    """
    deadline = time.monotonic() + cap
    last, moved = -1, time.monotonic()
    while time.monotonic() < deadline:
        applied = applied_change_count(db, org_id)
        if applied >= expected:
            return applied
        if applied != last:
            last, moved = applied, time.monotonic()
        elif time.monotonic() - moved > stall:
            return applied
        time.sleep(2)
    return last


@pytest.fixture(scope="module")
def demo_org(stack, db):
    """A test org with the demo reference and the demo records of a few periods, through the pipeline.

    Returns (org, reference, records, complete): `complete` is False when the record trigger lost
    changes upstream of the sink; the replay then backfilled BigQuery from the records (what it is
    for), and the Firestore aggregates lack those changes until the nightly reconciliation.
    """
    import uuid

    org = f"demo-{uuid.uuid4().hex[:10]}"
    reference = seed_org(db, org, all_periods_open=True)
    ledger = [row for row in demo_records() if row["period"] in DEMO_PERIODS]
    started = time.monotonic()
    publish(stack, [record_event(org, row) for row in ledger])
    wait_for_events(db, org, len(ledger), timeout=300)
    applied = wait_applied(db, org, len(ledger))
    client = bq(stack)
    complete = applied >= len(ledger)
    note = "all streamed"
    if not complete:
        report = replay_org(stack.config, org, show_progress=False)
        note = f"the record trigger lost {len(ledger) - applied} changes; the replay wrote {report.written} rows"
    wait_latest_equals_firestore(client, db, org, timeout=300)
    print(f"\n[demo org] {len(ledger)} records in BigQuery after {time.monotonic() - started:.0f}s ({note})")
    return org, reference, len(ledger), complete


def test_pnl_monthly_equals_the_core_and_the_dashboard_for_the_demo_data(demo_org, stack, db):
    org, reference, _, complete = demo_org
    client = bq(stack)
    chart = ChartOfAccounts.from_documents({a["account_id"]: a for a in reference["accounts"]})
    graph = MetricGraph()
    compared_with_dashboard = 0
    totals = record_totals(firestore_records(db, org))
    got = {
        (r["entity_id"], r["period"].strftime("%Y-%m"), r["scenario"]): r
        for r in rows(client, "SELECT * FROM `{ds}.pnl_monthly` WHERE org_id = @org", org)
    }
    assert set(got) == set(totals) and len(got) >= 4 * 4 * 2
    if complete:  # the readable aggregates are folded by another consumer of the same messages
        wait_until(
            lambda: firestore_aggregates(db, org) == totals,
            300,
            interval=1.0,
            what="the dashboard's aggregates to include every change",
        )
    aggregates = {s.id: s.to_dict() for s in db.collection(f"organizations/{org}/aggregates").stream()}
    for key, total in totals.items():
        row = got[key]
        assert_pnl_row_equals_core(row, key, total["accounts"], total["record_count"], chart, graph)
        # ... and what the dashboard reads from Firestore for the same key (every key, unless the
        # record trigger lost changes upstream: then the keys it fully applied).
        aggregate = aggregates[AggregateKey(*key).doc_id]
        if complete or aggregate["record_count"] == total["record_count"]:
            shown = aggregate["metrics"]
            assert cents(row["net_income"]) == shown["net_income"], key
            if shown["gross_margin_pct"] is not None:
                assert Decimal(row["gross_margin_pct"]) == Decimal(str(shown["gross_margin_pct"])), key
            compared_with_dashboard += 1
    assert compared_with_dashboard == len(totals) if complete else compared_with_dashboard > 0


def test_budget_variance_equals_the_core_variance_for_the_demo_data(demo_org, stack, db):
    org, reference, _, complete = demo_org
    client = bq(stack)
    chart = ChartOfAccounts.from_documents({a["account_id"]: a for a in reference["accounts"]})
    totals = record_totals(firestore_records(db, org))
    got = {
        (r["entity_id"], r["period"].strftime("%Y-%m"), r["account_id"]): r
        for r in rows(client, "SELECT * FROM `{ds}.budget_variance` WHERE org_id = @org", org)
    }
    expected = {}
    for entity, period in {(k[0], k[1]) for k in totals}:
        actual = totals.get((entity, period, "actual"), {}).get("accounts", {})
        budget = totals.get((entity, period, "budget"), {}).get("accounts", {})
        expected.update({(entity, period, line.account_id): line for line in account_variances(actual, budget, chart)})
    assert set(got) == set(expected) and len(expected) > 100
    for key, line in expected.items():
        row = got[key]
        assert (cents(row["actual"]), cents(row["budget"]), cents(row["variance"])) == (
            line.actual_minor,
            line.comparison_minor,
            line.variance_minor,
        ), key
        assert (None if row["variance_pct"] is None else Decimal(row["variance_pct"])) == line.variance_pct, key
        assert row["favourable"] is line.favourable, key
    # The dashboard's variance document of one entity and period shows the same top lines.
    if not complete:
        return  # the aggregates lack what the record trigger lost (see demo_org)

    def shown_matches():
        doc = db.document(f"organizations/{org}/variance/_all__2026-10").get().to_dict() or {}
        top = doc.get("vs_budget", {}).get("top", [])
        return top and all(
            cents(got[("_all", "2026-10", line["account_id"])]["variance"]) == line["variance_minor"]
            and got[("_all", "2026-10", line["account_id"])]["favourable"] is line["favourable"]
            for line in top
        )

    wait_until(shown_matches, 300, interval=1.0, what="the dashboard's variance document to show the same lines")


def test_account_trends_runs_on_the_demo_data(demo_org, stack):
    org, _, _, _ = demo_org
    trend_rows = rows(
        bq(stack),
        "SELECT * FROM `{ds}.account_trends` WHERE org_id = @org "
        "AND entity_id = '_all' AND account_id = '4100' ORDER BY period",
        org,
    )
    periods = [r["period"].strftime("%Y-%m") for r in trend_rows]
    assert periods == sorted(periods) and set(periods) <= set(DEMO_PERIODS) and len(periods) >= 2
    second = trend_rows[1]
    assert cents(second["previous_month"]) == cents(trend_rows[0]["amount"])
    assert second["mom_growth_pct"] is not None and second["same_month_last_year"] is None


# --- replay / backfill ------------------------------------------------------------------------------


def test_replay_is_idempotent_and_repairs_lost_rows_lost_deletes_and_strays(demo_org, stack, db):
    org, _, records, _ = demo_org
    client = bq(stack)
    table = f"{stack.config.project_id}.{DATASET}.financial_facts"
    before = latest_state(client, org)
    first = replay_org(stack.config, org, show_progress=False)
    assert (first.plan.current, first.written, first.failed) == (records, 0, {}), first.summary()
    assert latest_state(client, org) == before

    # Lose the streamed rows of 25 records, a delete's row, and let a stray row appear.
    lost = sorted(before)[:25]
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter("org", "STRING", org),
            bigquery.ArrayQueryParameter("ids", "STRING", lost),
        ]
    )
    victim = sorted(before)[30]
    publish(
        stack,
        [
            {
                "event_id": f"{victim}-gone",
                "type": "record.deleted",
                "org_id": org,
                "record_id": victim,
                "version": 2,
                "occurred_at": "2026-11-20T10:00:00Z",
            }
        ],
    )
    wait_until(lambda: victim not in latest_state(client, org), 300, what="the delete to be streamed")

    def lose_the_rows() -> bool:
        # Delivery is at least once: a redelivered change (a worker connection reset mid-call) can
        # stream a row again after it was removed; remove them until the loss holds.
        client.query(
            f"DELETE FROM `{table}` WHERE org_id = @org AND record_id IN UNNEST(@ids)", job_config=config
        ).result()
        client.query(f"DELETE FROM `{table}` WHERE org_id = @org AND op = 'delete'", job_config=config).result()
        state = latest_state(client, org)
        return victim in state and not set(lost) & set(state)

    wait_until(lose_the_rows, 120, interval=2.0, what="the lost rows and the delete's row to stay lost")
    stray = FinancialFact(**rows(client, "SELECT * FROM `{ds}.financial_facts` WHERE org_id = @org LIMIT 1", org)[0])
    client.insert_rows_json(
        table,
        [stray.model_copy(update={"record_id": "not-in-firestore", "event_id": "stray-1"}).model_dump(mode="json")],
    )
    damaged = latest_state(client, org)
    assert victim in damaged and "not-in-firestore" in damaged and not set(lost) & set(damaged)

    started = time.monotonic()
    repair = replay_org(stack.config, org, show_progress=False)
    elapsed = time.monotonic() - started
    assert (repair.plan.upserts, repair.plan.deletes, repair.written) == (25, 2, 27), repair.summary()
    expected = {k: v for k, v in before.items() if k != victim}
    assert latest_state(client, org) == expected
    assert latest_totals(client, org) == record_totals(firestore_records(db, org))
    again = replay_org(stack.config, org, show_progress=False)
    assert (again.written, len(again.plan.rows)) == (0, 0), again.summary()
    assert latest_state(client, org) == expected
    print(f"\n[replay] planned and wrote 27 rows of {records} records in {elapsed:.2f}s")


# --- BigQuery outage --------------------------------------------------------------------------------


def test_a_bigquery_outage_loses_nothing_once_the_dead_letters_are_replayed(stack, db, org_id):
    seed_org(db, org_id)
    client = bq(stack)
    publish(stack, [event(org_id, f"r{i}", 1, amount=f"{100 + i}.00") for i in range(4)])
    wait_for_events(db, org_id, 4)
    wait_latest_equals_firestore(client, db, org_id)

    during = [
        event(org_id, "r0", 2, amount="999.99"),
        event(org_id, "r1", 2, delete=True),
        event(org_id, "r9", 1, account="6100", amount="42.00"),
    ]
    health = f"organizations/{org_id}/data_quality/analytics_sink"
    started = time.monotonic()
    with stack.bigquery_outage():
        publish(stack, during)
        wait_for_events(db, org_id, 4 + len(during), timeout=300)
        # Every change made during the outage is parked (capped, to keep the shared stack's outage short).
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if int((db.document(health).get().to_dict() or {}).get("parked", 0)) >= len(during):
                break
            time.sleep(0.5)
    outage = time.monotonic() - started
    parked = int((db.document(health).get().to_dict() or {}).get("parked", 0))
    assert parked >= 1, "no change was parked during the outage"
    assert "BigQuery unavailable" in db.document(health).get().get("last_reason")

    report = drain_dead_letters(stack.config, show_progress=False)
    assert report.written >= parked, report.summary()
    wait_latest_equals_firestore(client, db, org_id, timeout=120)
    latest = latest_state(client, org_id)
    assert set(latest) == {"r0", "r2", "r3", "r9"} and latest["r0"][2] == Decimal("999.99")
    print(f"\n[outage] BigQuery down {outage:.1f}s, {parked} changes parked, drained: {report.summary()}")


# --- trends: debounced --------------------------------------------------------------------------------


def _expected_trends(db, org_id: str, reference: dict[str, Any]) -> dict[str, dict[str, Any]]:
    chart = ChartOfAccounts.from_documents({a["account_id"]: a for a in reference["accounts"]})
    totals: dict[str, dict[str, int]] = {p: {} for p in reference["periods"]}
    counts: dict[str, int] = defaultdict(int)
    for record in firestore_records(db, org_id).values():
        if record["scenario"] == "actual":
            accounts = totals.setdefault(record["period"], {})
            account = record["account_id"]
            accounts[account] = accounts.get(account, 0) + int(record["reporting_amount_minor"])
            counts[record["period"]] += 1
    return trend_documents(totals, counts, chart, reference["org"]["reporting_currency"])


def test_a_burst_of_changes_yields_few_trend_computations_and_the_final_trends_reflect_all(stack, db, org_id):
    reference = seed_org(db, org_id, all_periods_open=True)
    periods = [f"2026-{m:02d}" for m in range(1, 9)]
    burst = []
    for m, period in enumerate(periods, 1):
        burst.append(event(org_id, f"p-{period}", 1, account="4100", period=period, amount=f"{1000 * m}.00"))
        burst.append(event(org_id, f"s-{period}", 1, account="4200", period=period, amount=f"{500 + 40 * m}.00"))
        burst.append(event(org_id, f"c-{period}", 1, account="5100", period=period, amount=f"{300 * m}.50"))
        burst.append(event(org_id, f"p-{period}", 2, account="4100", period=period, amount=f"{1100 * m}.00"))
        burst.append(event(org_id, f"b-{period}", 1, account="4100", period=period, scenario="budget", amount="1.00"))
    burst.append(event(org_id, f"s-{periods[-1]}", 2, delete=True))
    changes = len(burst)
    publish(stack, burst)
    wait_for_events(db, org_id, changes, timeout=600)
    # Delivery order is not publish order: a v1 landing after its v2 is stale and changes nothing,
    # so the count of applied changes is not known up front. The aggregates matching the records is.
    wait_until(
        lambda: firestore_aggregates(db, org_id) == record_totals(firestore_records(db, org_id)),
        600,
        interval=1.0,
        what="the aggregates to reflect every record",
    )
    request = db.document(f"organizations/{org_id}/trend_requests/consolidated")
    # Run the sweep's step for this org (the trailing edge) until it has computed after the last
    # request: inside the debounce window it leaves the request pending, after it it computes. The
    # local emulator has no scheduler, and the deployed sweep visits every org of the shared
    # emulator, so its per-org step runs here with the functions' own code and clients.
    wait_until(
        lambda: (d := request.get().to_dict()) and not d.get("lease_until") and d,
        120,
        what="no trend computation running",
    )

    def swept() -> dict | None:
        trend_requests().sweep_org(org_id)
        state = request.get().to_dict() or {}
        return state if state.get("computed_at") and state["computed_at"] > state["requested_at"] else None

    state = wait_until(swept, 120, interval=1.0, what="a computation started after the last request")
    computations, requests = state["computations"], state["requests"]
    actual_changes = changes - len(periods)  # budget changes do not request trends
    assert computations <= max(8, actual_changes // 4), (computations, requests, actual_changes)
    assert requests <= actual_changes

    expected = _expected_trends(db, org_id, reference)
    # The cash forecast (kind "cash") rides the same computation; its figures are checked by the
    # core's unit tests and the days browser test (tests/web/test_days_and_drilldown.py).
    stored = {
        s.id: s.to_dict() for s in db.collection(f"organizations/{org_id}/trends").stream() if s.get("kind") != "cash"
    }
    assert set(stored) == set(expected)
    for doc_id, body in expected.items():
        assert {k: stored[doc_id].get(k) for k in body} == body, doc_id
    product = stored["4100"]
    assert [p["value_minor"] for p in product["series"]] == [110000 * m for m in range(1, 9)]
    assert product["pattern"] == "increasing" and [f["period"] for f in product["forecast"]] == [
        "2026-09",
        "2026-10",
        "2026-11",
    ]
    assert stored["4200"]["last_period"] == "2026-08" and stored["4200"]["series"][-1]["value_minor"] == 0
    print(f"\n[trends] {actual_changes} actual changes -> {requests} requests -> {computations} computations")

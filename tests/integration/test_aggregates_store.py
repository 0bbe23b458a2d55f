"""Sharded aggregates on the real Firestore emulator: hot keys, exactly-once application, reconciliation."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from adapters.reference_store import ReferenceStore
from adapters.settings import hot_document_interval
from aggregations.derived import DerivedDocuments
from aggregations.reconcile import Reconciler
from aggregations.store import AggregateStore
from finance_core.aggregates import AggregateDelta, AggregateKey
from finance_core.metric_rows import series_id, value_at

from tests.support import aggregate, event, publish, seed_org, wait_for_events, wait_until
from tools.stack.seed import applied_change_count

pytestmark = pytest.mark.emulators

KEY = AggregateKey("us-east", "2026-10", "actual")


def test_concurrent_writers_on_one_hot_key_end_exact_without_failed_transactions(stack, db, org_id):
    reference = seed_org(db, org_id)
    store = AggregateStore(db, shard_count=8)
    chart = ReferenceStore(db).get(org_id).chart
    failures: list[BaseException] = []
    writers, changes_each = 8, 25

    def writer(index: int) -> None:
        try:
            for n in range(changes_each):
                change_id = f"w{index}-c{n}"
                delta = {
                    KEY: AggregateDelta({"4100": 100 + index}, 1),
                    KEY.consolidated(): AggregateDelta({"4100": 100 + index}, 1),
                }
                assert store.apply_once(org_id, change_id, delta)
                store.fold(org_id, KEY, chart, reference["org"]["reporting_currency"])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    store.fold(org_id, KEY, chart, "USD")
    view = aggregate(db, org_id, KEY.doc_id)
    expected = sum((100 + i) * changes_each for i in range(writers))
    assert view["accounts"] == {"4100": expected}
    assert view["record_count"] == writers * changes_each
    assert view["rollups"] == {"4000": expected}
    shards = list(db.collection(f"organizations/{org_id}/aggregates/{KEY.doc_id}/shards").stream())
    assert len(shards) > 1, "the writes were spread over several shards"


def test_a_change_id_is_applied_once_however_often_it_is_delivered(stack, db, org_id):
    seed_org(db, org_id)
    store = AggregateStore(db, shard_count=4)
    delta = {KEY: AggregateDelta({"6100": 5000}, 1)}
    results = [store.apply_once(org_id, "change-1", delta) for _ in range(3)]
    assert results == [True, False, False]
    assert store.shard_totals(org_id, KEY).accounts == {"6100": 5000}


def test_hot_key_through_the_pipeline_every_change_applied_once(stack, db, org_id):
    seed_org(db, org_id)
    count = 200
    publish(stack, [event(org_id, f"hot-{i}", 1, account="4100", amount="10.01") for i in range(count)])
    wait_for_events(db, org_id, count, timeout=300)
    view = wait_until(
        lambda: (doc := aggregate(db, org_id, KEY.doc_id)) and doc.get("record_count") == count and doc,
        timeout=300,
        what="all hot-key changes in the aggregate",
    )
    assert view["accounts"] == {"4100": 1001 * count}
    assert wait_until(
        lambda: applied_change_count(db, org_id) == count, timeout=300, what="every change document applied"
    ), "every record change was applied exactly once"
    consolidated = aggregate(db, org_id, KEY.consolidated().doc_id)
    assert consolidated["accounts"] == {"4100": 1001 * count}


def test_a_listened_document_is_rewritten_at_most_once_per_interval_and_ends_exact(stack, db, org_id):
    # Ten events a second into one hot key, some delivered twice: the consolidated aggregate, its
    # metric series and kpis/current (the overview's live document) are written once per hot-document
    # interval at most, and the last write (the trailing edge, written by a held fold itself) still
    # holds every event once.
    seed_org(db, org_id)
    # The month kpis/current describes (the demo reference's current period): the overview's month.
    month = AggregateKey("us-east", "2026-11", "actual")
    org = f"organizations/{org_id}"
    refs = {
        "aggregate": db.document(f"{org}/aggregates/{month.consolidated().doc_id}"),
        "metric series": db.document(f"{org}/metric_series/{series_id('_all', 'actual')}"),
        "kpis/current": db.document(f"{org}/kpis/current"),
    }
    writes: dict[str, set] = {name: set() for name in refs}

    def watcher(name: str):
        return lambda snapshots, changes, read_time: writes[name].update(s.update_time for s in snapshots if s.exists)

    # A first event folded end to end: every function of the path has a warm worker before the stream.
    publish(stack, [event(org_id, "paced-0", 1, account="4100", amount="10.01", period=month.period)])
    wait_until(
        lambda: (aggregate(db, org_id, month.consolidated().doc_id) or {}).get("record_count") == 1,
        timeout=180,
        what="the first event in the consolidated aggregate",
    )
    # The trend computer puts the cash forecast's burn and runway into kpis/current when they change
    # (at most once per trends debounce, docs/kpis.md): here once, for the first event. The bound
    # judged below is the fold's, so the stream starts after that write.
    forecast = db.document(f"{org}/trends/cash__forecast")
    wait_until(
        lambda: (
            (runway := (forecast.get().to_dict() or {}).get("runway"))
            and (refs["kpis/current"].get().to_dict() or {}).get("cash") == runway
        ),
        timeout=120,
        what="kpis/current with the cash forecast's runway",
    )
    watches = [ref.on_snapshot(watcher(name)) for name, ref in refs.items()]
    count = 30
    try:
        for i in range(1, count):
            again = (
                [event(org_id, f"paced-{i - 1}", 1, account="4100", amount="10.01", period=month.period)]
                if i % 7 == 0
                else []
            )
            publish(
                stack, [event(org_id, f"paced-{i}", 1, account="4100", amount="10.01", period=month.period), *again]
            )
            time.sleep(0.1)  # the stimulus: about ten events a second
        wait_until(
            lambda: (aggregate(db, org_id, month.consolidated().doc_id) or {}).get("record_count") == count,
            timeout=180,
            what="every paced event in the consolidated aggregate",
        )
        series = wait_until(
            lambda: (
                (doc := refs["metric series"].get()).exists
                and value_at(doc.to_dict(), "revenue", month.period) == 1001 * count
                and doc
            ),
            timeout=60,
            what="the metric series at the aggregate's last version",
        )
        kpis = wait_until(
            lambda: (
                (doc := refs["kpis/current"].get()).exists
                and ((doc.to_dict() or {}).get("month_actual") or {}).get("record_count") == count
                and doc
            ),
            timeout=60,
            what="kpis/current with the month's last aggregate",
        )
        last_write = {
            "aggregate": refs["aggregate"].get().update_time,
            "metric series": series.update_time,
            "kpis/current": kpis.update_time,
        }
        wait_until(
            lambda: all(last_write[name] in writes[name] for name in refs),
            timeout=30,
            what="the listeners' last writes",
        )
    finally:
        for watch in watches:
            watch.unsubscribe()
    stored = aggregate(db, org_id, month.consolidated().doc_id)
    assert stored["accounts"] == {"4100": 1001 * count}
    interval = hot_document_interval()
    for name, times in writes.items():
        ordered = sorted(times)
        gaps = [later - earlier for earlier, later in zip(ordered, ordered[1:], strict=False)]
        assert gaps, f"the {name} was written once only"
        assert min(gaps) >= interval, f"the {name} was rewritten {min(gaps)} after its previous write"
        assert len(ordered) < count, f"the {name} was written once per event ({len(ordered)} writes)"
    # The overview reads the month from kpis/current alone: its copies are the month's documents.
    live = kpis.to_dict()
    written_how = {"source_versions", "updated_at"}
    assert live["period"] == month.period
    assert live["month_actual"] == {k: v for k, v in stored.items() if k not in written_how}
    variance = db.document(f"{org}/variance/_all__{month.period}").get().to_dict()
    assert live["month_variance"] == {k: v for k, v in variance.items() if k not in written_how}
    assert [(line["account_id"], line["actual_minor"]) for line in live["month_variance"]["top"]] == [
        ("4100", 1001 * count)
    ]


def test_reconciliation_finds_and_repairs_corrupted_aggregates(stack, db, org_id):
    seed_org(db, org_id)
    publish(
        stack,
        [
            event(org_id, "r-1", 1, account="4100", amount="1000.00"),
            event(org_id, "r-2", 1, account="5100", amount="400.00"),
            event(org_id, "r-3", 1, account="6100", amount="250.00", entity="us-west"),
        ],
    )
    wait_for_events(db, org_id, 3)
    # Each key is folded by its own refresh: wait for all three, not only the consolidated one.
    folded = {"_all__2026-10__actual": 3, KEY.doc_id: 2, "us-west__2026-10__actual": 1}
    wait_until(
        lambda: all((doc := aggregate(db, org_id, key)) and doc.get("record_count") == n for key, n in folded.items()),
        what="the aggregates of the three records",
    )
    good = aggregate(db, org_id, KEY.doc_id)
    # Damage 1: someone edited the readable document. Damage 2: a shard received a bogus delta.
    db.document(f"organizations/{org_id}/aggregates/{KEY.doc_id}").update({"accounts": {"4100": 1, "5100": 40000}})
    AggregateStore(db, 8).apply_once(
        org_id, "bogus-change", {AggregateKey("us-west", "2026-10", "actual"): AggregateDelta({"6100": 999}, 0)}
    )
    db_refs = ReferenceStore(db)
    reconciler = Reconciler(db, db_refs, AggregateStore(db, 8), DerivedDocuments(db))
    report = reconciler.reconcile(org_id, "2026-10", settle=timedelta(0))
    assert report.skipped is None
    assert KEY.doc_id in report.view_repairs
    assert "us-west__2026-10__actual" in report.shard_repairs
    repaired = aggregate(db, org_id, KEY.doc_id)
    assert repaired["accounts"] == good["accounts"] == {"4100": 100000, "5100": 40000}
    assert aggregate(db, org_id, "us-west__2026-10__actual")["accounts"] == {"6100": 25000}
    again = reconciler.reconcile(org_id, "2026-10", settle=timedelta(0))
    assert again.repaired == 0, again.summary()


def test_reconciliation_waits_for_a_quiet_org(stack, db, org_id):
    seed_org(db, org_id)
    publish(stack, [event(org_id, "q-1", 1)])
    wait_for_events(db, org_id, 1)
    reconciler = Reconciler(db, ReferenceStore(db), AggregateStore(db, 8), DerivedDocuments(db))
    report = reconciler.reconcile(org_id, settle=timedelta(minutes=10))
    assert report.skipped and "run again" in report.skipped

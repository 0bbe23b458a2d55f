"""Per-event publish-to-visible lag from server timestamps (tools/visibility.py): exact, not sampled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from finance_core.aggregates import AggregateKey
from finance_core.changes import RecordChange, encode_changes
from finance_core.records import RecordState

from tools.visibility import VisibilityLog

KEY = AggregateKey("_all", "2026-11", "actual")
T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def _state(record_id: str, period: str = "2026-11", amount: int = 100) -> RecordState:
    return RecordState(
        "org",
        record_id,
        1,
        f"e-{record_id}",
        entity_id="us-east",
        account_id="4100",
        period=period,
        scenario="actual",
        amount_minor=amount,
        currency="USD",
        reporting_amount_minor=amount,
    )


def _change_doc(event_ids: list[str], applied_at: datetime | None, period: str = "2026-11") -> dict:
    changes = [RecordChange(e, e, 1, None, _state(e, period)) for e in event_ids]
    body = {"state": "applied" if applied_at else "pending", "changes": encode_changes(changes)}
    if applied_at:
        body["applied_at"] = applied_at
    return body


def test_every_event_of_a_fold_that_brought_several_changes_is_measured():
    log = VisibilityLog(KEY)
    for index, event_id in enumerate(["a", "b", "c"]):
        log.on_published(event_id, at=100.0 + index * 0.1)
    log.on_change_document(_change_doc(["a", "b"], T0))
    log.on_change_document(_change_doc(["c"], T0 + timedelta(milliseconds=50)))
    # One fold read the shards after all three were applied; the listener saw it at 100.5.
    log.on_aggregate_snapshot({"shards_read_at": T0 + timedelta(milliseconds=60)}, arrived=100.5)
    lags = log.lags_ms()
    assert {k: round(v) for k, v in lags.items()} == {"a": 500, "b": 400, "c": 300}
    summary = log.summary()
    assert (summary.measured, summary.applied) == (3, 3)


def test_an_event_applied_after_the_fold_read_waits_for_the_next_snapshot():
    log = VisibilityLog(KEY)
    log.on_published("a", at=10.0)
    log.on_change_document(_change_doc(["a"], T0 + timedelta(milliseconds=10)))
    log.on_aggregate_snapshot({"shards_read_at": T0}, arrived=10.2)
    assert log.lags_ms() == {}
    assert log.summary().describe().startswith("not measured")
    log.on_aggregate_snapshot({"shards_read_at": T0 + timedelta(milliseconds=11)}, arrived=10.7)
    assert round(log.lags_ms()["a"]) == 700


def test_changes_of_other_keys_pending_documents_and_unpublished_events_are_not_counted():
    log = VisibilityLog(KEY)
    log.on_published("other-period", at=1.0)
    log.on_published("pending", at=1.0)
    log.on_change_document(_change_doc(["other-period"], T0, period="2026-10"))
    log.on_change_document(_change_doc(["pending"], None))
    log.on_change_document(_change_doc(["not-ours"], T0))
    log.on_aggregate_snapshot({"shards_read_at": T0 + timedelta(seconds=1)}, arrived=2.0)
    assert log.lags_ms() == {}
    assert log.summary().applied == 0

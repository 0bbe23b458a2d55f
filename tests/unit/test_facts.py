"""Fact rows of record changes, the latest-state rule of financial_records_latest, and replay plans."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from finance_core.facts import FactError, fact_row, latest_records, orphan_delete_event_id, plan_replay, top_rows
from finance_core.records import RecordState
from hypothesis import given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def state(
    record_id: str = "r1",
    version: int = 1,
    *,
    amount: str = "100.00",
    account: str = "4100",
    period: str = "2026-10",
    minor: int | None = None,
    event_id: str | None = None,
    currency: str = "USD",
    org: str = "acme",
) -> RecordState:
    value = Decimal(amount)
    return RecordState(
        org_id=org,
        record_id=record_id,
        version=version,
        event_id=event_id or f"{record_id}-v{version}",
        entity_id="us-east",
        account_id=account,
        period=period,
        scenario="actual",
        amount=value,
        currency=currency,
        amount_minor=int(value * 100),
        reporting_amount_minor=int(value * 100) if minor is None else minor,
        occurred_at="2026-10-05T12:00:00Z",
        source="erp",
    )


def row(
    s: RecordState,
    op: str = "upsert",
    version: int | None = None,
    event_id: str | None = None,
    ingested_at: datetime = T0,
):
    return fact_row(
        s,
        op=op,
        version=version or s.version,
        event_id=event_id or s.event_id,
        account_type="revenue",
        reporting_currency="USD",
        ingested_at=ingested_at,
    )


def test_a_fact_row_has_exact_amounts_the_first_day_of_its_period_and_aware_times():
    fact = fact_row(
        state(amount="12.50", currency="EUR", minor=1363),
        op="upsert",
        version=1,
        event_id="e1",
        account_type="revenue",
        reporting_currency="USD",
        ingested_at=T0,
    )
    assert fact.amount == Decimal("12.50") and fact.currency == "EUR"
    assert fact.reporting_amount == Decimal("13.63") and str(fact.reporting_amount) == "13.63"
    assert fact.period.isoformat() == "2026-10-01"
    assert fact.occurred_at == datetime(2026, 10, 5, 12, tzinfo=UTC) and fact.ingested_at == T0
    body = fact.model_dump(mode="json")
    assert body["amount"] == "12.50" and body["reporting_amount"] == "13.63" and body["period"] == "2026-10-01"


def test_reporting_amounts_follow_the_reporting_currency_exponent():
    fact = fact_row(
        state(minor=1234567),
        op="upsert",
        version=1,
        event_id="e",
        account_type="revenue",
        reporting_currency="JPY",
        ingested_at=T0,
    )
    assert fact.reporting_amount == Decimal("1234567")
    fact = fact_row(
        state(minor=1234567),
        op="upsert",
        version=1,
        event_id="e",
        account_type="revenue",
        reporting_currency="BHD",
        ingested_at=T0,
    )
    assert str(fact.reporting_amount) == "1234.567"


def test_a_tombstone_cannot_become_a_row():
    with pytest.raises(FactError, match="lacks entity_id"):
        fact_row(
            RecordState("acme", "r1", 2, "e2", deleted=True),
            op="delete",
            version=2,
            event_id="e2",
            account_type="revenue",
            reporting_currency="USD",
            ingested_at=T0,
        )


def test_latest_takes_the_highest_version_and_a_delete_outranks_its_version():
    v1, v2 = state(version=1, amount="1.00"), state(version=2, amount="2.00")
    assert latest_records([row(v2), row(v1)])[("acme", "r1")].amount == Decimal("2.00")
    # A delete carrying the version it removed (its tombstone was gone) still wins that version.
    assert latest_records([row(v2), row(v2, "delete", event_id="delete-c9")]) == {}
    # ... but not a newer upsert that re-created the record.
    v3 = state(version=3, amount="3.00")
    assert latest_records([row(v3), row(v2, "delete", version=2, event_id="d")])[("acme", "r1")].version == 3


def test_copies_of_a_change_collapse_to_one():
    r = row(state())
    assert len(latest_records([r, r, r])) == 1
    later_copy = row(state(), ingested_at=T0 + timedelta(seconds=5))
    assert top_rows([r, later_copy])[("acme", "r1")] == later_copy


changes = st.lists(st.tuples(st.integers(1, 6), st.booleans(), st.integers(0, 3)), min_size=1, max_size=12)


@given(changes, st.randoms(use_true_random=False))
@settings(max_examples=150, deadline=None)
def test_any_order_and_duplication_of_the_rows_gives_the_same_latest_state(history, rnd):
    rows = []
    for version, is_delete, copies in history:
        s = state(version=version, amount=f"{version}.00")
        rows.extend(
            [row(s, "delete" if is_delete else "upsert", event_id=f"e{version}{'d' if is_delete else ''}")]
            * (copies + 1)
        )
    expected = latest_records(rows)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert latest_records(shuffled) == expected
    assert latest_records(shuffled + shuffled[: len(shuffled) // 2]) == expected
    top = max(rows, key=lambda r: (r.version, r.op == "delete"))
    assert (expected == {}) == (top.op == "delete")


def _plan(records=(), tombstones=(), top=None):
    return plan_replay(
        records=list(records),
        tombstones=list(tombstones),
        top_in_bigquery=top or {},
        account_type=lambda a: "revenue" if a.startswith("4") else None,
        reporting_currency="USD",
        updated_at={},
        now=T0,
    )


def test_replay_writes_only_what_bigquery_lacks_and_a_second_plan_is_empty():
    live = [state("a", 1), state("b", 2), state("c", 1)]
    gone = RecordState("acme", "d", 3, "d-del", deleted=True, occurred_at="2026-10-06T00:00:00Z")
    top = {"a": row(live[0]), "b": row(state("b", 1)), "d": row(state("d", 2)), "x": row(state("x", 4))}
    plan = _plan(live, [gone], top)
    written = {(r.record_id, r.op, r.version, r.event_id) for r in plan.rows}
    assert written == {
        ("b", "upsert", 2, "b-v2"),
        ("c", "upsert", 1, "c-v1"),
        ("d", "delete", 3, "d-del"),
        ("x", "delete", 4, orphan_delete_event_id("x", 4)),
    }
    assert plan.current == 1 and plan.upserts == 2 and plan.deletes == 2
    deleted_row = next(r for r in plan.rows if r.record_id == "d")
    assert deleted_row.account_id == "4100" and deleted_row.amount == Decimal("100.00")
    after = top_rows([*top.values(), *plan.rows])
    assert _plan(live, [gone], {k[1]: v for k, v in after.items()}).rows == []
    assert set(latest_records(after.values())) == {("acme", "a"), ("acme", "b"), ("acme", "c")}


def test_replay_never_overrules_a_newer_row_and_skips_accounts_without_a_type():
    plan = _plan([state("a", 1), state("b", 1, account="9999")], [], {"a": row(state("a", 2))})
    assert plan.rows == [] and plan.conflicts == ["a"] and plan.unknown_accounts == ["b"]


def test_replayed_rows_carry_the_streamed_identity():
    s = state("a", 5, event_id="erp-77")
    plan = plan_replay(
        records=[s],
        tombstones=[],
        top_in_bigquery={},
        account_type=lambda a: "revenue",
        reporting_currency="USD",
        updated_at={"a": T0 - timedelta(days=1)},
        now=T0,
    )
    streamed = row(s, ingested_at=T0 - timedelta(days=1))
    assert plan.rows == [streamed]


def test_random_histories_replayed_over_a_partial_stream_equal_firestore():
    rng = random.Random(11)
    for _ in range(50):
        records, top_rows_list = [], []
        for i in range(rng.randint(1, 8)):
            version = rng.randint(1, 4)
            s = state(f"r{i}", version)
            records.append(s)
            if rng.random() < 0.5:
                top_rows_list.append(row(s))
            if rng.random() < 0.3 and version > 1:
                top_rows_list.append(row(state(f"r{i}", version - 1)))
        top = {k[1]: v for k, v in top_rows(top_rows_list).items()}
        plan = _plan(records, [], top)
        final = latest_records([*top_rows_list, *plan.rows])
        assert {k[1]: (v.version, v.event_id) for k, v in final.items()} == {
            s.record_id: (s.version, s.event_id) for s in records
        }

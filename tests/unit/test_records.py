"""Version-aware merge: the highest version wins in any order, duplicates change nothing, tombstones hold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from finance_core.events import FinancialEvent, parse_event
from finance_core.records import Outcome, RecordState, merge, replay, with_version
from hypothesis import given, settings
from hypothesis import strategies as st


def event(
    version: int,
    *,
    delete: bool = False,
    amount: str = "100.00",
    event_id: str | None = None,
    occurred_at: str = "2026-10-05T12:00:00Z",
) -> FinancialEvent:
    body = {
        "event_id": event_id or f"JE-1-v{version}{'-del' if delete else ''}",
        "type": "record.deleted" if delete else "record.upserted",
        "org_id": "acme",
        "record_id": "JE-1",
        "version": version,
        "occurred_at": occurred_at,
    }
    if not delete:
        body["record"] = {
            "entity_id": "us-east",
            "account_id": "4100",
            "period": "2026-10",
            "scenario": "actual",
            "amount": amount,
            "currency": "USD",
        }
    return parse_event(body)


def proposed(e: FinancialEvent) -> RecordState | None:
    """The state an upsert would produce (what reference.record_state builds in the pipeline)."""
    if e.record is None:
        return None
    amount = e.record.decimal_amount
    return RecordState(
        org_id=e.org_id,
        record_id=e.record_id,
        version=e.version,
        event_id=e.event_id,
        entity_id=e.record.entity_id,
        account_id=e.record.account_id,
        period=e.record.period,
        scenario=e.record.scenario.value,
        amount=amount,
        currency=e.record.currency,
        amount_minor=int(amount * 100),
        reporting_amount_minor=int(amount * 100),
        occurred_at=e.occurred_at.isoformat(),
    )


def deliver(*events: FinancialEvent) -> tuple[RecordState | None, list[Outcome]]:
    return replay((e, proposed(e)) for e in events)


# --- merge -------------------------------------------------------------------------------------


def test_the_first_upsert_is_applied():
    e = event(1)
    decision = merge(None, e, proposed(e), event_seen_before=False)
    assert decision.outcome is Outcome.APPLIED and decision.new_state == proposed(e)
    assert decision.reason == "upserted"


def test_an_event_seen_before_is_a_duplicate_whatever_its_version():
    e = event(5)
    decision = merge(None, e, proposed(e), event_seen_before=True)
    assert decision.outcome is Outcome.DUPLICATE and decision.new_state is None
    assert e.event_id in decision.reason


def test_an_older_or_equal_version_is_stale():
    current = proposed(event(3))
    for version in (1, 3):
        older = event(version, event_id=f"other-{version}")
        decision = merge(current, older, proposed(older), event_seen_before=False)
        assert decision.outcome is Outcome.STALE and decision.new_state is None
        assert decision.reason == f"version {version} is not newer than the stored record version 3"


def test_a_newer_version_replaces_the_record():
    current = proposed(event(3))
    newer = event(4, amount="250.00")
    decision = merge(current, newer, proposed(newer), event_seen_before=False)
    assert decision.outcome is Outcome.APPLIED and decision.new_state.amount == Decimal("250.00")


def test_a_delete_leaves_a_tombstone():
    current = proposed(event(3))
    delete = event(4, delete=True, occurred_at="2026-10-06T09:30:00+02:00")
    decision = merge(current, delete, None, event_seen_before=False)
    assert decision.outcome is Outcome.APPLIED and decision.reason == "deleted"
    tombstone = decision.new_state
    assert tombstone.deleted and not tombstone.is_live
    assert (tombstone.version, tombstone.event_id, tombstone.record_id) == (4, delete.event_id, "JE-1")
    assert tombstone.occurred_at == "2026-10-06T09:30:00+02:00"
    assert tombstone.amount is None and tombstone.reporting_amount_minor is None


def test_a_tombstone_stops_an_older_upsert_from_resurrecting_the_record():
    final, outcomes = deliver(event(2, delete=True), event(1))
    assert final is not None and final.deleted and final.version == 2
    assert outcomes == [Outcome.APPLIED, Outcome.STALE]
    older = event(1)
    decision = merge(final, older, proposed(older), event_seen_before=False)
    assert "stored tombstone version 2" in decision.reason


def test_a_newer_upsert_after_a_delete_brings_the_record_back():
    final, outcomes = deliver(event(1), event(2, delete=True), event(3, amount="7.00"))
    assert final.is_live and final.version == 3 and final.amount == Decimal("7.00")
    assert outcomes == [Outcome.APPLIED] * 3


def test_an_upsert_needs_its_proposed_state():
    with pytest.raises(ValueError, match="proposed record state"):
        merge(None, event(1), None, event_seen_before=False)


def test_replay_reports_every_outcome_in_delivery_order():
    v1, v2, v3 = event(1), event(2), event(3, delete=True)
    final, outcomes = deliver(v2, v1, v2, v3, v1, v3)
    assert outcomes == [
        Outcome.APPLIED,
        Outcome.STALE,
        Outcome.DUPLICATE,
        Outcome.APPLIED,
        Outcome.DUPLICATE,
        Outcome.DUPLICATE,
    ]
    assert final.deleted and final.version == 3


def test_with_version_copies_the_state():
    state = proposed(event(1))
    copy = with_version(state, 9, "e9")
    assert (copy.version, copy.event_id) == (9, "e9")
    assert (state.version, state.event_id) == (1, "JE-1-v1"), "the original is unchanged"
    assert copy.amount == state.amount and copy.account_id == state.account_id


# --- property: any order, any duplication ------------------------------------------------------


@st.composite
def deliveries(draw):
    """Distinct versions of one record (each an upsert or a delete), delivered shuffled with repeats."""
    versions = draw(st.lists(st.integers(1, 1000), min_size=1, max_size=12, unique=True))
    events = [
        event(v, delete=draw(st.booleans()), amount=str(Decimal(draw(st.integers(-(10**9), 10**9))).scaleb(-2)))
        for v in versions
    ]
    repeated = [e for e in events for _ in range(draw(st.integers(1, 3)))]
    return events, draw(st.permutations(repeated))


@settings(max_examples=150, deadline=None)
@given(deliveries())
def test_replay_in_any_order_with_duplicates_ends_in_the_highest_version(case):
    events, delivered = case
    final, outcomes = deliver(*delivered)
    highest = max(events, key=lambda e: e.version)
    assert final is not None
    assert final.version == highest.version and final.event_id == highest.event_id
    if highest.is_delete:
        assert final.deleted, "a delete with the highest version leaves a tombstone"
        assert final.amount is None
    else:
        assert final == proposed(highest)
    assert outcomes[0] is Outcome.APPLIED
    assert outcomes.count(Outcome.DUPLICATE) == len(delivered) - len(events)
    assert outcomes.count(Outcome.APPLIED) + outcomes.count(Outcome.STALE) == len(events)


@settings(max_examples=60, deadline=None)
@given(deliveries(), st.randoms(use_true_random=False))
def test_two_delivery_orders_end_in_the_same_state(case, random):
    events, delivered = case
    other = list(delivered)
    random.shuffle(other)
    assert deliver(*delivered)[0] == deliver(*other)[0]

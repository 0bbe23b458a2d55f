"""Batches of ledger lines: the envelope, line by line outcomes, and any split equals one line at a time."""

from __future__ import annotations

import json
import random
from typing import Any

import jsonschema
import pytest
from finance_core.accounts import Account, AccountType, ChartOfAccounts
from finance_core.aggregates import aggregates_from_records, sum_deltas
from finance_core.batches import (
    MAX_BATCH_LINES,
    SEEN_EVENT_IDS_KEPT,
    IngestLine,
    StoredRecord,
    batch_json_schema,
    live_records,
    parse_batch,
    plan_batch,
)
from finance_core.changes import (
    ChangeMessage,
    ChangeMessageError,
    decode_change_message,
    decode_changes,
    encode_change_message,
    encode_changes,
)
from finance_core.events import EventRejected, parse_event
from finance_core.records import Outcome
from finance_core.reference import OrgReference
from hypothesis import given, settings
from hypothesis import strategies as st

CHART = ChartOfAccounts(
    [
        Account("4000", "Revenue", AccountType.REVENUE),
        Account("4100", "Product revenue", AccountType.REVENUE, "4000"),
        Account("4200", "Services", AccountType.REVENUE, "4000"),
        Account("5100", "Materials", AccountType.COGS),
        Account("6100", "Salaries", AccountType.OPEX),
    ]
)
REFERENCE = OrgReference(
    org_id="acme",
    reporting_currency="USD",
    chart=CHART,
    entity_currencies={"us-east": "USD", "eu-central": "EUR"},
    period_status={"2026-09": "closed", "2026-10": "open", "2026-11": "open"},
    fx_rates=OrgReference.parse_rates({"2026-10": {"EUR": "1.137201"}, "2026-11": {"EUR": "1.1"}}),
)


def body(
    record_id: str,
    version: int,
    *,
    event_id: str | None = None,
    delete: bool = False,
    entity: str = "us-east",
    account: str = "4100",
    period: str = "2026-10",
    amount: str = "100.00",
    currency: str = "USD",
    scenario: str = "actual",
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id or f"{record_id}-v{version}{'-d' if delete else ''}",
        "type": "record.deleted" if delete else "record.upserted",
        "org_id": "acme",
        "record_id": record_id,
        "version": version,
        "occurred_at": "2026-10-05T12:00:00Z",
    }
    if not delete:
        event["record"] = {
            "entity_id": entity,
            "account_id": account,
            "period": period,
            "scenario": scenario,
            "amount": amount,
            "currency": currency,
        }
    return event


def line(*args: Any, next_version: bool = False, **kwargs: Any) -> IngestLine:
    return IngestLine(parse_event(body(*args, **kwargs)), next_version)


def run(lines: list[IngestLine], stored: dict[str, StoredRecord] | None = None):
    stored = dict(stored or {})
    for item in lines:
        stored.setdefault(item.event.record_id, StoredRecord())
    plan = plan_batch(lines, stored, REFERENCE)
    stored.update(plan.stored)
    return plan, stored


def test_lines_of_one_record_apply_in_order_like_single_events():
    plan, stored = run(
        [line("a", 2, amount="20.00"), line("a", 1), line("a", 3, amount="30.00"), line("a", 3, amount="30.00")]
    )
    assert [r.outcome for r in plan.results] == [Outcome.APPLIED, Outcome.STALE, Outcome.APPLIED, Outcome.DUPLICATE]
    assert stored["a"].record.version == 3 and stored["a"].record.amount_minor == 3000
    # Two changes: nothing -> v2, v2 -> v3; their deltas telescope to nothing -> v3.
    assert [(c.before and c.before.version, c.after.version) for c in plan.changes] == [(None, 2), (2, 3)]
    assert sum_deltas(c.deltas() for c in plan.changes) == aggregates_from_records([stored["a"].record])


def test_a_stale_event_is_remembered_so_its_redelivery_is_a_duplicate():
    _, stored = run([line("a", 3)])
    plan, stored = run([line("a", 1)], stored)
    assert plan.results[0].outcome is Outcome.STALE and plan.changes == []
    assert "a-v1" in stored["a"].seen_event_ids
    plan, _ = run([line("a", 1)], stored)
    assert plan.results[0].outcome is Outcome.DUPLICATE and plan.stored == {}


def test_a_delete_leaves_a_tombstone_and_a_change_of_the_removed_record():
    _, stored = run([line("a", 1)])
    plan, stored = run([line("a", 2, delete=True), line("a", 1, event_id="late")], stored)
    assert [r.outcome for r in plan.results] == [Outcome.APPLIED, Outcome.STALE]
    assert stored["a"].record is None and stored["a"].tombstone.version == 2
    (change,) = plan.changes
    assert change.op == "delete" and change.fact_state.version == 1 and change.version == 2
    assert "late" in stored["a"].seen_event_ids


def test_deleting_a_record_that_never_existed_changes_no_aggregate():
    plan, stored = run([line("ghost", 1, delete=True)])
    assert plan.results[0].outcome is Outcome.APPLIED and plan.changes == []
    assert stored["ghost"].tombstone is not None


def test_rejections_carry_their_code_and_change_nothing():
    _, stored = run([line("old", 1, period="2026-11")])
    closed = {**REFERENCE.period_status, "2026-11": "closed"}
    reference = OrgReference(**{**REFERENCE.__dict__, "period_status": closed})
    lines = [line("x", 1, account="4000"), line("y", 1, period="2026-09"), line("old", 2, amount="5.00")]
    for item in lines:
        stored.setdefault(item.event.record_id, StoredRecord())
    plan = plan_batch(lines, stored, reference)
    assert [(r.outcome, r.code) for r in plan.results] == [
        (Outcome.REJECTED, "summary_account"),
        (Outcome.REJECTED, "period_closed"),
        (Outcome.REJECTED, "period_closed"),
    ]
    assert plan.changes == [] and plan.stored == {}


def test_next_version_lines_take_the_stored_version_plus_one_in_order():
    _, stored = run([line("m", 7)])
    plan, stored = run(
        [
            line("m", 1, event_id="row-1", amount="1.00", next_version=True),
            line("m", 1, event_id="row-2", amount="2.00", next_version=True),
        ],
        stored,
    )
    assert [r.version for r in plan.results] == [8, 9]
    assert stored["m"].record.amount_minor == 200


def test_seen_event_ids_are_bounded():
    stored = {}
    for version in range(1, SEEN_EVENT_IDS_KEPT + 6):
        _, stored = run([line("a", version)], stored)
    assert len(stored["a"].seen_event_ids) == SEEN_EVENT_IDS_KEPT
    assert stored["a"].seen_event_ids[-1] == f"a-v{SEEN_EVENT_IDS_KEPT + 5}"


# --- any split of a stream into batches gives the same result as one line at a time ---------------


def stream(seed: int, records: int = 12) -> list[dict[str, Any]]:
    """A shuffled feed: versions, moves between keys, deletes and re-creations, duplicated deliveries."""
    rnd = random.Random(seed)
    events = []
    for index in range(records):
        record_id = f"r{index}"
        for version in range(1, rnd.randint(1, 4) + 1):
            if rnd.random() < 0.2:
                events.append(body(record_id, version, delete=True))
            else:
                events.append(
                    body(
                        record_id,
                        version,
                        entity=rnd.choice(["us-east", "eu-central"]),
                        currency=rnd.choice(["USD", "EUR"]),
                        account=rnd.choice(["4100", "4200", "5100"]),
                        period=rnd.choice(["2026-10", "2026-11"]),
                        scenario=rnd.choice(["actual", "budget"]),
                        amount=f"{rnd.randint(-5000, 90000) / 100:.2f}",
                    )
                )
    events += [rnd.choice(events) for _ in range(len(events) // 4)]
    rnd.shuffle(events)
    return events


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(1, 60), max_size=12))
def test_any_split_into_batches_equals_applying_the_lines_one_by_one(seed, cuts):
    events = [parse_event(e) for e in stream(seed)]
    one_by_one: dict[str, StoredRecord] = {}
    single_changes, single_outcomes = [], []
    for event in events:
        plan, one_by_one = run([IngestLine(event)], one_by_one)
        single_changes += plan.changes
        single_outcomes += [r.outcome for r in plan.results]
    batched: dict[str, StoredRecord] = {}
    batch_changes, batch_outcomes = [], []
    start = 0
    for size in [*cuts, len(events)]:
        chunk = events[start : start + size]
        start += size
        if chunk:
            plan, batched = run([IngestLine(e) for e in chunk], batched)
            batch_changes += plan.changes
            batch_outcomes += [r.outcome for r in plan.results]
    assert batched == one_by_one
    assert batch_outcomes == single_outcomes
    expected = aggregates_from_records(live_records(batched))
    assert sum_deltas(c.deltas() for c in batch_changes) == expected
    assert sum_deltas(c.deltas() for c in single_changes) == expected
    # Each event id counts once as applied or stale; every other delivery is a duplicate.
    assert batch_outcomes.count(Outcome.APPLIED) + batch_outcomes.count(Outcome.STALE) == len(
        {e.event_id for e in events}
    )


# --- the envelope ----------------------------------------------------------------------------------


def batch_bytes(events: list[Any], **envelope: Any) -> bytes:
    return json.dumps(
        {"type": "records.batch", "batch_id": "close-1", "org_id": "acme", "events": events, **envelope}
    ).encode()


def test_a_batch_parses_each_line_and_keeps_bad_lines_with_their_reason():
    good = body("a", 1)
    no_org = {k: v for k, v in body("b", 1).items() if k != "org_id"}
    foreign = body("c", 1) | {"org_id": "globex"}
    floaty = body("d", 1)
    floaty["record"]["amount"] = 12.5
    parsed = parse_batch(batch_bytes([good, no_org, foreign, floaty]))
    assert parsed.batch_id == "close-1" and len(parsed.raw_lines) == 4
    assert parsed.lines[0].org_id == "acme" and parsed.lines[1].org_id == "acme"
    assert isinstance(parsed.lines[2], EventRejected) and parsed.lines[2].code == "org_mismatch"
    assert isinstance(parsed.lines[3], EventRejected) and parsed.lines[3].code == "invalid_event"
    assert parsed.lines[3].reason.startswith("line 4: record.amount") and parsed.lines[3].event_id == "d-v1"


@pytest.mark.parametrize(
    "data, code",
    [
        (b"{nope", "invalid_json"),
        (batch_bytes([]), "invalid_batch"),
        (batch_bytes([body("a", 1)] * (MAX_BATCH_LINES + 1)), "invalid_batch"),
        (batch_bytes([body("a", 1)], type="record.upserted"), "invalid_batch"),
        (batch_bytes([body("a", 1)], batch_id="a__b"), "invalid_batch"),
    ],
)
def test_an_unreadable_envelope_is_rejected_whole_with_a_reason(data, code):
    with pytest.raises(EventRejected) as caught:
        parse_batch(data)
    assert caught.value.code == code and caught.value.reason


def test_the_published_schema_accepts_a_batch_and_refuses_a_float_amount():
    schema = batch_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    good = json.loads(batch_bytes([body("a", 1), {k: v for k, v in body("b", 1).items() if k != "org_id"}]))
    jsonschema.validate(good, schema)
    bad = json.loads(batch_bytes([body("a", 1)]))
    bad["events"][0]["record"]["amount"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


# --- the change message ----------------------------------------------------------------------------


def test_a_change_message_round_trips_exactly_with_summed_deltas():
    plan, _ = run(
        [
            line("a", 1, amount="10.01"),
            line("b", 1, currency="EUR", entity="eu-central", amount="3.33"),
            line("a", 2, delete=True),
        ]
    )
    message = ChangeMessage.of("chg-1", "acme", "2026-10-05T12:00:00+00:00", "USD", plan.changes)
    decoded = decode_change_message(encode_change_message(message))
    assert decoded == message
    assert decoded.deltas == sum_deltas(c.deltas() for c in plan.changes)
    assert [c.op for c in decoded.changes] == ["upsert", "upsert", "delete"] and decoded.last_event_id == "a-v2-d"


def test_a_schema_1_message_decodes_as_one_change():
    v1 = {
        "schema_version": 1,
        "change_id": "x",
        "org_id": "acme",
        "record_id": "a",
        "event_id": "a-v3",
        "op": "delete",
        "version": 3,
        "changed_at": "2026-10-05T12:00:00Z",
        "reporting_currency": "USD",
        "before": {
            "org_id": "acme",
            "record_id": "a",
            "version": 2,
            "event_id": "a-v2",
            "entity_id": "us-east",
            "account_id": "4100",
            "period": "2026-10",
            "scenario": "actual",
            "amount": "1.00",
            "currency": "USD",
            "amount_minor": 100,
            "reporting_amount_minor": 100,
        },
        "after": None,
        "delta": [
            {
                "entity_id": "us-east",
                "period": "2026-10",
                "scenario": "actual",
                "accounts": {"4100": -100},
                "record_count": -1,
            }
        ],
    }
    (change,) = decode_change_message(json.dumps(v1)).changes
    assert change.op == "delete" and change.version == 3 and change.fact_state.amount_minor == 100


def test_the_changes_of_a_change_document_round_trip_as_one_text():
    plan, _ = run(
        [line("a", 1, amount="10.01"), line("a", 2, delete=True), line("b", 3, currency="EUR", entity="eu-central")]
    )
    text = encode_changes(plan.changes)
    assert isinstance(text, str) and decode_changes(text) == tuple(plan.changes)
    with pytest.raises(ChangeMessageError):
        decode_changes('[{"record_id": "a"}]')


def test_a_broken_change_message_says_so():
    with pytest.raises(ChangeMessageError):
        decode_change_message(b'{"schema_version": 2, "org_id": "acme"}')

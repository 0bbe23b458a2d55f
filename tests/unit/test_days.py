"""Booking dates: the contract, the daily totals riding in the monthly aggregates, and the ISO weeks derived."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from finance_core.aggregates import AggregateDelta, AggregateKey, aggregates_from_records, fold_shards, sum_deltas
from finance_core.batches import IngestLine, StoredRecord, plan_batch
from finance_core.changes import ChangeMessage, decode_change_message, encode_change_message
from finance_core.days import daily_values, day_fields, iso_week, periods_of_weeks, weekly_totals
from finance_core.events import EventRejected, event_json_schema, parse_event
from finance_core.records import RecordState
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_batches import CHART, REFERENCE


def event(record_id: str, version: int, *, day: str | None = None, delete: bool = False, **record: Any) -> dict:
    body: dict[str, Any] = {
        "event_id": f"{record_id}-v{version}{'-d' if delete else ''}",
        "type": "record.deleted" if delete else "record.upserted",
        "org_id": "acme",
        "record_id": record_id,
        "version": version,
        "occurred_at": "2026-10-05T12:00:00Z",
    }
    if not delete:
        fields = {
            "entity_id": "us-east",
            "account_id": "4100",
            "period": "2026-10",
            "scenario": "actual",
            "amount": "100.00",
            "currency": "USD",
        } | record
        if day is not None:
            fields["date"] = day
        body["record"] = fields
    return body


# --- the contract ----------------------------------------------------------------------------------


def test_a_record_may_carry_a_booking_date_inside_its_period():
    parsed = parse_event(event("a", 1, day="2026-10-31"))
    assert parsed.record is not None and parsed.record.date == "2026-10-31"
    assert parse_event(event("b", 1)).record.date is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-11-05", "date 2026-11-05 is not inside period 2026-10"),
        ("2026-09-30", "is not inside period 2026-10"),
        ("2026-02-30", "must be a calendar day"),
        ("2026-10-5", "must be a calendar day"),
        ("05/10/2026", "must be a calendar day"),
        (20261005, "must be a calendar day"),
    ],
)
def test_a_date_outside_the_period_or_not_a_day_is_refused_with_the_reason(value, reason):
    body = event("a", 1)
    body["record"]["date"] = value
    with pytest.raises(EventRejected) as refused:
        parse_event(body)
    assert reason in refused.value.reason and refused.value.code == "invalid_event"


def test_a_leap_day_is_a_day_and_the_published_schema_names_the_field():
    body = event("a", 1, period="2028-02", day="2028-02-29")
    assert parse_event(body).record.date == "2028-02-29"  # type: ignore[union-attr]
    field = event_json_schema()["$defs"]["RecordFields"]["properties"]["date"]
    assert "YYYY-MM-DD" in field["description"]


# --- daily totals: the same guarantees as the months --------------------------------------------


def test_a_dated_record_counts_for_its_day_inside_its_month_key():
    state = _state(day="2026-10-05")
    key = AggregateKey("us-east", "2026-10", "actual")
    delta = aggregates_from_records([state])[key]
    assert delta.days == {"05": {"4100": 100_00}} and delta.day_counts == {"05": 1}
    undated = aggregates_from_records([_state()])[key]
    assert undated.days == {} and undated.day_counts == {} and undated.accounts == {"4100": 100_00}


def test_a_move_between_two_days_of_one_month_is_a_change_of_the_month_key():
    before, after = _state(day="2026-10-05"), _state(version=2, day="2026-10-20")
    key = AggregateKey("us-east", "2026-10", "actual")
    delta = sum_deltas([aggregates_from_records([after]), _negated(aggregates_from_records([before]))])
    assert delta[key].accounts == {} and delta[key].record_count == 0, "the month does not move"
    assert delta[key].days == {"05": {"4100": -100_00}, "20": {"4100": 100_00}}
    assert delta[key].day_counts == {"05": -1, "20": 1}


def _state(version: int = 1, day: str | None = None, **changes: Any) -> RecordState:
    fields = dict(entity_id="us-east", account_id="4100", period="2026-10", scenario="actual") | changes
    return RecordState(
        org_id="acme",
        record_id="a",
        version=version,
        event_id=f"a-v{version}",
        amount=None,
        currency="USD",
        amount_minor=100_00,
        reporting_amount_minor=100_00,
        date=day,
        **fields,
    )


def _negated(deltas: dict[AggregateKey, AggregateDelta]) -> dict[AggregateKey, AggregateDelta]:
    return {
        key: AggregateDelta(
            {a: -v for a, v in d.accounts.items()},
            -d.record_count,
            {day: {a: -v for a, v in accounts.items()} for day, accounts in d.days.items()},
            {day: -n for day, n in d.day_counts.items()},
        )
        for key, d in deltas.items()
    }


def dated_stream(seed: int, records: int = 14) -> list[dict[str, Any]]:
    """A shuffled feed with booking dates: versions that move a record between days, months, entities,
    drop or add its date, deletes and re-creations, and duplicated deliveries."""
    rnd = random.Random(seed)
    events = []
    for index in range(records):
        for version in range(1, rnd.randint(1, 5) + 1):
            if rnd.random() < 0.2:
                events.append(event(f"r{index}", version, delete=True))
                continue
            period = rnd.choice(["2026-10", "2026-11"])
            day = None if rnd.random() < 0.25 else f"{period}-{rnd.randint(1, 30):02d}"
            events.append(
                event(
                    f"r{index}",
                    version,
                    day=day,
                    period=period,
                    entity_id=rnd.choice(["us-east", "eu-central"]),
                    currency=rnd.choice(["USD", "EUR"]),
                    account_id=rnd.choice(["4100", "4200", "5100"]),
                    scenario=rnd.choice(["actual", "budget"]),
                    amount=f"{rnd.randint(-5000, 90000) / 100:.2f}",
                )
            )
    events += [rnd.choice(events) for _ in range(len(events) // 3)]
    rnd.shuffle(events)
    return events


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(1, 40), max_size=10), shards=st.integers(1, 5))
def test_the_days_of_a_month_add_up_to_its_dated_records_for_any_stream_split_and_sharding(seed, cuts, shards):
    events = [parse_event(e) for e in dated_stream(seed)]
    stored: dict[str, StoredRecord] = {}
    applied: list[dict[AggregateKey, AggregateDelta]] = []
    start = 0
    for size in [*cuts, len(events)]:
        chunk = events[start : start + size]
        start += size
        if not chunk:
            continue
        for item in chunk:
            stored.setdefault(item.record_id, StoredRecord())
        plan = plan_batch([IngestLine(e) for e in chunk], stored, REFERENCE)
        stored.update(plan.stored)
        # Each commit's message travels encoded, as it does between the functions.
        message = ChangeMessage.of(f"c{start}", "acme", "2026-10-05T12:00:00Z", "USD", plan.changes)
        applied.append(dict(decode_change_message(encode_change_message(message)).deltas))
    live = [s.record for s in stored.values() if s.record is not None and s.record.is_live]
    truth = aggregates_from_records(live)
    # The shards: each commit's deltas go to one of `shards` shard documents, as blind increments.
    shard_docs: dict[AggregateKey, dict[str, dict[str, Any]]] = {}
    for number, deltas in enumerate(applied):
        for key, delta in deltas.items():
            doc = shard_docs.setdefault(key, {}).setdefault(f"{number % shards:03d}", {"seq": 0})
            _add(doc, delta.counters())
            doc["seq"] += 1
    for key in set(truth) | set(shard_docs):
        folded = fold_shards(shard_docs.get(key, {}))
        expected = truth.get(key, AggregateDelta()).pruned()
        assert folded.accounts == expected.accounts and folded.record_count == expected.record_count
        assert folded.days == expected.days and folded.day_counts == expected.day_counts
        # The days add up to the dated records of the month, exactly.
        dated = [r for r in live if r.date and AggregateKey(str(r.entity_id), str(r.period), str(r.scenario)) == key]
        if key.is_consolidated:
            dated = [r for r in live if r.date and (r.period, r.scenario) == (key.period, key.scenario)]
        by_account: dict[str, int] = {}
        for r in dated:
            by_account[str(r.account_id)] = by_account.get(str(r.account_id), 0) + int(r.reporting_amount_minor or 0)
        summed: dict[str, int] = {}
        for accounts in folded.days.values():
            for account, minor in accounts.items():
                summed[account] = summed.get(account, 0) + minor
        assert {a: v for a, v in summed.items() if v} == {a: v for a, v in by_account.items() if v}
        assert sum(folded.day_counts.values()) == len(dated)
        assert all(day[:7] == key.period for day in (r.date for r in dated if r.date))


def _add(doc: dict[str, Any], counters: dict[str, Any]) -> None:
    for name, value in counters.items():
        if isinstance(value, dict):
            _add(doc.setdefault(name, {}), value)
        else:
            doc[name] = doc.get(name, 0) + value


# --- readable days and weeks ---------------------------------------------------------------------


def test_the_readable_days_carry_accounts_records_and_totals_by_type():
    totals = fold_shards({"000": {"accounts": {"4100": 300, "5100": 50}, "record_count": 3, "seq": 2,
                                  "days": {"05": {"4100": 100, "5100": 50}, "06": {"4100": 200}},
                                  "day_counts": {"05": 2, "06": 1}}})  # fmt: skip
    days = day_fields(totals, CHART)["days"]
    assert days["05"] == {"accounts": {"4100": 100, "5100": 50}, "record_count": 2,
                          "totals_by_type": {"revenue": 100, "cogs": 50}}  # fmt: skip
    assert days["06"]["totals_by_type"] == {"revenue": 200}


def test_iso_weeks_use_the_iso_year_and_add_the_days_of_two_months():
    assert iso_week(date(2026, 12, 31)) == "2026-W53"
    assert iso_week(date(2027, 1, 3)) == "2026-W53"
    assert iso_week(date(2027, 1, 4)) == "2027-W01"
    documents = [
        {"period": "2026-09", "days": {"30": {"accounts": {"4100": 100}, "record_count": 1,
                                              "totals_by_type": {"revenue": 100}}}},
        {"period": "2026-10", "days": {"01": {"accounts": {"4100": 5}, "record_count": 1,
                                              "totals_by_type": {"revenue": 5}},
                                       "05": {"accounts": {"4100": 7}, "record_count": 1,
                                              "totals_by_type": {"revenue": 7}}}},
    ]  # fmt: skip
    daily = daily_values(documents, account_type="revenue")
    assert [v.minor for v in daily.values()] == [100, 5, 7]
    assert weekly_totals(daily) == {"2026-W40": 105, "2026-W41": 7}
    assert periods_of_weeks(date(2026, 9, 28), date(2026, 10, 4)) == ["2026-09", "2026-10"]

"""Record dimensions: the org's declaration, the contract check, and exact aggregates per dimension value."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from typing import Any

import pytest
from finance_core.accounts import Account, AccountType, ChartOfAccounts
from finance_core.aggregates import sum_deltas
from finance_core.batches import IngestLine, StoredRecord, live_records, plan_batch
from finance_core.changes import (
    ChangeMessage,
    decode_change_message,
    decode_changes,
    encode_change_message,
    encode_changes,
)
from finance_core.dimensions import (
    MAX_DECLARED_VALUES,
    DimensionError,
    DimensionKey,
    dimension_aggregates_from_records,
    parse_declarations,
)
from finance_core.events import MAX_DIMENSIONS, parse_event
from finance_core.records import Outcome
from finance_core.reference import OrgReference
from hypothesis import given, settings
from hypothesis import strategies as st

CHART = ChartOfAccounts(
    [
        Account("4100", "Product revenue", AccountType.REVENUE),
        Account("6100", "Salaries", AccountType.OPEX),
    ]
)
DECLARED = parse_declarations(
    {
        "region": {"label": "Region", "values": ["emea", "amer", "apac"]},
        "department": {"label": "Department"},
    }
)
REFERENCE = OrgReference(
    org_id="acme",
    reporting_currency="USD",
    chart=CHART,
    entity_currencies={"us-east": "USD", "eu-central": "EUR"},
    period_status={"2026-10": "open", "2026-11": "open"},
    fx_rates=OrgReference.parse_rates({"2026-10": {"EUR": "1.137201"}, "2026-11": {"EUR": "1.1"}}),
    dimensions=DECLARED,
)


def event(
    record_id: str,
    version: int,
    *,
    delete: bool = False,
    dims: dict[str, Any] | None = None,
    entity: str = "us-east",
    account: str = "4100",
    period: str = "2026-10",
    amount: str = "100.00",
    event_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": event_id or f"{record_id}-v{version}{'-d' if delete else ''}",
        "type": "record.deleted" if delete else "record.upserted",
        "org_id": "acme",
        "record_id": record_id,
        "version": version,
        "occurred_at": "2026-10-05T12:00:00Z",
    }
    if not delete:
        currency = "EUR" if entity == "eu-central" else "USD"
        body["record"] = {
            "entity_id": entity,
            "account_id": account,
            "period": period,
            "scenario": "actual",
            "amount": amount,
            "currency": currency,
        }
        if dims is not None:
            body["record"]["dimensions"] = dims
    return body


def apply(bodies: list[dict[str, Any]], stored: dict[str, StoredRecord] | None = None):
    stored = dict(stored or {})
    lines = [IngestLine(parse_event(b)) for b in bodies]
    for item in lines:
        stored.setdefault(item.event.record_id, StoredRecord())
    plan = plan_batch(lines, stored, REFERENCE)
    stored.update(plan.stored)
    return plan, stored


# --- the declaration ------------------------------------------------------------------------------


def test_a_declaration_is_parsed_with_labels_and_closed_values():
    assert DECLARED["region"].values == frozenset({"emea", "amer", "apac"})
    assert DECLARED["department"].values is None and DECLARED["department"].label == "Department"
    assert parse_declarations(None) == {} and parse_declarations({}) == {}


@pytest.mark.parametrize(
    ("raw", "path", "words"),
    [
        (["region"], "dimensions", "map"),
        ({f"d{i}": {} for i in range(MAX_DIMENSIONS + 1)}, "dimensions", "at most 5"),
        ({"Region": {}}, "dimensions.Region", "lower-case"),
        ({"a__b": {}}, "dimensions.a__b", "single underscores"),
        ({"region": {"colour": "red"}}, "dimensions.region", "unknown field"),
        ({"region": {"label": ""}}, "dimensions.region.label", "1-100"),
        ({"region": {"values": "emea"}}, "dimensions.region.values", "list"),
        ({"region": {"values": ["ok", "not ok"]}}, "dimensions.region.values", "letters, digits"),
        (
            {"region": {"values": [f"v{i}" for i in range(MAX_DECLARED_VALUES + 1)]}},
            "dimensions.region.values",
            "at most",
        ),
        ({"region": {"values": [f"{i:03d}" + "v" * 96 for i in range(101)]}}, "dimensions.region.values", "10,000"),
        ({"a" * 65: {}}, "dimensions." + "a" * 65, "lower-case"),
        ({"_region": {}}, "dimensions._region", "lower-case"),
        ({"region_": {}}, "dimensions.region_", "lower-case"),
    ],
)
def test_a_broken_declaration_says_where_and_why(raw, path, words):
    with pytest.raises(DimensionError) as caught:
        parse_declarations(raw)
    assert caught.value.path == path and words in caught.value.message


def test_names_are_what_the_docs_say_lower_case_words_joined_by_underscores_up_to_64_characters():
    # docs/kpis.md, the contract's schemas and firestore.rules (tests/rules) accept exactly these.
    for name in ["a" * 31 + "_" + "b" * 32, "a_b_c_d_e_f_g_h_i", "cost_centre2", "q4", "a" * 64]:
        assert set(parse_declarations({name: {}})) == {name}


# --- the contract and the check against the declaration -------------------------------------------


def test_v1_events_without_dimensions_are_unaffected():
    plan, stored = apply([event("a", 1)])
    assert plan.results[0].outcome is Outcome.APPLIED
    assert stored["a"].record is not None and stored["a"].record.dimensions is None
    assert plan.changes[0].dimension_deltas() == {}


@pytest.mark.parametrize(
    ("dims", "code", "words"),
    [
        (
            {"customer": "c1"},
            "unknown_dimension",
            "dimension 'customer' is not declared by the org (declared: department, region)",
        ),
        ({"region": "latam"}, "unknown_dimension_value", "'latam' is not a declared value of dimension 'region'"),
    ],
)
def test_an_undeclared_dimension_or_value_is_rejected_with_its_reason(dims, code, words):
    plan, stored = apply([event("a", 1, dims=dims)])
    result = plan.results[0]
    assert (result.outcome, result.code) == (Outcome.REJECTED, code)
    assert words in result.reason
    assert stored["a"].record is None and plan.changes == []


def test_a_malformed_dimension_value_is_refused_by_the_contract():
    with pytest.raises(Exception, match=r"record.dimensions: value of dimension 'region' 'e m' must be"):
        parse_event(json.dumps(event("a", 1, dims={"region": "e m"})))


def test_a_record_keeps_its_dimensions_through_the_change_document_and_message():
    plan, _ = apply(
        [
            event("a", 1, dims={"region": "emea", "department": "sales"}),
            event("a", 2, dims={"region": "amer", "department": "sales"}),
        ]
    )
    assert decode_changes(encode_changes(plan.changes)) == tuple(plan.changes)
    message = ChangeMessage.of("c1", "acme", "2026-10-05T12:00:00Z", "USD", plan.changes)
    assert decode_change_message(encode_change_message(message)) == message
    # Created then moved in one commit: only the final value counts, the first telescopes away.
    assert message.dimension_deltas == {
        DimensionKey("department", "sales", "us-east", "2026-10", "actual"): _delta(10000),
        DimensionKey("department", "sales", "_all", "2026-10", "actual"): _delta(10000),
        DimensionKey("region", "amer", "us-east", "2026-10", "actual"): _delta(10000),
        DimensionKey("region", "amer", "_all", "2026-10", "actual"): _delta(10000),
    }


def test_a_record_changing_its_value_moves_its_amount_exactly():
    _, stored = apply([event("a", 1, dims={"region": "emea"}, amount="100.00")])
    plan, _ = apply([event("a", 2, dims={"region": "amer"}, amount="70.01")], stored)
    deltas = plan.changes[0].dimension_deltas()
    assert deltas[DimensionKey("region", "emea", "us-east", "2026-10", "actual")].accounts == {"4100": -10000}
    assert deltas[DimensionKey("region", "emea", "us-east", "2026-10", "actual")].record_count == -1
    assert deltas[DimensionKey("region", "amer", "_all", "2026-10", "actual")].accounts == {"4100": 7001}


def _delta(minor: int, account: str = "4100", count: int = 1):
    from finance_core.aggregates import AggregateDelta

    return AggregateDelta({account: minor}, count)


# --- any stream, any split: the dimension aggregates equal the live records ---------------------


def dimension_stream(seed: int) -> list[dict[str, Any]]:
    """Versions with moves between values, dimensions added and dropped, deletes, duplicates, shuffled."""
    rng = random.Random(seed)
    events = []
    for number in range(12):
        record_id = f"r{number}"
        versions = rng.randint(1, 4)
        for version in range(1, versions + 1):
            if version == versions and rng.random() < 0.25:
                events.append(event(record_id, version, delete=True))
                continue
            dims: dict[str, str] = {}
            if rng.random() < 0.8:
                dims["region"] = rng.choice(["emea", "amer", "apac"])
            if rng.random() < 0.5:
                dims["department"] = rng.choice(["sales", "rnd"])
            events.append(
                event(
                    record_id,
                    version,
                    dims=dims or None,
                    entity=rng.choice(["us-east", "eu-central"]),
                    account=rng.choice(["4100", "6100"]),
                    period=rng.choice(["2026-10", "2026-11"]),
                    amount=f"{rng.randint(-50_000, 90_000) / 100:.2f}",
                )
            )
    events += [dict(e) for e in rng.sample(events, len(events) // 4)]  # redeliveries
    rng.shuffle(events)
    return events


def ground_truth(records) -> dict[DimensionKey, tuple[dict[str, int], int]]:
    """Group the live records by (dimension, value, entity | _all, period, scenario), independently."""
    totals: dict[DimensionKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[DimensionKey, int] = defaultdict(int)
    for record in records:
        for name, value in (record.dimensions or {}).items():
            for entity in (record.entity_id, "_all"):
                key = DimensionKey(name, value, entity, record.period, record.scenario)
                totals[key][record.account_id] += record.reporting_amount_minor
                counts[key] += 1
    return {key: ({a: m for a, m in totals[key].items() if m}, counts[key]) for key in counts}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(1, 20), max_size=6))
def test_dimension_aggregates_of_any_split_equal_the_live_records(seed, cuts):
    bodies = dimension_stream(seed)
    stored: dict[str, StoredRecord] = {}
    messages = []
    start = 0
    for size in [*cuts, len(bodies)]:
        chunk = bodies[start : start + size]
        start += size
        if chunk:
            plan, stored = apply(chunk, stored)
            messages.append(ChangeMessage.of(f"c{start}", "acme", "2026-10-05T12:00:00Z", "USD", plan.changes))
    # What the shards receive: one combined delta per message, decoded as consumers decode it.
    applied = sum_deltas(decode_change_message(encode_change_message(m)).dimension_deltas for m in messages)
    truth = ground_truth(live_records(stored))
    assert {k: (d.accounts, d.record_count) for k, d in applied.items()} == truth
    assert dimension_aggregates_from_records(live_records(stored)) == applied


def test_a_fact_row_carries_the_dimensions_as_a_repeated_record():
    from datetime import UTC, datetime

    from finance_core.analytics_rows import FinancialFact, bigquery_schema
    from finance_core.facts import fact_row

    _, stored = apply([event("a", 1, dims={"region": "emea", "department": "sales"})])
    row = fact_row(
        stored["a"].record,
        op="upsert",
        version=1,
        event_id="a-v1",
        account_type="revenue",
        reporting_currency="USD",
        ingested_at=datetime(2026, 10, 5, tzinfo=UTC),
    )
    assert [(d.name, d.value) for d in row.dimensions] == [("department", "sales"), ("region", "emea")]
    column = next(c for c in bigquery_schema(FinancialFact) if c["name"] == "dimensions")
    assert (column["type"], column["mode"]) == ("RECORD", "REPEATED")
    assert [f["name"] for f in column["fields"]] == ["name", "value"]

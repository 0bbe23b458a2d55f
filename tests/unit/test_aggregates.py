"""Aggregate keys, exact record deltas (including moves), ground truth from records, shards and views."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from finance_core.accounts import ChartOfAccounts
from finance_core.aggregates import (
    AggregateDelta,
    AggregateKey,
    FoldedTotals,
    aggregates_from_records,
    build_view,
    dominates,
    fold_shards,
    record_delta,
    record_keys,
    sum_deltas,
)
from finance_core.metrics import MetricGraph
from finance_core.records import RecordState
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
US = AggregateKey("us-east", "2026-10", "actual")
ALL = AggregateKey("_all", "2026-10", "actual")


def demo_chart() -> ChartOfAccounts:
    reference = json.loads((ROOT / "demo_data" / "reference.json").read_text())
    return ChartOfAccounts.from_documents(
        {
            a["account_id"]: {"name": a["name"], "type": a["type"], "parent_id": a["parent_id"]}
            for a in reference["accounts"]
        }
    )


def record(
    record_id: str = "JE-1",
    *,
    version: int = 1,
    entity: str = "us-east",
    account: str = "4100",
    period: str = "2026-10",
    scenario: str = "actual",
    minor: int = 100_00,
) -> RecordState:
    return RecordState(
        org_id="acme",
        record_id=record_id,
        version=version,
        event_id=f"{record_id}-v{version}",
        entity_id=entity,
        account_id=account,
        period=period,
        scenario=scenario,
        amount=Decimal(minor).scaleb(-2),
        currency="USD",
        amount_minor=minor,
        reporting_amount_minor=minor,
    )


def tombstone(record_id: str = "JE-1", version: int = 2) -> RecordState:
    return RecordState(org_id="acme", record_id=record_id, version=version, event_id=f"{record_id}-del", deleted=True)


def delta(accounts: dict[str, int], count: int) -> AggregateDelta:
    return AggregateDelta(accounts, count)


# --- keys --------------------------------------------------------------------------------------


def test_aggregate_key_document_ids():
    assert US.doc_id == "us-east__2026-10__actual"
    assert AggregateKey.from_doc_id("us-east__2026-10__actual") == US
    assert US.consolidated() == ALL and ALL.doc_id == "_all__2026-10__actual"
    assert ALL.is_consolidated and not US.is_consolidated
    assert record_keys(record()) == (US, ALL)
    assert sorted([US, ALL]) == [ALL, US], "keys sort (the consolidated one first)"


# --- record_delta ------------------------------------------------------------------------------


def test_a_new_record_adds_to_its_entity_and_the_consolidated_aggregate():
    assert record_delta(None, record()) == {US: delta({"4100": 100_00}, 1), ALL: delta({"4100": 100_00}, 1)}


def test_a_delete_subtracts_what_the_record_added():
    assert record_delta(record(), tombstone()) == {US: delta({"4100": -100_00}, -1), ALL: delta({"4100": -100_00}, -1)}
    assert record_delta(record(), None) == record_delta(record(), tombstone())


def test_an_amount_change_moves_the_amount_but_not_the_count():
    after = record(version=2, minor=250_00)
    assert record_delta(record(), after) == {US: delta({"4100": 150_00}, 0), ALL: delta({"4100": 150_00}, 0)}


def test_a_move_to_another_entity_leaves_the_consolidated_total_alone():
    after = record(version=2, entity="us-west")
    west = AggregateKey("us-west", "2026-10", "actual")
    assert record_delta(record(), after) == {US: delta({"4100": -100_00}, -1), west: delta({"4100": 100_00}, 1)}


def test_a_move_to_another_entity_with_a_new_amount_changes_the_consolidated_by_the_difference():
    after = record(version=2, entity="us-west", minor=130_00)
    west = AggregateKey("us-west", "2026-10", "actual")
    assert record_delta(record(), after) == {
        US: delta({"4100": -100_00}, -1),
        west: delta({"4100": 130_00}, 1),
        ALL: delta({"4100": 30_00}, 0),
    }


@pytest.mark.parametrize(("field", "value"), [("period", "2026-11"), ("scenario", "budget")])
def test_a_move_to_another_period_or_scenario_moves_both_keys(field, value):
    after = replace(record(version=2), **{field: value})
    new_key = replace(US, **{field: value})
    assert record_delta(record(), after) == {
        US: delta({"4100": -100_00}, -1),
        ALL: delta({"4100": -100_00}, -1),
        new_key: delta({"4100": 100_00}, 1),
        new_key.consolidated(): delta({"4100": 100_00}, 1),
    }


def test_a_move_to_another_account_stays_in_the_same_aggregates():
    after = record(version=2, account="4200")
    expected = delta({"4100": -100_00, "4200": 100_00}, 0)
    assert record_delta(record(), after) == {US: expected, ALL: expected}


def test_a_change_that_changes_nothing_yields_no_delta():
    assert record_delta(record(), record(version=2)) == {}
    assert record_delta(None, None) == {}
    assert record_delta(tombstone(), None) == {}
    assert record_delta(None, tombstone()) == {}


def test_a_live_record_without_reporting_amount_is_an_error():
    broken = replace(record(), reporting_amount_minor=None)
    with pytest.raises(ValueError, match="JE-1 has no reporting amount"):
        record_delta(None, broken)


# --- sum_deltas and ground truth ---------------------------------------------------------------


def test_sum_deltas_adds_accounts_and_counts():
    first = {US: delta({"4100": 10}, 1)}
    second = {US: delta({"4100": 5, "5100": 3}, 1), ALL: delta({"5100": 3}, 1)}
    assert sum_deltas([first, second]) == {US: delta({"4100": 15, "5100": 3}, 2), ALL: delta({"5100": 3}, 1)}


def test_sum_deltas_drops_keys_that_net_to_nothing():
    # A record created then deleted in the same batch: the aggregate must not even be touched.
    created, deleted = record_delta(None, record()), record_delta(record(), tombstone())
    assert sum_deltas([created, deleted]) == {}
    assert sum_deltas([{US: delta({"4100": 5}, 0)}, {US: delta({"4100": -5}, 0)}]) == {}


def test_sum_deltas_keeps_a_count_change_without_amount():
    zero_amount = record(minor=0)
    assert sum_deltas([record_delta(None, zero_amount)]) == {US: delta({}, 1), ALL: delta({}, 1)}


def test_aggregates_from_records_ignores_tombstones():
    records = [
        record("a", minor=100),
        record("b", account="5100", minor=40),
        record("c", entity="eu-central", minor=7),
        tombstone("d"),
    ]
    eu = AggregateKey("eu-central", "2026-10", "actual")
    assert aggregates_from_records(records) == {
        US: delta({"4100": 100, "5100": 40}, 2),
        eu: delta({"4100": 7}, 1),
        ALL: delta({"4100": 107, "5100": 40}, 3),
    }


# --- property: the sum of deltas equals the ground truth ---------------------------------------

ENTITIES = ["us-east", "us-west", "eu-central"]
PERIODS = ["2026-09", "2026-10", "2026-11"]
SCENARIOS = ["actual", "budget", "forecast"]
ACCOUNTS = ["4100", "4200", "5100", "6100", "8200"]

record_fields = st.fixed_dictionaries(
    {
        "entity": st.sampled_from(ENTITIES),
        "period": st.sampled_from(PERIODS),
        "scenario": st.sampled_from(SCENARIOS),
        "account": st.sampled_from(ACCOUNTS),
        "minor": st.integers(-(10**12), 10**12),
    }
)
# A change: (record index, None for a delete or the new fields for a create/update).
changes = st.lists(st.tuples(st.integers(0, 5), st.none() | record_fields), max_size=40)


@settings(max_examples=100, deadline=None)
@given(changes)
def test_the_sum_of_record_deltas_equals_the_aggregates_of_the_final_records(sequence):
    states: dict[str, RecordState] = {}
    applied = []
    for index, (number, fields) in enumerate(sequence):
        record_id = f"r{number}"
        before = states.get(record_id)
        version = index + 1
        after = tombstone(record_id, version) if fields is None else record(record_id, version=version, **fields)
        applied.append(record_delta(before, after))
        states[record_id] = after
    assert sum_deltas(applied) == aggregates_from_records(states.values())


@settings(max_examples=60, deadline=None)
@given(changes)
def test_each_consolidated_aggregate_is_the_sum_of_its_entities(sequence):
    states: dict[str, RecordState] = {}
    for index, (number, fields) in enumerate(sequence):
        record_id = f"r{number}"
        states[record_id] = tombstone(record_id, index + 1) if fields is None else record(record_id, **fields)
    truth = aggregates_from_records(states.values())
    by_consolidated: dict[AggregateKey, list[AggregateDelta]] = {}
    for key, value in truth.items():
        if not key.is_consolidated:
            by_consolidated.setdefault(key.consolidated(), []).append(value)
    for key, value in truth.items():
        if key.is_consolidated:
            parts = by_consolidated.get(key, [])
            assert value == sum_deltas([{key: p} for p in parts])[key]


# --- dominates ---------------------------------------------------------------------------------


def test_dominates_examples():
    assert dominates({"0": 3, "1": 2}, {"0": 3, "1": 1})
    assert not dominates({"0": 3, "1": 0}, {"0": 2, "1": 1}), "shard 1 went backwards"
    assert dominates({"0": 1}, {}) and dominates({}, {})
    assert not dominates({}, {"0": 1}), "a missing shard counts as 0"
    assert dominates({"0": 1, "2": 5}, {"0": 1})


seq_vectors = st.dictionaries(st.sampled_from(["0", "1", "2", "3"]), st.integers(0, 6), max_size=4)


def componentwise_ge(a: dict[str, int], b: dict[str, int]) -> bool:
    return all(a.get(k, 0) >= b.get(k, 0) for k in set(a) | set(b))


def same_vector(a: dict[str, int], b: dict[str, int]) -> bool:
    return all(a.get(k, 0) == b.get(k, 0) for k in set(a) | set(b))


@settings(max_examples=200, deadline=None)
@given(seq_vectors, seq_vectors, seq_vectors)
def test_dominates_is_the_componentwise_partial_order(a, b, c):
    assert dominates(a, b) == componentwise_ge(a, b)
    assert dominates(a, a), "reflexive"
    if dominates(a, b) and dominates(b, a):
        assert same_vector(a, b), "antisymmetric (a missing shard is shard 0)"
    if dominates(a, b) and dominates(b, c):
        assert dominates(a, c), "transitive"
    merged = {k: max(a.get(k, 0), b.get(k, 0)) for k in set(a) | set(b)}
    assert dominates(merged, a) and dominates(merged, b), "the componentwise max is an upper bound"


# --- shards ------------------------------------------------------------------------------------


def test_fold_shards_sums_accounts_counts_and_keeps_each_sequence():
    folded = fold_shards(
        {
            "0": {"accounts": {"4100": 100, "5100": 40}, "record_count": 2, "seq": 7},
            "1": {"accounts": {"4100": -100, "6100": "25"}, "record_count": 1, "seq": 3},
            "2": {},
        }
    )
    assert folded == FoldedTotals(accounts={"5100": 40, "6100": 25}, record_count=3, seq={"0": 7, "1": 3, "2": 0})
    assert fold_shards({}) == FoldedTotals({}, 0, {})


# --- build_view --------------------------------------------------------------------------------


def stored(metrics):
    """Metrics as a Firestore document gives them back: money int, percentages float."""
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in metrics.items()}


def test_build_view_of_a_month():
    chart, graph = demo_chart(), MetricGraph()
    totals = FoldedTotals({"4100": 600_00, "4200": 400_00, "5100": 350_00, "6100": 200_00, "8200": 50_00}, 5, {})
    view = build_view(totals, chart, graph)
    assert view.accounts == totals.accounts and view.record_count == 5
    assert view.rollups == {"4000": 1000_00, "5000": 350_00, "6000": 200_00, "8000": 50_00}
    assert view.totals_by_type == {"revenue": 1000_00, "cogs": 350_00, "opex": 200_00, "other_expense": 50_00}
    assert view.metrics["gross_profit"] == 650_00 and view.metrics["gross_margin_pct"] == Decimal("65.0000")
    assert view.metrics["ebitda"] == 450_00 and view.metrics["net_income"] == 400_00


def test_an_account_removed_from_the_chart_keeps_its_total_but_feeds_nothing():
    totals = FoldedTotals({"4100": 100, "retired": 999}, 2, {})
    view = build_view(totals, demo_chart(), MetricGraph())
    assert view.accounts == {"4100": 100, "retired": 999}
    assert view.rollups == {"4000": 100} and view.metrics["revenue"] == 100


def test_build_view_recomputes_from_stored_previous_metrics_exactly():
    chart, graph = demo_chart(), MetricGraph()
    before = FoldedTotals({"4100": 300_00, "5100": 100_00}, 2, {})
    first = build_view(before, chart, graph)
    assert first.metrics["gross_margin_pct"] == Decimal("66.6667")
    after = FoldedTotals({"4100": 300_00, "5100": 100_00, "9100": 10_00}, 3, {})
    incremental = build_view(after, chart, graph, stored(first.metrics), first.totals_by_type)
    assert incremental == build_view(after, chart, graph)
    assert incremental.metrics["gross_margin_pct"] == Decimal("66.6667"), "a carried margin is an exact Decimal again"


@settings(max_examples=60, deadline=None)
@given(changes)
def test_views_built_change_by_change_equal_a_full_recompute(sequence):
    chart, graph = demo_chart(), MetricGraph()
    states: dict[str, RecordState] = {}
    totals: dict[AggregateKey, dict[str, int]] = {}
    views = {}
    for index, (number, fields) in enumerate(sequence):
        record_id = f"r{number}"
        before = states.get(record_id)
        after = tombstone(record_id, index + 1) if fields is None else record(record_id, version=index + 1, **fields)
        states[record_id] = after
        for key, change in record_delta(before, after).items():
            accounts = totals.setdefault(key, {})
            for account_id, minor in change.accounts.items():
                accounts[account_id] = accounts.get(account_id, 0) + minor
            folded = FoldedTotals({k: v for k, v in accounts.items() if v}, 0, {})
            previous = views.get(key)
            views[key] = build_view(
                folded,
                chart,
                graph,
                stored(previous.metrics) if previous else None,
                previous.totals_by_type if previous else None,
            )
    for key, truth in aggregates_from_records(states.values()).items():
        full = build_view(FoldedTotals(truth.accounts, 0, {}), chart, graph)
        assert views[key].metrics == full.metrics and views[key].rollups == full.rollups

"""Aggregate keys, the exact delta of one record change, and folding sharded partial totals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from finance_core.accounts import AccountType, ChartOfAccounts
from finance_core.identifiers import CONSOLIDATED_ENTITY, KEY_SEPARATOR
from finance_core.metrics import MetricGraph, MetricValue, totals_by_type
from finance_core.records import RecordState


@dataclass(frozen=True, order=True)
class AggregateKey:
    """Which aggregate document a record counts in: entity x period x scenario."""

    entity_id: str
    period: str
    scenario: str

    @property
    def doc_id(self) -> str:
        """Firestore document id, e.g. 'us-east__2026-10__actual'."""
        return KEY_SEPARATOR.join((self.entity_id, self.period, self.scenario))

    @classmethod
    def from_doc_id(cls, doc_id: str) -> AggregateKey:
        """Inverse of doc_id."""
        entity_id, period, scenario = doc_id.split(KEY_SEPARATOR)
        return cls(entity_id, period, scenario)

    def consolidated(self) -> AggregateKey:
        """The all-entities key of the same period and scenario."""
        return AggregateKey(CONSOLIDATED_ENTITY, self.period, self.scenario)

    @property
    def is_consolidated(self) -> bool:
        """True for the '_all' key."""
        return self.entity_id == CONSOLIDATED_ENTITY


@dataclass
class AggregateDelta:
    """Change of one aggregate: per-account minor units and the number of live records.

    `days` and `day_counts` split the part of it that dated records make by day of the month
    ('05' -> account -> minor units, '05' -> records): the daily totals ride in the monthly
    aggregate's own shards and documents, so they are applied, folded and versioned with it.
    """

    accounts: dict[str, int] = field(default_factory=dict)
    record_count: int = 0
    days: dict[str, dict[str, int]] = field(default_factory=dict)
    day_counts: dict[str, int] = field(default_factory=dict)

    def add(self, account_id: str, minor: int, records: int, day: str | None = None) -> None:
        """Accumulate one record's (signed) contribution, on its day too when it has one."""
        self.accounts[account_id] = self.accounts.get(account_id, 0) + minor
        self.record_count += records
        if day is not None:
            self.add_day(day, account_id, minor, records)

    def add_day(self, day: str, account_id: str, minor: int, records: int) -> None:
        """Accumulate a contribution to one day's totals only."""
        accounts = self.days.setdefault(day, {})
        accounts[account_id] = accounts.get(account_id, 0) + minor
        self.day_counts[day] = self.day_counts.get(day, 0) + records

    def pruned(self) -> AggregateDelta:
        """The same delta without zero account entries (nor days that net to nothing)."""
        days = {day: {k: v for k, v in accounts.items() if v != 0} for day, accounts in self.days.items()}
        counts = {day: n for day, n in self.day_counts.items() if n != 0}
        return AggregateDelta(
            {k: v for k, v in self.accounts.items() if v != 0},
            self.record_count,
            {day: accounts for day, accounts in days.items() if accounts},
            counts,
        )

    @property
    def is_zero(self) -> bool:
        """True if applying it changes nothing (a move between two days of one month is not nothing)."""
        return (
            self.record_count == 0
            and all(v == 0 for v in self.accounts.values())
            and all(v == 0 for accounts in self.days.values() for v in accounts.values())
            and all(n == 0 for n in self.day_counts.values())
        )

    def counters(self) -> dict[str, Any]:
        """The nested counters a shard document adds up (days only when there are some)."""
        body: dict[str, Any] = {"accounts": self.accounts, "record_count": self.record_count}
        if self.days or self.day_counts:
            body["days"] = self.days
            body["day_counts"] = self.day_counts
        return body


def record_keys(state: RecordState) -> tuple[AggregateKey, AggregateKey]:
    """The entity key and the consolidated key a live record counts in."""
    key = AggregateKey(str(state.entity_id), str(state.period), str(state.scenario))
    return key, key.consolidated()


def record_delta(before: RecordState | None, after: RecordState | None) -> dict[AggregateKey, AggregateDelta]:
    """Exact change of every aggregate when a record goes from `before` to `after`.

    Either side may be absent or a tombstone. An update that moves the record to another entity,
    period or scenario yields a negative delta on the old keys and a positive one on the new.
    """
    deltas: dict[AggregateKey, AggregateDelta] = {}
    for state, sign in ((before, -1), (after, 1)):
        if state is None or not state.is_live:
            continue
        if state.reporting_amount_minor is None or state.account_id is None:
            raise ValueError(f"record {state.record_id} has no reporting amount or account")
        for key in record_keys(state):
            deltas.setdefault(key, AggregateDelta()).add(
                state.account_id, sign * state.reporting_amount_minor, sign, state.day
            )
    pruned = {key: delta.pruned() for key, delta in deltas.items()}
    return {key: delta for key, delta in pruned.items() if not delta.is_zero}


KeyT = TypeVar("KeyT", bound=object)


def sum_deltas(deltas: Iterable[Mapping[KeyT, AggregateDelta]]) -> dict[KeyT, AggregateDelta]:
    """Add many record deltas together (ground truth and batch application), for any kind of key.

    Keys whose changes cancel out (a record created and deleted in the same batch) are left out,
    like record_delta leaves out a change that changes nothing: no aggregate is touched for them.
    """
    total: dict[KeyT, AggregateDelta] = {}
    for delta_map in deltas:
        for key, delta in delta_map.items():
            target = total.setdefault(key, AggregateDelta())
            for account_id, minor in delta.accounts.items():
                target.add(account_id, minor, 0)
            target.record_count += delta.record_count
            for day, accounts in delta.days.items():
                for account_id, minor in accounts.items():
                    target.add_day(day, account_id, minor, 0)
            for day, count in delta.day_counts.items():
                target.day_counts[day] = target.day_counts.get(day, 0) + count
    pruned = {key: delta.pruned() for key, delta in total.items()}
    return {key: delta for key, delta in pruned.items() if not delta.is_zero}


def aggregates_from_records(records: Iterable[RecordState]) -> dict[AggregateKey, AggregateDelta]:
    """Aggregates computed from scratch from a set of records (reconciliation's ground truth)."""
    return sum_deltas(record_delta(None, record) for record in records)


# --- sharded partial aggregates -------------------------------------------------------------

SeqVector = Mapping[str, int]
# The field of a readable aggregate that holds the sequence number of each shard it folded.
SHARD_SEQ_FIELD = "shard_seq"


def dominates(newer: SeqVector, older: SeqVector) -> bool:
    """True if every shard of `older` is included in `newer` (componentwise >=).

    Each shard's sequence number only grows, so a fold that dominates another has seen
    everything the other saw: writing it can never move the readable document backwards.
    """
    return all(newer.get(shard, 0) >= seq for shard, seq in older.items())


def aggregate_version(document: Mapping[str, Any] | None) -> int:
    """A number that grows with every change folded into a readable aggregate (the sum of its shard sequences)."""
    return sum(int(v) for v in ((document or {}).get(SHARD_SEQ_FIELD) or {}).values())


@dataclass(frozen=True)
class FoldedTotals:
    """Sum of all shards of one aggregate key."""

    accounts: dict[str, int]
    record_count: int
    seq: dict[str, int]
    # Day of the month -> account -> minor units, and day -> records (dated records only).
    days: dict[str, dict[str, int]] = field(default_factory=dict)
    day_counts: dict[str, int] = field(default_factory=dict)

    def delta(self) -> AggregateDelta:
        """The totals as a delta from nothing (what reconciliation compares with the records)."""
        return AggregateDelta(dict(self.accounts), self.record_count, self.days, self.day_counts)


def fold_shards(shards: Mapping[str, Mapping[str, Any]]) -> FoldedTotals:
    """Sum shard documents `{shard_id: {accounts: {...}, record_count, seq, days?, day_counts?}}`."""
    total = AggregateDelta()
    seq: dict[str, int] = {}
    for shard_id, shard in shards.items():
        for account_id, minor in dict(shard.get("accounts") or {}).items():
            total.add(account_id, int(minor), 0)
        total.record_count += int(shard.get("record_count") or 0)
        for day, accounts in dict(shard.get("days") or {}).items():
            for account_id, minor in dict(accounts or {}).items():
                total.add_day(str(day), str(account_id), int(minor), 0)
        for day, count in dict(shard.get("day_counts") or {}).items():
            total.day_counts[str(day)] = total.day_counts.get(str(day), 0) + int(count)
        seq[shard_id] = int(shard.get("seq") or 0)
    kept = total.pruned()
    return FoldedTotals(kept.accounts, total.record_count, seq, kept.days, kept.day_counts)


@dataclass(frozen=True)
class AggregateView:
    """The readable aggregate: account totals, roll-ups, derived metrics."""

    accounts: dict[str, int]
    rollups: dict[str, int]
    metrics: dict[str, MetricValue]
    record_count: int
    totals_by_type: dict[str, int]


def build_view(
    totals: FoldedTotals,
    chart: ChartOfAccounts,
    graph: MetricGraph,
    previous_metrics: Mapping[str, MetricValue] | None = None,
    previous_totals_by_type: Mapping[str, int] | None = None,
) -> AggregateView:
    """Readable aggregate from folded totals; recomputes only metrics whose inputs changed.

    Accounts no longer in the chart keep their totals but feed no roll-up or metric, so a
    chart edit never makes an aggregate unreadable.
    """
    known = {account_id: minor for account_id, minor in totals.accounts.items() if account_id in chart}
    by_type = totals_by_type(known, {account_id: chart.type_of(account_id) for account_id in known})
    by_type_doc = {account_type.value: minor for account_type, minor in by_type.items()}
    if previous_metrics is not None and previous_totals_by_type is not None:
        changed = {
            AccountType(name)
            for name in set(by_type_doc) | set(previous_totals_by_type)
            if by_type_doc.get(name, 0) != int(previous_totals_by_type.get(name, 0))
        }
        metrics = graph.evaluate(by_type, previous=_decimal_metrics(previous_metrics, graph), changed_types=changed)
    else:
        metrics = graph.evaluate(by_type)
    return AggregateView(
        accounts=dict(totals.accounts),
        rollups=chart.rollups(known),
        metrics=metrics,
        record_count=totals.record_count,
        totals_by_type=by_type_doc,
    )


def _decimal_metrics(stored: Mapping[str, MetricValue], graph: MetricGraph) -> dict[str, MetricValue]:
    """Metrics read back from storage: percentages come back as floats; restore exact Decimals."""
    restored: dict[str, MetricValue] = {}
    for name, value in stored.items():
        definition = graph.definitions.get(name)
        if definition is None or value is None:
            restored[name] = value
        elif definition.is_percentage:
            restored[name] = Decimal(str(value)).quantize(Decimal("0.0001"))
        else:
            restored[name] = int(value)
    return restored

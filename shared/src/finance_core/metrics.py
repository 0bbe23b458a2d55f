"""Calculation graph of derived metrics, defined as data, recomputed only where inputs changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from graphlib import CycleError, TopologicalSorter

from finance_core.accounts import AccountType

PERCENT_QUANTUM = Decimal("0.0001")

MetricValue = int | Decimal | None


@dataclass(frozen=True)
class MetricDefinition:
    """One metric. Exactly one of the three shapes is used.

    - `account_types`: sum (in minor units) of the accounts of these types;
    - `terms`: integer linear combination of other metrics, e.g. {"revenue": 1, "cogs": -1};
    - `ratio`: (numerator, denominator) metrics, as a percentage with 4 decimals; None when the
      denominator is zero, since a margin on no revenue is undefined, not infinite.
    """

    name: str
    label: str
    account_types: frozenset[AccountType] = frozenset()
    terms: Mapping[str, int] = field(default_factory=dict)
    ratio: tuple[str, str] | None = None

    @property
    def inputs(self) -> frozenset[str]:
        """Metric names this metric reads."""
        if self.ratio:
            return frozenset(self.ratio)
        return frozenset(self.terms)

    @property
    def is_percentage(self) -> bool:
        """True for ratios (not money)."""
        return self.ratio is not None


def _sum(name: str, label: str, *types: AccountType) -> MetricDefinition:
    return MetricDefinition(name, label, account_types=frozenset(types))


STANDARD_METRICS: tuple[MetricDefinition, ...] = (
    _sum("revenue", "Revenue", AccountType.REVENUE),
    _sum("cogs", "Cost of goods sold", AccountType.COGS),
    _sum("opex", "Operating expenses", AccountType.OPEX),
    _sum("other_income", "Other income", AccountType.OTHER_INCOME),
    _sum("other_expense", "Other expense (interest, D&A)", AccountType.OTHER_EXPENSE),
    _sum("tax", "Income tax", AccountType.TAX),
    MetricDefinition("gross_profit", "Gross profit", terms={"revenue": 1, "cogs": -1}),
    MetricDefinition("gross_margin_pct", "Gross margin %", ratio=("gross_profit", "revenue")),
    MetricDefinition("ebitda", "EBITDA", terms={"gross_profit": 1, "opex": -1}),
    MetricDefinition("ebitda_margin_pct", "EBITDA margin %", ratio=("ebitda", "revenue")),
    MetricDefinition(
        "net_income", "Net income", terms={"ebitda": 1, "other_income": 1, "other_expense": -1, "tax": -1}
    ),
    MetricDefinition("net_margin_pct", "Net margin %", ratio=("net_income", "revenue")),
)


class MetricGraphError(ValueError):
    """The metric definitions reference unknown metrics or depend on themselves."""


class MetricGraph:
    """Evaluates metric definitions in dependency order; can recompute only what a change touches."""

    def __init__(self, definitions: Iterable[MetricDefinition] = STANDARD_METRICS):
        self.definitions = {d.name: d for d in definitions}
        sorter: TopologicalSorter[str] = TopologicalSorter()
        for definition in self.definitions.values():
            unknown = definition.inputs - self.definitions.keys()
            if unknown:
                raise MetricGraphError(f"metric {definition.name!r} uses unknown metrics {sorted(unknown)}")
            sorter.add(definition.name, *definition.inputs)
        try:
            self.order: tuple[str, ...] = tuple(sorter.static_order())
        except CycleError as exc:
            raise MetricGraphError(f"metric definitions form a cycle: {' -> '.join(exc.args[1])}") from None
        self._dependents: dict[str, set[str]] = {name: set() for name in self.definitions}
        for definition in self.definitions.values():
            for source in definition.inputs:
                self._dependents[source].add(definition.name)

    def base_metrics_for(self, account_type: AccountType) -> set[str]:
        """Names of the sum metrics fed by accounts of this type."""
        return {d.name for d in self.definitions.values() if account_type in d.account_types}

    def affected_by(self, account_types: Iterable[AccountType]) -> list[str]:
        """Metrics to recompute when accounts of these types change, in evaluation order."""
        dirty: set[str] = set()
        frontier = [m for t in set(account_types) for m in self.base_metrics_for(t)]
        while frontier:
            name = frontier.pop()
            if name in dirty:
                continue
            dirty.add(name)
            frontier.extend(self._dependents[name])
        return [name for name in self.order if name in dirty]

    def evaluate(
        self,
        totals_by_type: Mapping[AccountType, int],
        previous: Mapping[str, MetricValue] | None = None,
        changed_types: Iterable[AccountType] | None = None,
    ) -> dict[str, MetricValue]:
        """Metric values from per-type totals (minor units).

        With `previous` and `changed_types`, only the metrics downstream of the changed types are
        recomputed and the others are carried over; the result equals a full evaluation.
        """
        if previous is None or changed_types is None:
            names = list(self.order)
            values: dict[str, MetricValue] = {}
        else:
            names = self.affected_by(changed_types)
            values = {k: v for k, v in previous.items() if k in self.definitions}
            missing = [n for n in self.order if n not in values and n not in names]
            names = [n for n in self.order if n in set(names) | set(missing)]
        for name in names:
            values[name] = self._compute(self.definitions[name], totals_by_type, values)
        return values

    @staticmethod
    def _compute(
        definition: MetricDefinition, totals_by_type: Mapping[AccountType, int], values: Mapping[str, MetricValue]
    ) -> MetricValue:
        if definition.account_types:
            return sum(totals_by_type.get(t, 0) for t in definition.account_types)
        if definition.ratio:
            numerator, denominator = (values.get(n) for n in definition.ratio)
            if numerator is None or denominator in (None, 0):
                return None
            return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)
        total = 0
        for source, weight in definition.terms.items():
            value = values.get(source)
            if value is None:
                return None
            total += weight * int(value)
        return total


def totals_by_type(account_totals: Mapping[str, int], type_of: Mapping[str, AccountType]) -> dict[AccountType, int]:
    """Sum leaf-account totals (minor units) per account type."""
    result: dict[AccountType, int] = {}
    for account_id, amount in account_totals.items():
        account_type = type_of[account_id]
        result[account_type] = result.get(account_type, 0) + amount
    return result

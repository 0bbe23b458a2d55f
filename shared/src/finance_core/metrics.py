"""The standard P&L metrics of one aggregate document: the expression engine's built-in definitions at one period.

Every metric, standard or an org's own, is a definition of the expression language
(`finance_core.metric_series`): the standard ones are `BUILTIN_METRICS` there, with their label,
expression, unit and favourability. This module adds no definition and no arithmetic of its own: it
compiles those definitions with the same engine (`MetricSet`) over a chart with one account per
account type, and runs the compiled cells on one period, because the fold of an aggregate knows its
totals per type. A change of some types recomputes only the metrics they reach. Over a series of
periods, with an org's own definitions, the same definitions compile against the org's chart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, localcontext

from finance_core.accounts import Account, AccountType, ChartOfAccounts
from finance_core.metric_language import Binary, Neg, Node, Ref
from finance_core.metric_series import (
    BUILTIN_METRICS,
    EXACT,
    QUANTUM,
    Calendar,
    MetricSet,
    MetricSpec,
    Unit,
)

PERCENT_QUANTUM = QUANTUM[Unit.PERCENT]

MetricValue = int | Decimal | None

# The standard metrics, in the order they are defined (labels, units and directions for readers).
STANDARD_METRICS: tuple[MetricSpec, ...] = BUILTIN_METRICS
STANDARD_BY_ID: Mapping[str, MetricSpec] = {spec.metric_id: spec for spec in STANDARD_METRICS}

# One account per type: `type("revenue")` selects the account "revenue", whose total is the type's.
_TYPE_CHART = ChartOfAccounts(Account(t.value, t.value, t) for t in AccountType)
# The single period of an aggregate document (any month: the standard metrics use no period function).
_PERIOD = "2000-01"

# A step of an evaluation: the cell's position, and either the account types it sums or how to compute it.
_Step = tuple[int, tuple[tuple[str, int], ...], Callable[[list[list[MetricValue]], int], MetricValue] | None]


class MetricGraph:
    """The standard metrics compiled once; evaluates them from per-type totals, fully or where a change reaches."""

    def __init__(self) -> None:
        metric_set = MetricSet((), _TYPE_CHART, Calendar((_PERIOD,)), balances=False)
        cells = metric_set.cells
        self.definitions: dict[str, MetricSpec] = dict(STANDARD_BY_ID)
        self.order: tuple[str, ...] = tuple(m for m in metric_set.metric_ids if m in self.definitions)
        self._size = len(cells)
        self._positions = [(name, metric_set.index[name]) for name in self.order]
        self._steps: list[_Step] = [(p, cells[p].weights, cells[p].compute) for p in metric_set.evaluation_order]
        # What each account type reaches: the selections summing it and every cell downstream of them.
        self._reach: dict[str, frozenset[int]] = {}
        for account_type in AccountType:
            start = [p for p in metric_set.base_cells if any(a == account_type.value for a, _ in cells[p].weights)]
            reached, frontier = set(start), list(start)
            while frontier:
                for dependent, _ in cells[frontier.pop()].dependents:
                    if dependent not in reached:
                        reached.add(dependent)
                        frontier.append(dependent)
            self._reach[account_type.value] = frozenset(reached)

    def affected_by(self, account_types: Iterable[AccountType]) -> list[str]:
        """Metrics to recompute when accounts of these types change, in evaluation order."""
        reached = self._reached(account_types)
        return [name for name, position in self._positions if position in reached]

    def evaluate(
        self,
        totals_by_type: Mapping[AccountType, int],
        previous: Mapping[str, MetricValue] | None = None,
        changed_types: Iterable[AccountType] | None = None,
    ) -> dict[str, MetricValue]:
        """Metric values from per-type totals (minor units).

        With `previous` and `changed_types`, only the metrics downstream of the changed types are
        recomputed and the others are carried over; the result equals a full evaluation. A
        `previous` lacking a metric gets a full evaluation.
        """
        accounts = {str(t): v for t, v in totals_by_type.items()}
        values: list[list[MetricValue]] = [[None] for _ in range(self._size)]
        steps = self._steps
        if previous is not None and changed_types is not None and all(n in previous for n in self.order):
            for name, position in self._positions:
                values[position][0] = previous[name]
            # Every selection is summed (a few additions); of the rest, only what the change reaches.
            reached = self._reached(changed_types)
            steps = [step for step in steps if step[2] is None or step[0] in reached]
        with localcontext(EXACT):
            for position, weights, compute in steps:
                if compute is None:
                    values[position][0] = sum(weight * accounts.get(a, 0) for a, weight in weights)
                else:
                    values[position][0] = compute(values, 0)
        return {name: values[position][0] for name, position in self._positions}

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one graph per process (standard_graph), never collected
    def _reached_by(self, account_types: frozenset[str]) -> frozenset[int]:
        return frozenset().union(*(self._reach.get(t, frozenset()) for t in account_types))

    def _reached(self, account_types: Iterable[AccountType]) -> frozenset[int]:
        return self._reached_by(frozenset(str(t) for t in account_types))


@functools.cache
def standard_graph() -> MetricGraph:
    """The process's compiled standard metrics (compiling them is done once)."""
    return MetricGraph()


def linear_terms(spec: MetricSpec) -> dict[str, int] | None:
    """The metrics a definition adds up and their signs (`revenue - cogs` -> {revenue: 1, cogs: -1}).

    None when the expression is anything else than a signed sum of other metrics (a ratio, a
    selection of accounts): a report shows the terms of a derived line and checks they add up.
    """
    terms: dict[str, int] = {}

    def walk(node: Node, sign: int) -> bool:
        if isinstance(node, Ref):
            terms[node.name] = terms.get(node.name, 0) + sign
            return True
        if isinstance(node, Neg):
            return walk(node.operand, -sign)
        if isinstance(node, Binary) and node.op in "+-":
            return walk(node.left, sign) and walk(node.right, sign if node.op == "+" else -sign)
        return False

    return {name: sign for name, sign in terms.items() if sign} if walk(spec.expression, 1) else None


def totals_by_type(account_totals: Mapping[str, int], type_of: Mapping[str, AccountType]) -> dict[AccountType, int]:
    """Sum leaf-account totals (minor units) per account type."""
    result: dict[AccountType, int] = {}
    for account_id, amount in account_totals.items():
        account_type = type_of[account_id]
        result[account_type] = result.get(account_type, 0) + amount
    return result

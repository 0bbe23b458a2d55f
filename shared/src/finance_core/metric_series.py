"""An org's metric definitions compiled into a calculation graph over a series of periods, recomputed incrementally.

A *series* is every period of one entity (or the consolidation) and one scenario. Its *cells* are
the values of each metric at each period, plus hidden cells the graph needs: the movement of an
account selection (`type("revenue")`), the argument and result of each period function
(`ytd(revenue)`, `closing(tagged("cash"))`) and the closing position of every balance-sheet
account. A change of the account totals of one period recomputes only the cells that read them,
directly or through period functions, in dependency order, and stops where a value does not
change: the cost of a change does not depend on the metrics it cannot affect.

Values: money is integer minor units of the reporting currency; other units are exact Decimals
rounded half to even at the unit's quantum (percent and ratio 4 decimals, days and months 2);
None is "undefined" (a division by zero, a period before the first one). Each metric is rounded
once, where it is defined; a metric that reads another reads its rounded value, like a report would.
"""

from __future__ import annotations

import calendar
import difflib
import hashlib
import heapq
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from enum import StrEnum
from graphlib import CycleError, TopologicalSorter
from typing import TypeVar, cast

from finance_core.accounts import BALANCE_SHEET, ChartOfAccounts
from finance_core.metric_language import (
    Accounts,
    Binary,
    Call,
    ExpressionError,
    Neg,
    Node,
    Number,
    Ref,
    parse_expression,
    print_expression,
    references,
    selections,
)
from finance_core.periods import add_months, fiscal_year_start, months_between, parse_period, period_range

Value = int | Decimal | None
Exact = int | Decimal
EnumT = TypeVar("EnumT", bound=StrEnum)
METRIC_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
HIDDEN_QUANTUM = Decimal("0.000001")
# Every computation runs with 60 significant digits: a quotient of amounts up to 10^20 minor units
# keeps far more than the 4 decimals it is rounded to, so a value is rounded once, at its quantum.
EXACT = Context(prec=60, rounding=ROUND_HALF_EVEN, Emax=10**6, Emin=-(10**6))


class Unit(StrEnum):
    """What a metric's number is."""

    MONEY = "money"
    PERCENT = "percent"
    RATIO = "ratio"
    DAYS = "days"
    MONTHS = "months"
    COUNT = "count"


class Direction(StrEnum):
    """Whether more of the metric is good news (for variance colours and alert wording)."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"
    NEUTRAL = "neutral"


QUANTUM = {
    Unit.PERCENT: Decimal("0.0001"),
    Unit.RATIO: Decimal("0.0001"),
    Unit.DAYS: Decimal("0.01"),
    Unit.MONTHS: Decimal("0.01"),
}


class DefinitionError(ValueError):
    """A definition (or a set of them) that cannot be used; `path` says where, e.g. 'runway.expression'."""

    def __init__(self, path: str, message: str, cycle: tuple[str, ...] = ()):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.cycle = cycle


@dataclass(frozen=True)
class MetricSpec:
    """One metric: id, label, expression, unit, favourability and display decimals."""

    metric_id: str
    label: str
    expression: Node
    unit: Unit = Unit.MONEY
    direction: Direction = Direction.HIGHER_IS_BETTER
    decimals: int | None = None
    description: str = ""
    builtin: bool = False

    @property
    def text(self) -> str:
        """Canonical expression text."""
        return print_expression(self.expression)

    def quantize(self, value: Value) -> Value:
        """The metric's stored value: money and counts as integers, other units at their quantum, half to even."""
        if value is None:
            return None
        if self.unit in (Unit.MONEY, Unit.COUNT):
            return int(value) if isinstance(value, int) else int(value.to_integral_value(ROUND_HALF_EVEN))
        return Decimal(value).quantize(QUANTUM[self.unit], ROUND_HALF_EVEN)

    @property
    def is_percentage(self) -> bool:
        """True for a percentage: an exact Decimal at 4 decimals, whose differences are points."""
        return self.unit is Unit.PERCENT

    def document(self) -> dict[str, object]:
        """The fields describing the metric to readers (dashboards, reports, kpis/current)."""
        return {
            "label": self.label,
            "unit": self.unit.value,
            "direction": self.direction.value,
            "decimals": self.decimals if self.decimals is not None else default_decimals(self.unit),
            "expression": self.text,
        }


def default_decimals(unit: Unit) -> int:
    """Decimals shown when a definition names none (money: those of the currency, shown by the client)."""
    return {Unit.PERCENT: 1, Unit.RATIO: 2, Unit.DAYS: 0, Unit.MONTHS: 1, Unit.COUNT: 0, Unit.MONEY: 2}[unit]


def _builtin(
    metric_id: str, label: str, text: str, unit: Unit = Unit.MONEY, direction: Direction = Direction.HIGHER_IS_BETTER
) -> MetricSpec:
    return MetricSpec(metric_id, label, parse_expression(text), unit, direction, builtin=True)


# The standard P&L metrics: the one definition of each (label, expression, unit, favourability).
# Every aggregate document carries them (finance_core.metrics evaluates them at one period), reports,
# alerts, trends and variance read their labels and directions here, and the web dashboard reads a
# copy generated from them (web/src/lib/standardMetrics.ts, `./dev generate`). An org's own metrics
# read them by name and cannot redefine them.
BUILTIN_METRICS: tuple[MetricSpec, ...] = (
    _builtin("revenue", "Revenue", 'type("revenue")'),
    _builtin("cogs", "Cost of goods sold", 'type("cogs")', direction=Direction.LOWER_IS_BETTER),
    _builtin("opex", "Operating expenses", 'type("opex")', direction=Direction.LOWER_IS_BETTER),
    _builtin("other_income", "Other income", 'type("other_income")'),
    _builtin(
        "other_expense", "Other expense (interest, D&A)", 'type("other_expense")', direction=Direction.LOWER_IS_BETTER
    ),
    _builtin("tax", "Income tax", 'type("tax")', direction=Direction.LOWER_IS_BETTER),
    _builtin("gross_profit", "Gross profit", "revenue - cogs"),
    _builtin("gross_margin_pct", "Gross margin %", "100 * gross_profit / revenue", Unit.PERCENT),
    _builtin("ebitda", "EBITDA", "gross_profit - opex"),
    _builtin("ebitda_margin_pct", "EBITDA margin %", "100 * ebitda / revenue", Unit.PERCENT),
    _builtin("net_income", "Net income", "ebitda + other_income - other_expense - tax"),
    _builtin("net_margin_pct", "Net margin %", "100 * net_income / revenue", Unit.PERCENT),
)
BUILTIN_IDS = frozenset(spec.metric_id for spec in BUILTIN_METRICS)


def percent_of_parts(spec: MetricSpec) -> tuple[str, str] | None:
    """(numerator, denominator) of a percentage defined as `100 * a / b` over two metrics, else None.

    Over several months such a margin is the ratio of its summed parts, never a sum or an average of
    the monthly margins: readers of a range (finance_core.views) find its parts here.
    """
    node = spec.expression
    if spec.unit is not Unit.PERCENT or not isinstance(node, Binary) or node.op != "/":
        return None
    scaled, denominator = node.left, node.right
    if (
        isinstance(scaled, Binary)
        and scaled.op == "*"
        and scaled.left == Number(Decimal(100))
        and isinstance(scaled.right, Ref)
        and isinstance(denominator, Ref)
    ):
        return scaled.right.name, denominator.name
    return None


def parse_definition(metric_id: str, document: Mapping[str, object]) -> MetricSpec:
    """A `metric_definitions/{metric_id}` document as a spec; DefinitionError naming the field at fault."""
    if not isinstance(metric_id, str) or not METRIC_ID_PATTERN.match(metric_id):
        raise DefinitionError(
            str(metric_id), "a metric id is 1-64 lower-case letters, digits or '_', starting with a letter"
        )
    if metric_id in BUILTIN_IDS:
        raise DefinitionError(
            metric_id, f"{metric_id!r} is a built-in metric and cannot be redefined; choose another id"
        )
    label = document.get("label")
    if not isinstance(label, str) or not 1 <= len(label.strip()) <= 100:
        raise DefinitionError(f"{metric_id}.label", "give a label of 1 to 100 characters")
    expression = document.get("expression")
    if not isinstance(expression, str):
        raise DefinitionError(f"{metric_id}.expression", 'give the expression as text, e.g. "100 * ebitda / revenue"')
    try:
        tree = parse_expression(expression)
    except ExpressionError as exc:
        raise DefinitionError(f"{metric_id}.expression", str(exc)) from None
    unit = _enum(Unit, document.get("unit", Unit.MONEY.value), f"{metric_id}.unit")
    direction = _enum(Direction, document.get("direction", Direction.HIGHER_IS_BETTER.value), f"{metric_id}.direction")
    decimals = document.get("decimals")
    if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 4):
        raise DefinitionError(f"{metric_id}.decimals", "decimals is a whole number from 0 to 4 (or absent)")
    description = document.get("description") or ""
    if not isinstance(description, str) or len(description) > 500:
        raise DefinitionError(f"{metric_id}.description", "the description is text of at most 500 characters")
    return MetricSpec(metric_id, label.strip(), tree, unit, direction, decimals, description)


def _enum(kind: type[EnumT], value: object, path: str) -> EnumT:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return kind(value)
    except ValueError:
        raise DefinitionError(path, f"{value!r} is not one of {', '.join(v.value for v in kind)}") from None


# --- compilation ----------------------------------------------------------------------------------

# How a change of a cell at period index q reaches the periods of a cell that reads it.
Spread = Callable[[int], Iterable[int]]


@dataclass
class Cell:
    """One row of the series: a metric or a hidden intermediate, with how to compute it at a period."""

    key: str
    rank: int = 0
    compute: Callable[[list[list[Value]], int], Value] | None = None
    weights: tuple[tuple[str, int], ...] = ()
    dependents: list[tuple[int, Spread]] = field(default_factory=list)
    metric: MetricSpec | None = None

    @property
    def is_base(self) -> bool:
        """True for an account selection (its values come from the aggregates)."""
        return self.compute is None


@dataclass(frozen=True)
class Calendar:
    """The contiguous periods of a series and their fiscal boundaries."""

    periods: tuple[str, ...]
    fiscal_year_start_month: int = 1

    @classmethod
    def spanning(cls, periods: Iterable[str], fiscal_year_start_month: int = 1) -> Calendar:
        """Every month from the earliest to the latest of `periods`."""
        known = sorted(set(periods))
        if not known:
            return cls((), fiscal_year_start_month)
        return cls(tuple(period_range(known[0], known[-1])), fiscal_year_start_month)

    def __post_init__(self) -> None:
        index = {period: i for i, period in enumerate(self.periods)}
        year_starts = [fiscal_year_start(p, self.fiscal_year_start_month) == p for p in self.periods]
        quarter_starts = [
            months_between(fiscal_year_start(p, self.fiscal_year_start_month), p) % 3 == 0 for p in self.periods
        ]
        days = [calendar.monthrange(*parse_period(p))[1] for p in self.periods]
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "year_starts", year_starts)
        object.__setattr__(self, "quarter_starts", quarter_starts)
        object.__setattr__(self, "days", days)

    index: dict[str, int] = field(init=False, repr=False, compare=False)
    year_starts: list[bool] = field(init=False, repr=False, compare=False)
    quarter_starts: list[bool] = field(init=False, repr=False, compare=False)
    days: list[int] = field(init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.periods)


def _quantizer(unit: Unit) -> Callable[[Value], Value]:
    """MetricSpec.quantize for one unit, chosen once (it runs for every cell computed)."""
    if unit in (Unit.MONEY, Unit.COUNT):

        def whole(value: Value) -> Value:
            if value is None or type(value) is int:
                return value
            return int(value) if isinstance(value, int) else int(value.to_integral_value(ROUND_HALF_EVEN))

        return whole
    quantum = QUANTUM[unit]

    def at_quantum(value: Value) -> Value:
        return None if value is None else Decimal(value).quantize(quantum, ROUND_HALF_EVEN)

    return at_quantum


def _add(a: Value, b: Value) -> Value:
    return None if a is None or b is None else a + b


def _hidden(value: Value) -> Value:
    """A hidden cell's stored value: integers as they are, other values at 6 decimals, half to even."""
    if value is None or isinstance(value, int):
        return value
    if value == value.to_integral_value():
        return int(value)
    return value.quantize(HIDDEN_QUANTUM, ROUND_HALF_EVEN)


def _growth(new: Value, old: Value) -> Value:
    if new is None or old is None or old == 0:
        return None
    return (Decimal(new - old) * 100 / abs(Decimal(old))).quantize(QUANTUM[Unit.PERCENT], ROUND_HALF_EVEN)


class MetricSet:
    """An org's metrics (built-in + its definitions) compiled against its chart and fiscal calendar."""

    def __init__(
        self, definitions: Iterable[MetricSpec], chart: ChartOfAccounts, calendar_: Calendar, balances: bool = True
    ):
        self.chart = chart
        self.calendar = calendar_
        specs = list(BUILTIN_METRICS) + [d for d in definitions if not d.builtin]
        self.specs: dict[str, MetricSpec] = {}
        for spec in specs:
            if spec.metric_id in self.specs:
                raise DefinitionError(spec.metric_id, "defined twice")
            self.specs[spec.metric_id] = spec
        self._check_references()
        self.cells: list[Cell] = []
        self.index: dict[str, int] = {}
        self._by_account: dict[str, list[int]] = {}
        self._deps: dict[int, list[tuple[int, Spread]]] = {}
        order = self._metric_order()
        for metric_id in order:
            spec = self.specs[metric_id]
            self._metric_cell(spec)
        if balances:
            for account in chart:
                if account.type in BALANCE_SHEET:
                    self._cell_for(Call("closing", (Accounts("account", (account.account_id,)),)))
        self._rank()
        self.metric_ids = tuple(order)
        self.base_cells = [i for i, cell in enumerate(self.cells) if cell.is_base]
        self.fingerprint = self._fingerprint()

    # compile -----------------------------------------------------------------------------------

    def _check_references(self) -> None:
        for spec in self.specs.values():
            for name in sorted(references(spec.expression)):
                if name not in self.specs:
                    import difflib

                    close = difflib.get_close_matches(name, list(self.specs), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise DefinitionError(
                        f"{spec.metric_id}.expression",
                        f"unknown metric {name!r}{hint}; define it or enable it from the library first",
                    )

    def _metric_order(self) -> list[str]:
        sorter: TopologicalSorter[str] = TopologicalSorter()
        for spec in self.specs.values():
            sorter.add(spec.metric_id, *sorted(references(spec.expression)))
        try:
            return list(sorter.static_order())
        except CycleError as exc:
            cycle = list(reversed(exc.args[1]))
            raise DefinitionError(
                f"{cycle[0]}.expression", f"the metrics depend on themselves: {' -> '.join(cycle)}", tuple(cycle[:-1])
            ) from None

    def _new_cell(self, key: str, **kwargs: object) -> int:
        self.cells.append(Cell(key, **kwargs))  # type: ignore[arg-type]
        self.index[key] = len(self.cells) - 1
        return len(self.cells) - 1

    def _depend(self, cell: int, on: int, spread: Spread) -> None:
        self.cells[on].dependents.append((cell, spread))

    def _metric_cell(self, spec: MetricSpec) -> int:
        position = self._new_cell(spec.metric_id, metric=spec)
        reads: set[int] = set()
        evaluate = self._closure(spec.expression, reads)
        quantize = _quantizer(spec.unit)

        def compute(values: list[list[Value]], i: int) -> Value:
            try:
                return quantize(evaluate(values, i))
            except ArithmeticError:  # a value beyond 60 digits (a runaway product): undefined, not a crash
                return None

        self.cells[position].compute = compute
        for source in reads:
            self._depend(position, source, _same)
        return position

    def _cell_for(self, node: Node) -> int:
        """The hidden cell of a selection or a period function (shared by every metric that uses it)."""
        if isinstance(node, Ref):
            return self.index[node.name]
        key = print_expression(node)
        if key in self.index:
            return self.index[key]
        if isinstance(node, Accounts):
            weights = self._weights(node)
            position = self._new_cell(key, weights=weights)
            for account_id, _ in weights:
                self._by_account.setdefault(account_id, []).append(position)
            return position
        if isinstance(node, Call) and node.function in _PERIOD_BUILDERS:
            if node.function == "opening":
                source = self._cell_for(Call("closing", node.args))
                position = self._new_cell(key)
                self.cells[position].compute = _opening(source)
                self._depend(position, source, _next)
                return position
            source = self._cell_for(node.args[0])
            position = self._new_cell(key)
            compute, spread, own = _PERIOD_BUILDERS[node.function](source, node.window or 0, self.calendar, position)
            self.cells[position].compute = compute
            self._depend(position, source, spread)
            if own is not None:
                self._depend(position, position, own)
            return position
        # Any other expression used as the argument of a period function: its own hidden row.
        reads: set[int] = set()
        evaluate = self._closure(node, reads)
        position = self._new_cell(key)
        self.cells[position].compute = lambda values, i: _hidden(evaluate(values, i))
        for source in reads:
            self._depend(position, source, _same)
        return position

    def _weights(self, node: Accounts) -> tuple[tuple[str, int], ...]:
        """Leaf accounts (and signs) whose movements make up a selection."""
        chart = self.chart
        weights: dict[str, int] = {}
        for account in chart:
            if not chart.is_leaf(account.account_id):
                continue
            leaf = account.account_id
            sign = 0
            if node.kind == "type":
                sign = 1 if account.type.value in node.names else 0
            elif node.kind == "tagged":
                sign = 1 if set(node.names) & set(account.tags) else 0
            else:
                for name in node.names:
                    sign += _sign_in(chart, leaf, name)
            if sign:
                weights[leaf] = sign
        return tuple(sorted(weights.items()))

    def _closure(self, node: Node, reads: set[int]) -> Callable[[list[list[Value]], int], Value]:
        if isinstance(node, Number):
            constant = int(node.value) if node.value == node.value.to_integral_value() else node.value
            return lambda values, i: constant
        if isinstance(node, (Ref, Accounts)) or (isinstance(node, Call) and node.function in _PERIOD_BUILDERS):
            position = self._cell_for(node)
            reads.add(position)
            return lambda values, i: values[position][i]
        if isinstance(node, Neg):
            inner = self._closure(node.operand, reads)

            def negate(values: list[list[Value]], i: int) -> Value:
                value = inner(values, i)
                return None if value is None else -value

            return negate
        if isinstance(node, Binary):
            left, right = self._closure(node.left, reads), self._closure(node.right, reads)
            return _BINARY[node.op](left, right)
        assert isinstance(node, Call)
        if node.function == "days":
            days = self.calendar.days
            return lambda values, i: days[i]
        args = [self._closure(arg, reads) for arg in node.args]
        return _HELPERS[node.function](*args)

    def _rank(self) -> None:
        """Ranks such that every cell comes after what it reads (a cell's own earlier periods aside)."""
        sorter: TopologicalSorter[int] = TopologicalSorter()
        for position, cell in enumerate(self.cells):
            sorter.add(position)
            for dependent, _ in cell.dependents:
                if dependent != position:
                    sorter.add(dependent, position)
        for rank, position in enumerate(sorter.static_order()):
            self.cells[position].rank = rank
        self._order = sorted(range(len(self.cells)), key=lambda p: self.cells[p].rank)
        self._fanout = [[(d, self.cells[d].rank, spread) for d, spread in cell.dependents] for cell in self.cells]
        # Every cell has its closure once the set is built.
        self._computes = cast(list[Closure], [cell.compute for cell in self.cells])

    def _fingerprint(self) -> str:
        """Changes whenever a stored series must be recomputed from scratch (definitions, chart, calendar)."""
        body = {
            "metrics": [[s.metric_id, s.text, s.unit.value] for s in self.specs.values()],
            "bases": [[c.key, c.weights] for c in self.cells if c.is_base],
            "cells": [c.key for c in self.cells],
            "periods": [self.calendar.periods[:1], len(self.calendar), self.calendar.fiscal_year_start_month],
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]

    # evaluation -------------------------------------------------------------------------------

    def empty(self) -> list[list[Value]]:
        """Cell values of a series with nothing computed yet."""
        return [[None] * len(self.calendar) for _ in self.cells]

    def full(self, accounts_by_period: Mapping[str, Mapping[str, int]]) -> list[list[Value]]:
        """Every cell of the series from the account totals of each period (periods without any are 0)."""
        with localcontext(EXACT):
            return self._full(accounts_by_period)

    def _full(self, accounts_by_period: Mapping[str, Mapping[str, int]]) -> list[list[Value]]:
        values = self.empty()
        periods = self.calendar.periods
        size = len(periods)
        computes = self._computes
        for position in self._order:
            row = values[position]
            compute = computes[position]
            if compute is None:
                weights = self.cells[position].weights
                for i, period in enumerate(periods):
                    totals = accounts_by_period.get(period) or {}
                    row[i] = sum(weight * int(totals.get(a, 0)) for a, weight in weights)
            else:
                for i in range(size):
                    row[i] = compute(values, i)
        return values

    def update(
        self,
        values: list[list[Value]],
        period: str,
        accounts: Mapping[str, int],
        changed_accounts: Iterable[str] | None = None,
    ) -> int:
        """Bring `values` up to date after the account totals of `period` became `accounts`; returns cells recomputed.

        `changed_accounts` limits the selections looked at to those containing these accounts
        (all selections otherwise). Only cells downstream of a selection whose value moved are
        recomputed, and a cell whose value does not change stops the propagation.
        """
        i = self.calendar.index.get(period)
        if i is None:
            raise KeyError(f"period {period} is outside the series ({self.calendar.periods[:1]}..)")
        if changed_accounts is None:
            bases: Iterable[int] = self.base_cells
        else:
            bases = {cell for account in changed_accounts for cell in self._by_account.get(account, ())}
        heap: list[tuple[int, int, int]] = []
        queued: set[tuple[int, int, int]] = set()
        with localcontext(EXACT):
            return self._update(values, i, accounts, bases, heap, queued)

    def _update(
        self,
        values: list[list[Value]],
        i: int,
        accounts: Mapping[str, int],
        bases: Iterable[int],
        heap: list[tuple[int, int, int]],
        queued: set[tuple[int, int, int]],
    ) -> int:
        for position in bases:
            cell = self.cells[position]
            new = sum(weight * int(accounts.get(a, 0)) for a, weight in cell.weights)
            if values[position][i] != new:
                values[position][i] = new
                self._queue(heap, queued, position, i)
        return self._drain(values, heap, queued)

    def _queue(
        self, heap: list[tuple[int, int, int]], queued: set[tuple[int, int, int]], position: int, i: int
    ) -> None:
        size = len(self.calendar)
        for dependent, rank, spread in self._fanout[position]:
            for j in spread(i):
                if j < size:
                    item = (rank, j, dependent)
                    if item not in queued:
                        queued.add(item)
                        heapq.heappush(heap, item)

    def _drain(
        self, values: list[list[Value]], heap: list[tuple[int, int, int]], queued: set[tuple[int, int, int]]
    ) -> int:
        # The hot loop of every change: locals only, and _queue inlined.
        computed = 0
        computes = self._computes
        fanout = self._fanout
        size = len(self.calendar)
        pop, push = heapq.heappop, heapq.heappush
        discard, add = queued.discard, queued.add
        while heap:
            item = pop(heap)
            discard(item)
            _, i, position = item
            new = computes[position](values, i)
            computed += 1
            row = values[position]
            old = row[i]
            if new == old and (new is None) == (old is None):
                continue
            row[i] = new
            for dependent, rank, spread in fanout[position]:
                for j in spread(i):
                    if j < size:
                        queue_item = (rank, j, dependent)
                        if queue_item not in queued:
                            add(queue_item)
                            push(heap, queue_item)
        return computed

    # reading ----------------------------------------------------------------------------------

    @property
    def evaluation_order(self) -> list[int]:
        """Positions of the cells, each after every cell it reads (a cell's own earlier periods aside)."""
        return list(self._order)

    def metric_values(self, values: list[list[Value]], metric_id: str) -> list[Value]:
        """A metric's values, period by period."""
        return values[self.index[metric_id]]

    def balances(self, values: list[list[Value]]) -> dict[str, list[Value]]:
        """Closing position of every balance-sheet account, period by period."""
        found = {}
        for account in self.chart:
            key = print_expression(Call("closing", (Accounts("account", (account.account_id,)),)))
            if account.type in BALANCE_SHEET and key in self.index:
                found[account.account_id] = values[self.index[key]]
        return found

    def hidden_keys(self) -> list[str]:
        """Keys of the cells that are not metrics."""
        return [cell.key for cell in self.cells if cell.metric is None]

    def accounts_of(self, metric_id: str) -> list[str]:
        """The leaf accounts a metric reads: its `account`/`type`/`tagged` selections resolved against the
        chart (the same resolution as its values), and those of every metric it reads, sorted.

        The records behind a metric are the records of these accounts (the drill-down from a KPI).
        """
        found: set[str] = set()
        seen: set[str] = set()
        pending = [metric_id]
        while pending:
            current = pending.pop()
            if current in seen or current not in self.specs:
                continue
            seen.add(current)
            expression = self.specs[current].expression
            for selection in selections(expression):
                found.update(account_id for account_id, _ in self._weights(selection))
            pending.extend(sorted(references(expression)))
        return sorted(found)

    def describe(self, metric_id: str) -> dict[str, object]:
        """What readers get of a metric (MetricSpec.document) and the accounts whose records make it up."""
        return self.specs[metric_id].document() | {"accounts": self.accounts_of(metric_id)}


def _sign_in(chart: ChartOfAccounts, leaf: str, account_id: str) -> int:
    """Sign with which a leaf counts in an account's total: 1 for itself, the roll-up signs along the path to
    an ancestor (as in the aggregates' `rollups`), 0 when the account is not above it."""
    if leaf == account_id:
        return 1
    sign, child = 1, leaf
    for parent in chart.ancestors(leaf):
        sign *= chart.rollup_sign(child, parent)
        if parent == account_id:
            return sign
        child = parent
    return 0


def _same(q: int) -> Iterable[int]:
    return (q,)


def _next(q: int) -> Iterable[int]:
    return (q + 1,)


def _opening(source: int) -> Callable[[list[list[Value]], int], Value]:
    # Balances before the first period are zero: opening balances are posted as movements of it.
    return lambda values, i: 0 if i == 0 else values[source][i - 1]


def _shifted(source: int, months: int) -> Callable[[list[list[Value]], int], Value]:
    return lambda values, i: values[source][i - months] if i >= months else None


def _prev_builder(source, window, calendar_, position):
    return _shifted(source, 1), _next, None


def _prev_year_builder(source, window, calendar_, position):
    return _shifted(source, 12), (lambda q: (q + 12,)), None


def _growth_builder(months: int):
    def build(source, window, calendar_, position):
        def compute(values: list[list[Value]], i: int) -> Value:
            return _growth(values[source][i], values[source][i - months]) if i >= months else None

        return compute, (lambda q: (q, q + months)), None

    return build


def _running_builder(kind: str):
    """ytd, qtd and closing: the sum so far, restarted at each fiscal year / quarter (never for closing)."""

    def build(source, window, calendar_, position):
        starts = {"ytd": calendar_.year_starts, "qtd": calendar_.quarter_starts}.get(kind)
        size = len(calendar_)

        def compute(values: list[list[Value]], i: int) -> Value:
            if i == 0 or (starts is not None and starts[i]):
                return values[source][i]
            return _add(values[position][i - 1], values[source][i])

        def own(q: int) -> Iterable[int]:
            return (q + 1,) if q + 1 < size and (starts is None or not starts[q + 1]) else ()

        return compute, _same, own

    return build


def _window_builder(average: bool, months: int | None = None):
    def build(source, window, calendar_, position):
        n = months or window

        def compute(values: list[list[Value]], i: int) -> Value:
            if i < n - 1:
                return None
            total: Value = 0
            row = values[source]
            for j in range(i - n + 1, i + 1):
                total = _add(total, row[j])
            if total is None or not average:
                return total
            return _hidden(Decimal(total) / n)

        return compute, (lambda q: range(q, q + n)), None

    return build


_PERIOD_BUILDERS = {
    "prev": _prev_builder,
    "prev_year": _prev_year_builder,
    "growth": _growth_builder(1),
    "growth_yoy": _growth_builder(12),
    "ytd": _running_builder("ytd"),
    "qtd": _running_builder("qtd"),
    "closing": _running_builder("closing"),
    "opening": None,  # opening(x) = closing(x) of the period before: built in _cell_for
    "ttm": _window_builder(False, 12),
    "sum": _window_builder(False),
    "avg": _window_builder(True),
}

Closure = Callable[[list[list[Value]], int], Value]


def _binary(op: Callable[[Exact, Exact], Value]) -> Callable[[Closure, Closure], Closure]:
    def build(left: Closure, right: Closure) -> Closure:
        def evaluate(values: list[list[Value]], i: int) -> Value:
            a = left(values, i)
            if a is None:
                return None
            b = right(values, i)
            if b is None:
                return None
            return op(a, b)

        return evaluate

    return build


def _divide(a: Exact, b: Exact) -> Value:
    if b == 0:
        return None
    return Decimal(a) / Decimal(b)


_BINARY = {
    "+": _binary(lambda a, b: a + b),
    "-": _binary(lambda a, b: a - b),
    "*": _binary(lambda a, b: a * b),
    "/": _binary(_divide),
}


def _helper_min(a: Closure, b: Closure) -> Closure:
    return _binary(lambda x, y: min(x, y))(a, b)


def _helper_max(a: Closure, b: Closure) -> Closure:
    return _binary(lambda x, y: max(x, y))(a, b)


def _helper_abs(a: Closure) -> Closure:
    def evaluate(values: list[list[Value]], i: int) -> Value:
        value = a(values, i)
        if value is None:
            return None
        # Each type on its own: abs() of the union loses the type for the checker.
        return abs(value) if isinstance(value, int) else abs(value)

    return evaluate


def _helper_positive(a: Closure) -> Closure:
    def evaluate(values: list[list[Value]], i: int) -> Value:
        value = a(values, i)
        return value if value is not None and value > 0 else None

    return evaluate


_HELPERS: dict[str, Callable[..., Closure]] = {
    "min": _helper_min,
    "max": _helper_max,
    "abs": _helper_abs,
    "positive": _helper_positive,
}


def check_selections(metric_id: str, expression: Node, chart: ChartOfAccounts) -> list[str]:
    """Warnings about the account selections of a definition; DefinitionError for an account not in the chart.

    `account("4999")` names one account: if the chart has no such account, the metric would be 0 in
    every period, which is never what was meant, so the definition is invalid. `type(...)` and
    `tagged(...)` select whatever the chart holds: an empty selection is legitimate (a tax line not
    yet used, balance-sheet tags not yet set) and only warned about.
    """
    warnings: list[str] = []
    known = [account.account_id for account in chart]
    types = {account.type.value for account in chart}
    tags = {tag for account in chart for tag in account.tags}
    for selection in selections(expression):
        for name in selection.names:
            if selection.kind == "account" and name not in chart:
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise DefinitionError(
                    f"{metric_id}.expression",
                    f"account {name!r} is not in the chart of accounts{hint}; add it to the chart, or select "
                    f"accounts by type or tag",
                )
            if selection.kind == "type" and name not in types:
                warnings.append(f'no account of the chart is of type "{name}": type("{name}") is 0 until one is')
            if selection.kind == "tagged" and name not in tags:
                warnings.append(f'no account of the chart is tagged "{name}": tagged("{name}") is 0 until one is')
    return list(dict.fromkeys(warnings))


def compile_definitions(
    documents: Mapping[str, Mapping[str, object]], chart: ChartOfAccounts, calendar_: Calendar
) -> tuple[MetricSet, dict[str, DefinitionError]]:
    """Compile an org's definition documents; broken ones are left out and reported with their error.

    A definition that does not parse, or reads an unknown or broken metric, or sits on a cycle is
    reported and left out; the others are compiled (so one bad definition never stops the rest).
    """
    errors: dict[str, DefinitionError] = {}
    specs: dict[str, MetricSpec] = {}
    for metric_id, document in sorted(documents.items()):
        if document.get("enabled", True) is False:
            continue
        try:
            specs[metric_id] = parse_definition(metric_id, document)
        except DefinitionError as exc:
            errors[metric_id] = exc
    while True:
        # A definition reading a broken one is left out too, saying which and why.
        for metric_id, spec in list(specs.items()):
            broken = sorted((references(spec.expression) & set(errors)) - BUILTIN_IDS)
            if broken:
                errors[metric_id] = DefinitionError(
                    f"{metric_id}.expression", f"reads {broken[0]!r}, which is not usable: {errors[broken[0]].message}"
                )
                del specs[metric_id]
        try:
            return MetricSet(specs.values(), chart, calendar_), errors
        except DefinitionError as exc:
            culprits = exc.cycle or (exc.path.split(".")[0],)
            if not set(culprits) <= set(specs):
                raise
            for culprit in culprits:
                errors[culprit] = DefinitionError(f"{culprit}.expression", exc.message)
                del specs[culprit]


def window_of(periods: Sequence[str], period: str, length: int) -> list[str]:
    """The `length` periods ending at `period` that exist in `periods`, oldest first."""
    wanted = {add_months(period, -i) for i in range(length)}
    return [p for p in periods if p in wanted]

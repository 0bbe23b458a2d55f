"""The month in progress: one rule for every place that shows a period against its plan or its past.

The period in progress is the org's `current_period` (else the latest open period up to today:
`finance_core.periods.kpi_period`). Its books are still being written, so its totals are partial:

1. Progress is the share of the month's days elapsed, today included, capped at the whole month
   (a month whose books stay open after its last day is fully elapsed but still in progress).
2. A money flow of the month in progress (revenue, costs, profits: what adds up over days) is
   compared with its budget pro-rated by that share (budget x elapsed days / days of the month,
   half to even at the minor unit) and with the previous month pro-rated the same way, and is
   labelled "so far". It is never judged against the whole month's budget.
3. Ratios (margins, percentages) and balances (closing positions) are compared as they are: a
   margin on ten days is a margin.
4. Trends and forecasts are fitted on complete periods only (before the period in progress); the
   period in progress is drawn as a "so far" point beside them, never fitted on.
5. A report or view of a past period shows what was known then: its forecast is fitted on periods
   up to that period, never on later data, and a chart of periods has a time axis with gaps where
   periods are missing.

Every reader applies the rule through this module (the web dashboard mirrors it in
web/src/lib/periods.ts, checked against the same cases: tests/unit/test_progress.py).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from finance_core.metric_series import BUILTIN_METRICS
from finance_core.periods import parse_period

PERCENT = Decimal("0.0001")


class PeriodState(StrEnum):
    """Where a period stands against the period in progress."""

    CLOSED_BOOKS = "closed-books"  # before the period in progress: complete
    IN_PROGRESS = "in-progress"  # the month whose books are being written: partial
    FUTURE = "future"  # after it: plans only


@dataclass(frozen=True)
class PeriodProgress:
    """How far a period is: its state, and for the period in progress the days elapsed of its days."""

    period: str
    state: PeriodState
    elapsed_days: int
    days: int

    @property
    def is_partial(self) -> bool:
        """True for the period in progress (its flows are compared to date)."""
        return self.state is PeriodState.IN_PROGRESS

    @property
    def fraction(self) -> Decimal:
        """Elapsed days / days of the month (1 for a complete period, 0 for a future one)."""
        return Decimal(self.elapsed_days) / Decimal(self.days)

    def to_date(self, whole_month_minor: int | None) -> int | None:
        """A whole month's amount pro-rated to the elapsed days, half to even at the minor unit."""
        if whole_month_minor is None:
            return None
        if not self.is_partial:
            return whole_month_minor
        exact = Decimal(whole_month_minor) * self.elapsed_days / self.days
        return int(exact.quantize(Decimal(1), ROUND_HALF_EVEN))

    def as_document(self) -> dict[str, object]:
        """The progress as stored beside the figures it qualifies."""
        return {
            "period": self.period,
            "state": self.state.value,
            "elapsed_days": self.elapsed_days,
            "days": self.days,
        }


def period_progress(period: str, in_progress: str, today: date) -> PeriodProgress:
    """The progress of `period` given the period in progress and today's date (rule 1)."""
    year, month = parse_period(period)
    days = calendar.monthrange(year, month)[1]
    if period < in_progress:
        return PeriodProgress(period, PeriodState.CLOSED_BOOKS, days, days)
    if period > in_progress:
        return PeriodProgress(period, PeriodState.FUTURE, 0, days)
    first = date(year, month, 1)
    elapsed = 0 if today < first else min(days, (today - first).days + 1)
    return PeriodProgress(period, PeriodState.IN_PROGRESS, elapsed, days)


@dataclass(frozen=True)
class Comparison:
    """An actual against its plan under the rule: the plan compared with and what follows."""

    actual: int | None
    plan: int | None  # the whole period's plan
    compared_plan: int | None  # the plan the actual is judged against (pro-rated when partial)
    variance: int | None
    variance_pct: Decimal | None
    favourable: bool | None
    so_far: bool  # True for a partial period: the figure is labelled "so far"

    @property
    def share_of_plan_pct(self) -> Decimal | None:
        """Actual as a percentage of the whole period's plan (what "N% of budget so far" reads)."""
        if self.actual is None or not self.plan:
            return None
        return (Decimal(self.actual) * 100 / Decimal(self.plan)).quantize(PERCENT, ROUND_HALF_EVEN)


def compare_flow(actual: int | None, plan: int | None, progress: PeriodProgress, higher_is_better: bool) -> Comparison:
    """A money flow against its plan (rule 2): pro-rated by days when the period is in progress."""
    compared = progress.to_date(plan)
    if actual is None or compared is None:
        return Comparison(actual, plan, compared, None, None, None, progress.is_partial)
    variance = actual - compared
    pct = None
    if compared != 0:
        pct = (Decimal(variance) * 100 / abs(Decimal(compared))).quantize(PERCENT, ROUND_HALF_EVEN)
    favourable = variance == 0 or (variance > 0) == higher_is_better
    return Comparison(actual, plan, compared, variance, pct, favourable, progress.is_partial)


def complete_periods(periods: Iterable[str], in_progress: str) -> list[str]:
    """The periods a trend or forecast may be fitted on (rule 4): those before the period in progress."""
    return [period for period in periods if period < in_progress]


def known_at(periods: Iterable[str], as_of_period: str) -> list[str]:
    """The periods a view of `as_of_period` may use (rule 5): up to and including it, nothing later."""
    return [period for period in periods if period <= as_of_period]


class Comparable(StrEnum):
    """How a metric of the period in progress is compared (rules 2 and 3)."""

    FLOW = "flow"  # adds up over days: compared with its plan and its past pro-rated by days, "so far"
    AS_IS = "as_is"  # a ratio of flows of the same days, or a running total to date: compared as it is
    LAST_COMPLETE = "last_complete"  # mixes a partial flow with balances or windows: the last complete month's value


# A metric whose expression uses one of these mixes the partial month with other periods or balances.
_ACROSS_PERIODS = ("closing(", "opening(", "avg(", "sum(", "growth_", "days(")
# A year or quarter to date is a running total: it is shown as it stands ("so far") and compared as is.
_TO_DATE = ("ytd(", "qtd(")
_FLOW_UNITS = ("money", "count")
_RATIO_UNITS = ("percent", "ratio")
# A division whose divisor is not a plain number ("/customers", "/(a+b)"; "/4" and "/1.5" are scalings).
_DIVIDED_BY_NON_NUMBER = re.compile(r"/(?!\d+(?:\.\d+)?(?![\w.(]))")
_BUILTIN_UNITS = {spec.metric_id: spec.unit.value for spec in BUILTIN_METRICS}


def comparable(metric_id: str, unit: str | None = None, expression: str | None = None) -> Comparable:
    """How `metric_id` compares while its period is in progress, from its unit and expression.

    Built-in metrics need neither: their unit is the standard definition's (money ones are flows,
    percentages ratios); a metric of no known unit is a flow.
    """
    if unit is None:
        unit = _BUILTIN_UNITS.get(metric_id)
    text = (expression or "").replace(" ", "")
    if any(token in text for token in _ACROSS_PERIODS):
        return Comparable.LAST_COMPLETE
    if any(token in text for token in _TO_DATE):
        return Comparable.AS_IS
    if unit is None:
        return Comparable.FLOW
    if unit in _FLOW_UNITS:
        # A money metric built on a ratio of flows is not a flow (revenue / customers); a flow
        # scaled by a number is (12 * mrr, revenue / 4).
        return Comparable.FLOW if not _DIVIDED_BY_NON_NUMBER.search(text) else Comparable.LAST_COMPLETE
    if unit in _RATIO_UNITS:
        return Comparable.AS_IS
    return Comparable.LAST_COMPLETE

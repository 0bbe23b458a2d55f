"""Actual versus budget (or forecast) per account and per derived metric, with favourability."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from finance_core.accounts import AccountType, ChartOfAccounts, higher_is_favourable
from finance_core.metric_series import Direction, MetricSpec
from finance_core.metrics import PERCENT_QUANTUM, MetricGraph, MetricValue, standard_graph

DEFAULT_TOP_N = 10

MetricUnit = Literal["minor", "points", "ratio", "days", "months", "count"]


class VarianceError(ValueError):
    """The inputs of a variance cannot be compared (an account missing from the chart)."""


@dataclass(frozen=True)
class AccountVariance:
    """One account line: actual against a comparison scenario, in minor units of the reporting currency."""

    account_id: str
    account_name: str
    account_type: AccountType
    actual_minor: int
    comparison_minor: int
    variance_minor: int
    """actual - comparison; positive means more than planned, whatever the account type."""
    variance_pct: Decimal | None
    """variance / |comparison| * 100 with 4 decimals; None when the comparison is 0."""
    favourable: bool
    """Good news for profit or net worth; a line exactly on plan is favourable."""


@dataclass(frozen=True)
class MetricVariance:
    """One derived metric (revenue, EBITDA, margins ...) against a comparison scenario.

    Money metrics are in minor units with a percent variance. Percentage metrics (margins) are
    compared in points: a margin of 38.5 against a plan of 40.0 is -1.5 points, and their
    `variance_pct` is None because a percent of a percent misleads. A defined metric of unit
    ratio, days, months or count is compared in its unit (exact Decimals) with a percent variance.
    """

    metric: str
    label: str
    unit: MetricUnit
    actual: int | Decimal
    comparison: int | Decimal
    variance: int | Decimal
    variance_pct: Decimal | None
    favourable: bool | None
    """None for a defined metric whose direction is neutral (neither more nor less is good news)."""
    defined: bool = False
    """True for the org's own metric (metric_definitions), False for the built-in ones."""


def percent_change(actual: int | Decimal, comparison: int | Decimal) -> Decimal | None:
    """(actual - comparison) / |comparison| in percent, 4 decimals half-even; None on a zero base.

    Dividing by the absolute base keeps the sign meaning "above plan" even when the plan is
    negative (a planned loss), so the sign never flips with the base.
    """
    if comparison == 0:
        return None
    change = (Decimal(actual) - Decimal(comparison)) * 100 / abs(Decimal(comparison))
    return change.quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)


def is_favourable(variance: int | Decimal, higher_is_better: bool) -> bool:
    """True when the variance is good news; zero counts as favourable (on plan)."""
    if variance == 0:
        return True
    return (variance > 0) == higher_is_better


def account_variances(
    actual: Mapping[str, int],
    comparison: Mapping[str, int],
    chart: ChartOfAccounts,
    *,
    include_unchanged_zero: bool = False,
) -> list[AccountVariance]:
    """Variance lines for every account present in either mapping, ordered by account id.

    An account missing on one side counts as 0 there (no records means nothing booked or
    planned). Lines that are 0 on both sides carry no information and are left out unless
    `include_unchanged_zero`. Parent accounts may be passed too (roll-up totals): each id is
    judged by its own type.
    """
    lines = []
    for account_id in sorted(set(actual) | set(comparison)):
        if account_id not in chart:
            raise VarianceError(f"account {account_id!r} is not in the chart of accounts")
        actual_minor = int(actual.get(account_id, 0))
        comparison_minor = int(comparison.get(account_id, 0))
        if actual_minor == 0 and comparison_minor == 0 and not include_unchanged_zero:
            continue
        account = chart.get(account_id)
        variance_minor = actual_minor - comparison_minor
        lines.append(
            AccountVariance(
                account_id=account_id,
                account_name=account.name,
                account_type=account.type,
                actual_minor=actual_minor,
                comparison_minor=comparison_minor,
                variance_minor=variance_minor,
                variance_pct=percent_change(actual_minor, comparison_minor),
                favourable=is_favourable(variance_minor, higher_is_favourable(account.type)),
            )
        )
    return lines


def _ranking_key(line: AccountVariance) -> tuple[int, Decimal, int, str, int, Decimal]:
    # Lines without a percent (nothing planned) go after every line with one: their size is
    # shown in minor units, and ranking them "infinitely" large would bury the real overruns.
    no_percent = line.variance_pct is None
    magnitude = Decimal(0) if line.variance_pct is None else abs(line.variance_pct)
    # The signed values last, so even two lines equal in size (an overrun and an underrun) have
    # one order whatever the input order.
    return (
        int(no_percent),
        -magnitude,
        -abs(line.variance_minor),
        line.account_id,
        line.variance_minor,
        line.variance_pct if line.variance_pct is not None else Decimal(0),
    )


def top_variances(lines: Iterable[AccountVariance], n: int = DEFAULT_TOP_N) -> list[AccountVariance]:
    """The n largest lines by absolute percent; ties by absolute amount, then account id.

    The order depends only on the set of lines, never on their input order.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return sorted(lines, key=_ranking_key)[:n]


def metric_higher_is_favourable(definition: MetricSpec) -> bool:
    """True when more of the metric is good news: its definition's direction (a neutral one counts as higher).

    The standard costs (cogs, opex, other expense, tax) are lower-is-better; profits, revenue and
    margins higher-is-better (finance_core.metric_series.BUILTIN_METRICS).
    """
    return definition.direction is not Direction.LOWER_IS_BETTER


def metric_variances(
    actual: Mapping[str, MetricValue],
    comparison: Mapping[str, MetricValue],
    graph: MetricGraph | None = None,
    *,
    include_percentages: bool = True,
) -> list[MetricVariance]:
    """Variance of each metric of the graph present on both sides, in the graph's evaluation order.

    A metric that is None on either side (a margin on zero revenue) is skipped: there is no
    meaningful difference to show.
    """
    graph = graph or standard_graph()
    lines = []
    for name in graph.order:
        definition = graph.definitions[name]
        value, planned = actual.get(name), comparison.get(name)
        if value is None or planned is None:
            continue
        higher_is_better = metric_higher_is_favourable(definition)
        if definition.is_percentage:
            if not include_percentages:
                continue
            points = (Decimal(value) - Decimal(planned)).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)
            lines.append(
                MetricVariance(
                    metric=name,
                    label=definition.label,
                    unit="points",
                    actual=Decimal(value),
                    comparison=Decimal(planned),
                    variance=points,
                    variance_pct=None,
                    favourable=is_favourable(points, higher_is_better),
                )
            )
            continue
        variance = int(value) - int(planned)
        lines.append(
            MetricVariance(
                metric=name,
                label=definition.label,
                unit="minor",
                actual=int(value),
                comparison=int(planned),
                variance=variance,
                variance_pct=percent_change(int(value), int(planned)),
                favourable=is_favourable(variance, higher_is_better),
            )
        )
    return lines


def defined_metric_variances(
    actual: Mapping[str, int | Decimal | None],
    comparison: Mapping[str, int | Decimal | None],
    definitions: Mapping[str, Mapping[str, Any]],
) -> list[MetricVariance]:
    """Variance of each defined metric with a value on both sides, in metric id order.

    `actual` and `comparison` are exact values at one period (money in minor units, other units as
    Decimals, as a metric series stores them); `definitions` gives each metric's label, unit and
    direction (the series document's `definitions`). Money is compared in minor units, percent in
    points, other units in the unit itself with a percent variance. The definition's direction
    decides favourability: higher_is_better, lower_is_better, or neutral (no verdict: None).
    """
    lines = []
    for name in sorted(definitions):
        definition = definitions[name]
        value, planned = actual.get(name), comparison.get(name)
        if value is None or planned is None:
            continue
        unit = str(definition.get("unit") or "money")
        direction = definition.get("direction")
        variance: int | Decimal
        if unit == "money":
            metric_unit: MetricUnit = "minor"
            value, planned = int(value), int(planned)
            variance = value - planned
            variance_pct = percent_change(value, planned)
        else:
            metric_unit = "points" if unit == "percent" else unit  # type: ignore[assignment]
            value, planned = Decimal(value), Decimal(planned)
            variance = value - planned
            variance_pct = None if unit == "percent" else percent_change(value, planned)
        favourable = None if direction == "neutral" else is_favourable(variance, direction != "lower_is_better")
        lines.append(
            MetricVariance(
                metric=name,
                label=str(definition.get("label") or name),
                unit=metric_unit,
                actual=value,
                comparison=planned,
                variance=variance,
                variance_pct=variance_pct,
                favourable=favourable,
                defined=True,
            )
        )
    return lines


def _percent_number(value: Decimal | None) -> float | None:
    # Percentages are not money: a float with 4 decimals is what dashboards chart directly.
    return None if value is None else round(float(value), 4)


def account_variance_to_dict(line: AccountVariance) -> dict[str, Any]:
    """JSON/Firestore-ready body of one account line (amounts int, percent float with 4 decimals)."""
    return {
        "account_id": line.account_id,
        "account_name": line.account_name,
        "account_type": line.account_type.value,
        "actual_minor": line.actual_minor,
        "comparison_minor": line.comparison_minor,
        "variance_minor": line.variance_minor,
        "variance_pct": _percent_number(line.variance_pct),
        "favourable": line.favourable,
    }


def _unit_number(value: int | Decimal) -> int | float:
    # Ratios, days, months and counts are not money: an int stays an int, a Decimal becomes a
    # number with at most 4 decimals (the finest quantum of any unit), as metric series store them.
    return value if isinstance(value, int) else round(float(value), 4)


def metric_variance_to_dict(line: MetricVariance) -> dict[str, Any]:
    """JSON/Firestore-ready body of one metric line; margins (unit 'points') and non-money units are numbers."""
    if line.unit == "points":
        actual: int | float | None = _percent_number(Decimal(line.actual))
        comparison: int | float | None = _percent_number(Decimal(line.comparison))
        variance: int | float | None = _percent_number(Decimal(line.variance))
    elif line.unit == "minor":
        actual, comparison, variance = int(line.actual), int(line.comparison), int(line.variance)
    else:
        actual, comparison, variance = (_unit_number(v) for v in (line.actual, line.comparison, line.variance))
    body = {
        "label": line.label,
        "unit": line.unit,
        "actual": actual,
        "comparison": comparison,
        "variance": variance,
        "variance_pct": _percent_number(line.variance_pct),
        "favourable": line.favourable,
    }
    if line.defined:
        body["defined"] = True
    return body


def variance_document(
    *,
    entity_id: str,
    period: str,
    account_lines: Sequence[AccountVariance],
    metric_lines: Sequence[MetricVariance] = (),
    comparison_scenario: str = "budget",
    currency: str | None = None,
    top_n: int = DEFAULT_TOP_N,
) -> dict[str, Any]:
    """Body of `organizations/{org}/variance/{entity_id}__{period}`: top lines, metrics, counts.

    Only plain ints, strings, bools, floats (percentages) and None, so it serialises to JSON and
    Firestore unchanged. The write time is the shell's business and is not included.
    """
    favourable_count = sum(1 for line in account_lines if line.favourable)
    document: dict[str, Any] = {
        "entity_id": entity_id,
        "period": period,
        "comparison_scenario": comparison_scenario,
        "top": [account_variance_to_dict(line) for line in top_variances(account_lines, top_n)],
        "metrics": {line.metric: metric_variance_to_dict(line) for line in metric_lines},
        "line_count": len(account_lines),
        "favourable_count": favourable_count,
        "unfavourable_count": len(account_lines) - favourable_count,
    }
    if currency is not None:
        document["currency"] = currency
    return document

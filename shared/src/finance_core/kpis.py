"""Headline KPIs of a period: value, change vs the previous period, vs budget, and a short series."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from finance_core.metrics import PERCENT_QUANTUM, STANDARD_BY_ID, MetricValue

HEADLINE_METRICS = ("revenue", "gross_profit", "gross_margin_pct", "opex", "ebitda", "net_income", "net_margin_pct")


@dataclass(frozen=True)
class Kpi:
    """One headline number."""

    metric: str
    value: MetricValue
    previous: MetricValue
    change: MetricValue
    change_pct: Decimal | None
    budget: MetricValue
    vs_budget_pct: Decimal | None
    series: tuple[tuple[str, MetricValue], ...]


def _pct_change(new: MetricValue, old: MetricValue) -> Decimal | None:
    if new is None or old is None or old == 0:
        return None
    return ((Decimal(new) - Decimal(old)) * 100 / abs(Decimal(old))).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)


def _difference(new: MetricValue, old: MetricValue) -> MetricValue:
    if new is None or old is None:
        return None
    if isinstance(new, int) and isinstance(old, int):
        return new - old
    # Percentages read back from Firestore are floats: subtract their decimal text, so a margin
    # going 30.1234 -> 33.3333 changes by 3.2099 points, not by 3.2099000000000046.
    return (_exact(new) - _exact(old)).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)


def _exact(value: int | float | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _is_percentage(metric: str) -> bool:
    spec = STANDARD_BY_ID.get(metric)
    return spec is not None and spec.is_percentage


def headline_kpis(
    series: Sequence[tuple[str, Mapping[str, MetricValue] | None]],
    budget: Mapping[str, MetricValue] | None,
    metrics: Sequence[str] = HEADLINE_METRICS,
    in_points: Collection[str] | None = None,
) -> list[Kpi]:
    """KPIs for the last period of `series` ((period, metrics) oldest first; None = no data).

    Percentage metrics change in points (a margin going 40.0 -> 42.5 changes by 2.5), money
    metrics in minor units and in percent of the previous absolute value. Percentage metrics are
    the standard ones whose definition's unit is percent, or those of `in_points` when given
    (defined metrics whose unit is percent).
    """
    if not series:
        return []
    current = series[-1][1] or {}
    previous = (series[-2][1] or {}) if len(series) > 1 else {}
    result = []
    for name in metrics:
        points = name in in_points if in_points is not None else _is_percentage(name)
        value = current.get(name)
        before = previous.get(name)
        planned = (budget or {}).get(name)
        result.append(
            Kpi(
                metric=name,
                value=value,
                previous=before,
                change=_difference(value, before),
                change_pct=None if points else _pct_change(value, before),
                budget=planned,
                vs_budget_pct=None if points else _pct_change(value, planned),
                series=tuple((period, (metrics_of or {}).get(name)) for period, metrics_of in series),
            )
        )
    return result

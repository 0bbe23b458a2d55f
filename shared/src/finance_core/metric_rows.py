"""BigQuery rows of a metric series document write: one `metric_values` row per cell that changed.

A series document (`metric_series/{entity}__{scenario}`) holds every metric at every period. When
it is written, the cells whose value or description differ between the document before and after
the write become rows stamped with the document's `version`; a metric or period that disappeared
becomes a `delete` row. Because each write's rows depend only on its own before and after, the
rows of concurrent or reordered deliveries add up to the same newest row per cell.

Values are exact: money is stored in the series as integer minor units and becomes a decimal
amount of the reporting currency; other units are stored as numbers with at most their quantum's
decimals and come back at that quantum.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from finance_core.analytics_rows import MetricValue
from finance_core.identifiers import KEY_SEPARATOR
from finance_core.metric_series import BUILTIN_IDS, QUANTUM, Unit, Value
from finance_core.money import from_minor

Document = Mapping[str, Any]
# The fields of a metric's description that rows carry: a change of one rewrites the metric's rows.
DESCRIBED = ("label", "unit", "direction", "decimals")


def stored_value(value: Any, unit: Unit) -> Value:
    """A value as a series document stores it (int, float, decimal text or None), exact at the unit's quantum."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, str):
        return Decimal(value)
    exact = Decimal(repr(value))
    quantum = QUANTUM.get(unit)
    return exact.quantize(quantum) if quantum is not None else exact


def unit_of(document: Document, metric_id: str) -> Unit:
    """The unit a series document gives a metric (money when it says none)."""
    return Unit((document.get("definitions") or {}).get(metric_id, {}).get("unit", "money"))


def series_id(entity_id: str, scenario: str) -> str:
    """Document id of a metric series, e.g. '_all__actual'."""
    return KEY_SEPARATOR.join((entity_id, scenario))


def value_at(document: Document | None, metric_id: str, period: str) -> Value:
    """A metric's exact value at a period in a series document (None when unknown)."""
    if not document:
        return None
    periods = document.get("periods") or []
    row = (document.get("metrics") or {}).get(metric_id)
    if row is None or period not in periods:
        return None
    return stored_value(row[periods.index(period)], unit_of(document, metric_id))


def _cells(document: Document | None) -> dict[tuple[str, str], Value]:
    """(metric, period) -> exact value of every cell of a series document."""
    if not document:
        return {}
    periods = list(document.get("periods") or [])
    cells = {}
    for metric_id, row in (document.get("metrics") or {}).items():
        unit = unit_of(document, metric_id)
        for period, value in zip(periods, row, strict=False):
            cells[(metric_id, period)] = stored_value(value, unit)
    return cells


def _description(document: Document | None, metric_id: str) -> tuple[Any, ...]:
    definition = ((document or {}).get("definitions") or {}).get(metric_id) or {}
    return tuple(definition.get(name) for name in DESCRIBED)


def _period_date(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def metric_value_rows(
    org_id: str, before: Document | None, after: Document | None, computed_at: datetime
) -> list[MetricValue]:
    """The rows of one series write: changed cells as `set`, vanished cells as `delete` (none when nothing moved)."""
    source = after or before
    if not source:
        return []
    old, new = _cells(before), _cells(after)
    changed_description = {m for m in {m for m, _ in new} if _description(before, m) != _description(after, m)}
    version = int(source.get("version") or 0)
    if after is None:
        # The document is gone: its cells are deleted at a version above the last one written.
        version += 1
    currency = str(source.get("currency") or "")
    entity_id, scenario = str(source.get("entity_id")), str(source.get("scenario"))
    rows = []
    for (metric_id, period), value in sorted(new.items()):
        if (metric_id, period) in old and old[(metric_id, period)] == value and metric_id not in changed_description:
            continue
        rows.append(
            _row(
                org_id,
                entity_id,
                scenario,
                after or {},
                metric_id,
                period,
                value,
                "set",
                version,
                currency,
                computed_at,
            )
        )
    for metric_id, period in sorted(old.keys() - new.keys()):
        rows.append(
            _row(
                org_id,
                entity_id,
                scenario,
                before or {},
                metric_id,
                period,
                None,
                "delete",
                version,
                currency,
                computed_at,
            )
        )
    return rows


def _row(
    org_id: str,
    entity_id: str,
    scenario: str,
    document: Document,
    metric_id: str,
    period: str,
    value: Value,
    op: str,
    version: int,
    currency: str,
    computed_at: datetime,
) -> MetricValue:
    definition = (document.get("definitions") or {}).get(metric_id) or {}
    unit = Unit(definition.get("unit", "money"))
    if value is not None and unit is Unit.MONEY:
        amount: Decimal | None = from_minor(int(value), currency)
    else:
        amount = None if value is None else Decimal(value)
    return MetricValue(
        row_id=KEY_SEPARATOR.join((org_id, entity_id, scenario, str(version), metric_id, period)),
        org_id=org_id,
        entity_id=entity_id,
        scenario=scenario,
        period=_period_date(period),
        metric_id=metric_id,
        label=str(definition.get("label") or metric_id),
        unit=unit.value,
        direction=str(definition.get("direction") or "higher_is_better"),
        decimals=int(definition.get("decimals") or 0),
        defined=metric_id not in BUILTIN_IDS,
        value=amount,
        currency=currency,
        op=op,  # type: ignore[arg-type]
        series_version=version,
        revision=int(document.get("revision") or 0),
        computed_at=computed_at,
    )

"""The report of a view: each widget as a table of the figures the dashboard shows for it (and a chart).

Pure (no Google import). A view report reads the documents the view's widgets read on the
dashboard (`metric_series`, `aggregates`, `variance`, `dimension_aggregates`) and applies the same
rules as the web (web/src/components/views/ViewWidgets.tsx through web/src/lib/views.ts), which
are the core's (finance_core.views: ranges, figures over a range, changes, gauges; and
finance_core.progress for the month in progress), so every figure equals the widget's to the
minor unit. What a widget reads is listed once (`widget_reads`): the source reads exactly those
documents and queries, and the builder looks them up by the same keys.

The view's anchor month is the report's month: on demand the org's month in progress (as the
dashboard shows the view), on a schedule the month the schedule sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from finance_core.export_text import display_name
from finance_core.identifiers import CONSOLIDATED_ENTITY
from finance_core.metrics import STANDARD_BY_ID
from finance_core.periods import add_months
from finance_core.progress import Comparable, PeriodProgress, comparable, period_progress
from finance_core.views import (
    COMPARISON_LABELS,
    MAX_HEATMAP_CELLS,
    MAX_HEATMAP_VALUES,
    MAX_RANGE_MONTHS,
    PNL_BLOCK_LINES,
    RANGE_LABELS,
    TARGET_LABELS,
    WIDGET_TYPES,
    Number,
    PeriodRange,
    View,
    Widget,
    change_of,
    comparison_range,
    comparison_scenario,
    forecast_as_of,
    forecast_reading,
    range_value,
    resolve_range,
    series_by_period,
    share_of_target,
    shows_cash_forecast,
    target_minor,
)

from reports.pack import _forecast_known_at
from reports.tables import Column, Kind, Table

# The P&L lines that have a trend forecast (money; a margin has none).
FORECAST_LINES = ("revenue", "cogs", "gross_profit", "opex", "ebitda", "net_income")
# The parts a built-in margin is the ratio of over a range (the web passes the same four).
RATIO_PARTS = ("gross_profit", "ebitda", "net_income", "revenue")
COMPARE_WORDS = {
    "budget": "vs budget",
    "forecast": "vs forecast",
    "previous_period": "vs previous period",
    "previous_year": "vs last year",
}
# A query of one dimension value's months (the web's bound: a range and its comparison).
DIMENSION_MONTHS_LIMIT = MAX_RANGE_MONTHS * 2 + 12

Read = tuple[Any, ...]
"""One document or bounded query a widget reads; the source answers each with a document (or None) or a list."""


def series_read(entity_id: str, scenario: str) -> Read:
    """metric_series/{entity}__{scenario}: every metric of an entity by month."""
    return ("series", entity_id, scenario)


def dimension_months_read(dimension: str, value: str, entity_id: str, scenario: str, span: PeriodRange) -> Read:
    """dimension_aggregates of one value, entity and scenario over the months of `span` (oldest first)."""
    return ("dimension_months", dimension, value, entity_id, scenario, span.first, span.last)


def aggregate_read(entity_id: str, period: str, scenario: str, dimension: str | None, value: str | None) -> Read:
    """aggregates/{entity}__{period}__{scenario}, or the dimension_aggregates document of one value."""
    return ("aggregate", entity_id, period, scenario, dimension, value)


def variance_read(entity_id: str, period: str) -> Read:
    """variance/{entity}__{period}."""
    return ("variance", entity_id, period)


def trend_read(metric_id: str) -> Read:
    """trends/metric__{metric}: the consolidation's trend and forecast of a metric."""
    return ("trend", metric_id)


def cash_forecast_read() -> Read:
    """trends/cash__forecast: the 13-week cash forecast, whose `runway` is burn and runway (finance_core.cash)."""
    return ("cash_forecast",)


def heatmap_read(dimension: str, values: tuple[str, ...] | None, entity_id: str, span: PeriodRange) -> Read:
    """Every value of a dimension over a heat map's months: `value in` a closed list, or newest months first."""
    return ("heatmap", dimension, values, entity_id, span.first, span.last)


@dataclass(frozen=True)
class MetricInfo:
    """How a metric reads: the standard definitions', or the org's own (kpis/current `definitions`)."""

    label: str
    unit: str = "money"
    direction: str = "neutral"
    expression: str = ""


def describe(metric_id: str, definitions: Mapping[str, Mapping[str, Any]]) -> MetricInfo:
    """The description the dashboard uses (its `describer`): standard first, then the org's, else money."""
    spec = STANDARD_BY_ID.get(metric_id)
    document: Mapping[str, Any] = spec.document() if spec is not None else definitions.get(metric_id) or {}
    if not document:
        return MetricInfo(metric_id)
    return MetricInfo(
        str(document.get("label") or metric_id),
        str(document.get("unit") or "money"),
        str(document.get("direction") or "neutral"),
        str(document.get("expression") or ""),
    )


@dataclass(frozen=True)
class ViewInputs:
    """What a view's report is built from."""

    org_id: str
    org_name: str
    currency: str
    period: str
    """The anchor month of the view's ranges (the report's month)."""
    in_progress: str
    """The org's month in progress (finance_core.progress)."""
    today: date
    view_id: str
    view: View
    fiscal_year_start_month: int = 1
    definitions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    dimensions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """The org's declared dimensions (org document `dimensions`): label and closed list of values."""
    documents: Mapping[Read, Any] = field(default_factory=dict)
    generated_at: datetime | None = None

    @property
    def progress(self) -> PeriodProgress:
        """How far the anchor month is (the month in progress is compared to date)."""
        return period_progress(self.period, self.in_progress, self.today)


# --- what each widget reads ------------------------------------------------------------------------


def _range(widget: Widget, inputs: ViewInputs) -> PeriodRange:
    return resolve_range(widget.range, inputs.period, inputs.fiscal_year_start_month)


def _covering(*ranges: PeriodRange | None) -> PeriodRange:
    present = [r for r in ranges if r is not None]
    return PeriodRange(min(r.first for r in present), max(r.last for r in present))


def _declared_values(widget: Widget, inputs: ViewInputs) -> tuple[str, ...] | None:
    declared = (inputs.dimensions.get(widget.filter.dimension if widget.filter else "") or {}).get("values")
    if not isinstance(declared, list | tuple):
        return None
    return tuple(str(v) for v in declared[:MAX_HEATMAP_VALUES])


def _values_read(widget: Widget, scenario: str, span: PeriodRange) -> Read:
    if widget.filter is not None and widget.filter.value is not None:
        return dimension_months_read(widget.filter.dimension, widget.filter.value, widget.entity_id, scenario, span)
    return series_read(widget.entity_id, scenario)


def _spans(widget: Widget, inputs: ViewInputs) -> list[tuple[str, PeriodRange]]:
    """(scenario, months) of the values a KPI card, gauge, time series or table reads."""
    current = _range(widget, inputs)
    if widget.kind in ("kpi", "timeseries"):
        other = comparison_range(current, widget.compare)
        scenario = comparison_scenario(widget.compare)
        if scenario == "actual":
            return [("actual", _covering(current, other))]
        return [("actual", current), (scenario, current)]
    if widget.kind == "gauge":
        planned = widget.target in ("budget", "forecast")
        return [("actual", current)] + ([(str(widget.target), current)] if planned else [])
    return [("actual", current)]


def widget_reads(widget: Widget, inputs: ViewInputs) -> list[Read]:
    """Every document and query one widget reads (as the dashboard's widget does)."""
    if shows_cash_forecast(widget.kind, widget.metrics):
        return [cash_forecast_read()]
    if widget.kind in ("kpi", "gauge", "timeseries", "table"):
        return [_values_read(widget, scenario, span) for scenario, span in _spans(widget, inputs)]
    period = _range(widget, inputs).last
    if widget.kind == "pnl":
        dimension, value = (widget.filter.dimension, widget.filter.value) if widget.filter else (None, None)
        reads = [aggregate_read(widget.entity_id, period, s, dimension, value) for s in ("actual", "budget")]
        if _has_forecast(widget):
            # The forecast column: the trend documents, and the actuals a forecast as of the month is fitted on.
            reads += [trend_read(m) for m in FORECAST_LINES] + [series_read(CONSOLIDATED_ENTITY, "actual")]
        return reads
    if widget.kind == "variance":
        return [variance_read(widget.entity_id, period)]
    assert widget.filter is not None  # a heat map always names its dimension (parse_view)
    return [
        heatmap_read(
            widget.filter.dimension, _declared_values(widget, inputs), widget.entity_id, _range(widget, inputs)
        )
    ]


def view_reads(inputs: ViewInputs) -> list[Read]:
    """Every read of the view's widgets, once each, in the widgets' order."""
    reads: dict[Read, None] = {}
    for widget in inputs.view.widgets:
        for read in widget_reads(widget, inputs):
            reads.setdefault(read, None)
    return list(reads)


# --- figures ---------------------------------------------------------------------------------------

Values = Callable[[str], dict[str, object]]


def _values(widget: Widget, scenario: str, span: PeriodRange, inputs: ViewInputs) -> Values:
    found = inputs.documents.get(_values_read(widget, scenario, span))
    if widget.filter is not None and widget.filter.value is not None:
        rows = list(found or ())
        return lambda metric: {str(d.get("period")): (d.get("metrics") or {}).get(metric) for d in rows}
    return lambda metric: series_by_period(found, metric)


def _figure(values: Values, metric: str, unit: str, span: PeriodRange) -> Number | None:
    parts = {m: values(m) for m in RATIO_PARTS}
    return range_value(metric, unit, values(metric), span.periods, parts)


def _to_date_of(
    values: Values, metric: str, info: MetricInfo, current: PeriodRange, other: PeriodRange, inputs: ViewInputs
) -> Values | None:
    """A flow's comparison with its month that lines up with the month in progress counted to date (or None)."""
    progress = inputs.progress
    if not progress.is_partial or progress.elapsed_days >= progress.days or inputs.period not in current.periods:
        return None
    if comparable(metric, info.unit, info.expression) is not Comparable.FLOW:
        return None
    month = other.periods[current.periods.index(inputs.period)]

    def pro_rated(m: str) -> dict[str, object]:
        found = dict(values(m))
        value = found.get(month)
        if value is not None:
            found[month] = progress.to_date(int(value))  # type: ignore[call-overload]
        return found

    return pro_rated


def _so_far(inputs: ViewInputs) -> str:
    progress = inputs.progress
    return f" to date (day {progress.elapsed_days} of {progress.days})"


def _measure(unit: str) -> Kind:
    """How a metric's value reads in a report."""
    return {"money": "money", "percent": "percent", "count": "count"}.get(unit, "number")  # type: ignore[return-value]


def _change_kind(unit: str) -> Kind:
    return "points" if unit == "percent" else _measure(unit)


def _tone(change: Number | None, direction: str) -> bool | None:
    if change is None or change == 0 or direction == "neutral":
        return None
    return (change > 0) == (direction == "higher_is_better")


@dataclass(frozen=True)
class FigureRow:
    """One line of a widget's table: a label, then its cells by column key (kinds in `kinds`)."""

    key: str
    label: str
    cells: Mapping[str, Any]
    kinds: Mapping[str, Kind]


@dataclass(frozen=True)
class ChartLine:
    """One line of a time series chart (values per month; None where a month has none)."""

    label: str
    unit: str
    values: tuple[Number | None, ...]
    dashed: bool = False


@dataclass(frozen=True)
class WidgetSection:
    """One widget of the report: its title, table, notes and, for a time series, its chart."""

    widget_id: str
    kind: str
    title: str
    subtitle: str
    table: Table[FigureRow]
    notes: tuple[str, ...] = ()
    chart_periods: tuple[str, ...] = ()
    chart_lines: tuple[ChartLine, ...] = ()


@dataclass(frozen=True)
class ViewReport:
    """A view's report: its widgets in layout order."""

    org_id: str
    org_name: str
    view_id: str
    view_name: str
    description: str
    period: str
    currency: str
    sections: tuple[WidgetSection, ...]
    notes: tuple[str, ...]
    generated_at: datetime | None = None
    period_status: str = ""

    @property
    def stem(self) -> str:
        """The files' name: view-{view id}-{org}-{month}."""
        return f"view-{self.view_id}-{self.org_id}-{self.period}"


def range_label(text: str) -> str:
    """A range as people read it (the web's rangeLabel)."""
    if text in RANGE_LABELS:
        return RANGE_LABELS[text]
    if text.startswith("last_") and text.endswith("_months"):
        return f"Last {text[5:-7]} months"
    first, _, last = text.partition("..")
    return f"{first} to {last}" if last else text


def widget_title(widget: Widget, inputs: ViewInputs) -> str:
    """The title the dashboard shows: the widget's own, else what it shows and over which months."""
    if widget.title:
        return display_name(widget.title)
    what = ", ".join(describe(m, inputs.definitions).label for m in widget.metrics) or WIDGET_TYPES[widget.kind].label
    entity = f" · {widget.entity_id}" if widget.entity_id != CONSOLIDATED_ENTITY else ""
    filter_ = ""
    if widget.filter is not None:
        filter_ = f" · {widget.filter.dimension}" + (f" {widget.filter.value}" if widget.filter.value else "")
    return display_name(f"{what}{entity}{filter_} · {range_label(widget.range)}")


def _kind_of(key: str) -> Callable[[FigureRow], Kind]:
    return lambda row: row.kinds.get(key, "blank")


def _cell_of(key: str) -> Callable[[FigureRow], Any]:
    return lambda row: row.cells.get(key)


def _table(widget: Widget, columns: Sequence[tuple[str, str, float]], rows: Sequence[FigureRow]) -> Table[FigureRow]:
    """A widget's table: a key column for programs, a label column, then the figure columns."""
    declared: list[Column[FigureRow]] = [
        Column("key", "Key", "text", lambda r: r.key, media=frozenset({"csv"})),
        Column("label", columns[0][1], "text", lambda r: r.label, width=columns[0][2], clip=48),
    ]
    for key, title, width in columns[1:]:
        declared.append(Column(key, title, _kind_of(key), _cell_of(key), width=width))
    return Table(f"widget_{widget.widget_id}", widget.widget_id, tuple(declared), tuple(rows))


def _kpi(widget: Widget, inputs: ViewInputs) -> tuple[Table[FigureRow], list[str]]:
    metric = widget.metrics[0]
    info = describe(metric, inputs.definitions)
    current = _range(widget, inputs)
    other = comparison_range(current, widget.compare)
    scenario = comparison_scenario(widget.compare)
    actual = _values(widget, "actual", _covering(current, other) if scenario == "actual" else current, inputs)
    plan = actual if scenario == "actual" else _values(widget, scenario, current, inputs)
    value = _figure(actual, metric, info.unit, current)
    notes: list[str] = []
    cells: dict[str, Any] = {"value": value}
    kinds: dict[str, Kind] = {"value": _measure(info.unit)}
    columns = [("label", "Metric", 28), ("value", "Value", 16)]
    if other is not None:
        to_date = _to_date_of(plan, metric, info, current, other, inputs)
        compared = _figure(to_date or plan, metric, info.unit, other)
        difference, pct = change_of(value, compared, info.unit)
        words = COMPARE_WORDS[widget.compare] + (_so_far(inputs) if to_date else "")
        cells.update(
            comparison=compared, change=difference, change_pct=pct, favourable=_tone(difference, info.direction)
        )
        kinds.update(
            comparison=_measure(info.unit), change=_change_kind(info.unit), change_pct="percent", favourable="flag"
        )
        columns += [
            ("comparison", COMPARISON_LABELS[widget.compare], 16),
            ("change", "Change", 16),
            ("change_pct", "Change %", 10),
            ("favourable", "F/U", 6),
        ]
        notes.append(f"{info.label} {words} ({other.first} to {other.last}).")
    row = FigureRow(f"metric:{metric}", display_name(info.label), cells, kinds)
    return _table(widget, columns, [row]), notes


def _cash_forecast(widget: Widget, inputs: ViewInputs) -> tuple[Table[FigureRow], list[str]]:
    """A KPI card or gauge of burn or runway: the cash forecast's figure, as the dashboard's cards show it.

    It has no month's comparison and no budget; a gauge's fixed target still gives its share."""
    metric = widget.metrics[0]
    info = describe(metric, inputs.definitions)
    runway = (inputs.documents.get(cash_forecast_read()) or {}).get("runway")
    reading = forecast_reading(metric, runway, anchor=inputs.period, in_progress=inputs.in_progress)
    notes = [reading.note]
    cells: dict[str, Any] = {"value": reading.value}
    kinds: dict[str, Kind] = {"value": _measure(info.unit)}
    columns = [("label", "Metric", 28), ("value", "Value", 16)]
    planned = widget.target in ("budget", "forecast")
    if widget.kind == "kpi" and widget.compare != "none":
        notes.append(f"No comparison ({COMPARE_WORDS[widget.compare]}): the live forecast has no month's figure.")
    if widget.kind == "gauge":
        from finance_core.money import minor_unit_exponent

        goal = None if planned else target_minor(str(widget.target), info.unit, minor_unit_exponent(inputs.currency))
        if planned:
            notes.append(f"No target: the live forecast has no {widget.target}.")
        cells.update(target=goal, share=share_of_target(reading.value, goal))
        kinds.update(target=_measure(info.unit), share="percent")
        columns += [("target", TARGET_LABELS["value"], 16), ("share", "% of target", 12)]
    return _table(widget, columns, [FigureRow(f"metric:{metric}", display_name(info.label), cells, kinds)]), notes


def _gauge(widget: Widget, inputs: ViewInputs) -> tuple[Table[FigureRow], list[str]]:
    metric = widget.metrics[0]
    info = describe(metric, inputs.definitions)
    current = _range(widget, inputs)
    target = widget.target or "budget"
    planned = target in ("budget", "forecast")
    value = _figure(_values(widget, "actual", current, inputs), metric, info.unit, current)
    notes: list[str] = []
    if planned:
        plan = _values(widget, target, current, inputs)
        to_date = _to_date_of(plan, metric, info, current, current, inputs)
        goal = _figure(to_date or plan, metric, info.unit, current)
        notes.append(f"Target: the {target} of {current.first} to {current.last}{_so_far(inputs) if to_date else ''}.")
    else:
        from finance_core.money import minor_unit_exponent

        goal = target_minor(target, info.unit, minor_unit_exponent(inputs.currency))
        notes.append(f"Target: a fixed value of {target}.")
    share = share_of_target(value, goal)
    cells = {"value": value, "target": goal, "share": share}
    kinds: dict[str, Kind] = {"value": _measure(info.unit), "target": _measure(info.unit), "share": "percent"}
    columns = [
        ("label", "Metric", 28),
        ("value", "Value", 16),
        ("target", TARGET_LABELS["value" if not planned else target], 16),
        ("share", "% of target", 12),
    ]
    return _table(widget, columns, [FigureRow(f"metric:{metric}", display_name(info.label), cells, kinds)]), notes


def _timeseries(widget: Widget, inputs: ViewInputs) -> tuple[Table[FigureRow], list[str], tuple[ChartLine, ...]]:
    current = _range(widget, inputs)
    other = comparison_range(current, widget.compare)
    scenario = comparison_scenario(widget.compare)
    actual = _values(widget, "actual", _covering(current, other) if scenario == "actual" else current, inputs)
    compared = actual if scenario == "actual" else _values(widget, scenario, current, inputs)
    periods = current.periods
    shift = other.periods if other is not None else []
    lines: list[tuple[str, str, MetricInfo, tuple[Number | None, ...], bool]] = []
    for metric in widget.metrics:
        info = describe(metric, inputs.definitions)
        own = actual(metric)
        lines.append((f"metric:{metric}", info.label, info, tuple(_number(own.get(p)) for p in periods), False))
        if other is not None:
            theirs = compared(metric)
            label = f"{info.label} ({COMPARE_WORDS[widget.compare].replace('vs ', '')})"
            lines.append(
                (f"{widget.compare}:{metric}", label, info, tuple(_number(theirs.get(p)) for p in shift), True)
            )
    columns = [("label", "Line", 30)] + [(p, p, 14) for p in periods]
    rows = [
        FigureRow(
            key,
            display_name(label),
            dict(zip(periods, values, strict=True)),
            {p: _measure(info.unit) for p in periods},
        )
        for key, label, info, values, _ in lines
    ]
    notes = []
    if other is not None:
        notes.append(
            f"The {COMPARE_WORDS[widget.compare][3:]} line shows {other.first} to {other.last}, month by month."
        )
    chart = tuple(ChartLine(display_name(label), info.unit, values, dashed) for _, label, info, values, dashed in lines)
    return _table(widget, columns, rows), notes, chart


def _number(value: object) -> Number | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def _table_widget(widget: Widget, inputs: ViewInputs) -> Table[FigureRow]:
    current = _range(widget, inputs)
    values = _values(widget, "actual", current, inputs)
    periods = current.periods
    rows = []
    for metric in widget.metrics:
        info = describe(metric, inputs.definitions)
        own = values(metric)
        cells: dict[str, Any] = {p: _number(own.get(p)) for p in periods}
        cells["total"] = _figure(values, metric, info.unit, current)
        rows.append(
            FigureRow(
                f"metric:{metric}",
                display_name(info.label),
                cells,
                {k: _measure(info.unit) for k in cells},
            )
        )
    columns = [("label", "Metric", 28), *[(p, p, 14) for p in periods], ("total", range_label(widget.range), 16)]
    return _table(widget, columns, rows)


def _has_forecast(widget: Widget) -> bool:
    """A P&L block of the consolidation (trends are consolidated) shows a forecast column."""
    return widget.entity_id == CONSOLIDATED_ENTITY and widget.filter is None


def _forecast(metric: str, period: str, inputs: ViewInputs) -> tuple[int | None, bool]:
    """(forecast of `period` as of that month, whether it was fitted here because the stored trend knew later months).

    The stored trend's forecast when it was fitted only on months before the period (the dashboard's
    forecastAsOf); otherwise, like the pack, a forecast fitted on the complete months up to the month
    before, nothing later (finance_core.progress, rule 5). The dashboard shows none in that case.
    """
    trend = inputs.documents.get(trend_read(metric))
    stored = forecast_as_of(trend, period)
    if stored is not None or not trend:
        return stored, False
    series = [p for p in trend.get("series") or () if isinstance(p, Mapping)]
    if not series or str(series[-1].get("period")) < period:
        return None, False
    values = series_by_period(inputs.documents.get(series_read(CONSOLIDATED_ENTITY, "actual")), metric)
    history = sorted((p, int(v)) for p, v in values.items() if p < period and isinstance(v, int | float))
    fitted = _forecast_known_at(history, add_months(period, -1))
    return next((value for month, value, _, _ in fitted if month == period), None), True


def _pnl(widget: Widget, inputs: ViewInputs) -> tuple[Table[FigureRow], list[str]]:
    period = _range(widget, inputs).last
    dimension, value = (widget.filter.dimension, widget.filter.value) if widget.filter else (None, None)
    actual = inputs.documents.get(aggregate_read(widget.entity_id, period, "actual", dimension, value)) or {}
    budget = inputs.documents.get(aggregate_read(widget.entity_id, period, "budget", dimension, value)) or {}
    progress = period_progress(period, inputs.in_progress, inputs.today)
    partial = progress.is_partial and progress.elapsed_days < progress.days
    forecast_column = _has_forecast(widget)
    fitted_here = False
    rows = []
    for metric in PNL_BLOCK_LINES:
        info = describe(metric, inputs.definitions)
        amount = _number((actual.get("metrics") or {}).get(metric))
        whole = _number((budget.get("metrics") or {}).get(metric))
        flow = comparable(metric, info.unit) is Comparable.FLOW
        plan = progress.to_date(int(whole)) if partial and flow and whole is not None else whole
        difference, _ = change_of(amount, plan, info.unit)
        figures: dict[str, Any] = {
            "actual": amount,
            "budget": plan,
            "variance": difference,
            "favourable": _tone(difference, info.direction),
        }
        kinds: dict[str, Kind] = {
            "actual": _measure(info.unit),
            "budget": _measure(info.unit),
            "variance": _change_kind(info.unit),
            "favourable": "flag",
            "forecast": "money",
        }
        if forecast_column and metric in FORECAST_LINES:
            figures["forecast"], fitted = _forecast(metric, period, inputs)
            fitted_here = fitted_here or fitted
        rows.append(FigureRow(f"metric:{metric}", display_name(info.label), figures, kinds))
    notes = []
    if partial:
        notes.append(
            f"{period} is in progress: the budget is counted to date (day {progress.elapsed_days} of {progress.days})."
        )
    if not actual and not budget:
        notes.append(f"Nothing booked or planned in {period}.")
    if fitted_here:
        notes.append(
            f"Forecast of {period} fitted on the complete months up to {add_months(period, -1)} for this report "
            "(the stored trends know later months)."
        )
    columns = [
        ("label", period, 28),
        ("actual", "Actual", 16),
        ("budget", "Budget", 16),
        ("variance", "Variance", 16),
        ("favourable", "F/U", 6),
    ]
    if forecast_column:
        columns.append(("forecast", "Forecast", 16))
    return _table(widget, columns, rows), notes


def _variance(widget: Widget, inputs: ViewInputs) -> tuple[Table[FigureRow], list[str]]:
    period = _range(widget, inputs).last
    document = inputs.documents.get(variance_read(widget.entity_id, period)) or {}
    top = (document.get("vs_budget") or {}).get("top") or document.get("top") or []
    # A month not yet closed on the dashboard's terms is not judged: the share of each budget booked so far.
    judged = period < inputs.in_progress
    rows = []
    for line in top:
        actual, budget = int(line["actual_minor"]), int(line["comparison_minor"])
        cells = {
            "actual": actual,
            "budget": budget,
            "variance": int(line["variance_minor"]),
            "share": share_of_target(actual, budget),
            "favourable": bool(line.get("favourable")) if judged else None,
        }
        kinds: dict[str, Kind] = {
            "actual": "money",
            "budget": "money",
            "variance": "money",
            "share": "percent",
            "favourable": "flag",
        }
        label = display_name(f"{line['account_id']} {line.get('account_name', '')}".strip())
        rows.append(FigureRow(f"account:{line['account_id']}", label, cells, kinds))
    notes = [] if judged else [f"{period} is not closed on the dashboard: shares of budget booked so far, no verdict."]
    if not document:
        notes.append(f"No variances for {period} yet.")
    columns = [
        ("label", "Account", 34),
        ("actual", "Actual", 16),
        ("budget", "Budget", 16),
        ("variance", "Variance", 16),
        ("share", "% of budget", 12),
        ("favourable", "F/U", 6),
    ]
    return _table(widget, columns, rows), notes


def _heatmap(widget: Widget, inputs: ViewInputs) -> tuple[Table[FigureRow], list[str]]:
    metric = widget.metrics[0]
    info = describe(metric, inputs.definitions)
    current = _range(widget, inputs)
    declared = _declared_values(widget, inputs)
    docs = list(inputs.documents.get(widget_reads(widget, inputs)[0]) or ())
    notes = []
    if declared is None and len(docs) >= MAX_HEATMAP_CELLS:
        # Newest months first, cut by the bound: the oldest month read may be partial, so it is left out.
        oldest = min(str(d.get("period")) for d in docs)
        docs = [d for d in docs if str(d.get("period")) != oldest]
        notes.append("More values than a heat map holds: the oldest month shown is the first complete one.")
    present = {str(d.get("value")) for d in docs}
    values = [v for v in declared if v in present] if declared is not None else sorted(present)
    values = values[:MAX_HEATMAP_VALUES]
    cell = {(str(d.get("value")), str(d.get("period"))): _number((d.get("metrics") or {}).get(metric)) for d in docs}
    periods = current.periods
    rows = [
        FigureRow(
            f"value:{value}",
            display_name(value),
            {p: cell.get((value, p)) for p in periods},
            {p: _measure(info.unit) for p in periods},
        )
        for value in values
    ]
    assert widget.filter is not None
    label = (inputs.dimensions.get(widget.filter.dimension) or {}).get("label") or widget.filter.dimension
    declared_count = len((inputs.dimensions.get(widget.filter.dimension) or {}).get("values") or [])
    if declared_count > MAX_HEATMAP_VALUES:
        notes.append(f"The first {MAX_HEATMAP_VALUES} of {declared_count} values of {widget.filter.dimension}.")
    if not rows:
        notes.append(f"No figures by {widget.filter.dimension} in {range_label(widget.range).lower()}.")
    columns = [("label", display_name(label), 24), *[(p, p, 14) for p in periods]]
    return _table(widget, columns, rows), [f"{info.label} by {display_name(label)} and month.", *notes]


def build_section(widget: Widget, inputs: ViewInputs) -> WidgetSection:
    """One widget's table (and chart) from the documents it reads."""
    title = widget_title(widget, inputs)
    current = _range(widget, inputs)
    subtitle = f"{WIDGET_TYPES[widget.kind].label}, {range_label(widget.range)} ({current.first} to {current.last})"
    if widget.entity_id != CONSOLIDATED_ENTITY:
        subtitle += f", entity {widget.entity_id}"
    if widget.filter is not None and widget.filter.value is not None:
        subtitle += f", {widget.filter.dimension} {widget.filter.value}"
    subtitle = display_name(subtitle, limit=300)
    if shows_cash_forecast(widget.kind, widget.metrics):
        table, notes = _cash_forecast(widget, inputs)
        subtitle = display_name(f"{WIDGET_TYPES[widget.kind].label}, the live 13-week cash forecast", limit=300)
    elif widget.kind == "kpi":
        table, notes = _kpi(widget, inputs)
    elif widget.kind == "gauge":
        table, notes = _gauge(widget, inputs)
    elif widget.kind == "timeseries":
        table, notes, chart = _timeseries(widget, inputs)
        return WidgetSection(
            widget.widget_id,
            widget.kind,
            title,
            subtitle,
            table,
            tuple(display_name(n, limit=500) for n in notes),
            tuple(current.periods),
            chart,
        )
    elif widget.kind == "table":
        table, notes = _table_widget(widget, inputs), []
    elif widget.kind == "pnl":
        table, notes = _pnl(widget, inputs)
    elif widget.kind == "variance":
        table, notes = _variance(widget, inputs)
    else:
        table, notes = _heatmap(widget, inputs)
    return WidgetSection(
        widget.widget_id, widget.kind, title, subtitle, table, tuple(display_name(n, limit=500) for n in notes)
    )


def build_view_report(inputs: ViewInputs, period_status: str = "open") -> ViewReport:
    """The whole report: one section per widget, in the view's layout order."""
    notes = []
    progress = inputs.progress
    if progress.is_partial:
        notes.append(
            f"{inputs.period} is the month in progress (day {progress.elapsed_days} of {progress.days}): its figures "
            "are so far, and a flow's comparison counts its month to date, as the dashboard shows it."
        )
    if not inputs.view.widgets:
        notes.append("The view has no widget yet.")
    return ViewReport(
        org_id=inputs.org_id,
        org_name=display_name(inputs.org_name),
        view_id=inputs.view_id,
        view_name=display_name(inputs.view.name),
        description=display_name(inputs.view.description, limit=500),
        period=inputs.period,
        currency=inputs.currency,
        sections=tuple(build_section(w, inputs) for w in inputs.view.widgets),
        notes=tuple(notes),
        generated_at=inputs.generated_at,
        period_status=display_name(period_status, limit=40),
    )

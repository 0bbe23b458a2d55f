"""Views people build: a typed, validated grid of widgets, relative date ranges, and the figures a widget shows.

A view (`organizations/{org}/views/{view_id}`) is a document a member composes in the dashboard's
builder: a name, who sees it (`personal`: its owner only; `shared`: every member, shared by an
editor or admin), and an ordered list of widgets. Each widget names what it shows (metrics, an
entity, optionally one value of a declared dimension) over a date range relative to the view's
anchor month ("last 13 months", "this quarter", "YTD"), so a view stays current without edits.

Three readers use this module and must agree to the minor unit: the web builder (a generated copy
of the catalogue below, `web/src/lib/viewCatalog.ts`, and a TypeScript port of the range and
figure rules checked against the same cases), the report of a view (PDF, XLSX, CSV) and the
security rules (which bound the shape; the checks that need the org's data are made here).

Figures are read, never folded: a widget's numbers come from documents aggregations already
writes (metric series, aggregates, variance, dimension aggregates). Over a range, money and counts
add up (exact integers); the built-in margins are the ratio of the summed parts; every other unit
(an org's ratio, days, months or percent metric) is its value at the range's last month.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from finance_core.cash import BURNING, FORECAST_KPIS, NO_HISTORY, NOT_BURNING, runway_value
from finance_core.identifiers import CONSOLIDATED_ENTITY, identifier_problem
from finance_core.metric_series import (
    BUILTIN_IDS,
    BUILTIN_METRICS,
    METRIC_ID_PATTERN,
    QUANTUM,
    Unit,
    percent_of_parts,
)
from finance_core.periods import add_months, fiscal_year_start, months_between, parse_period, period_range
from finance_core.untrusted import quoted

VIEW_SCHEMA_VERSION = 1
MAX_WIDGETS = 24
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 500
MAX_TITLE_LENGTH = 100
MAX_RANGE_MONTHS = 36
# A heat map reads one bounded query of dimension aggregates: values x months at most this many.
MAX_HEATMAP_CELLS = 400
MAX_HEATMAP_MONTHS = 13
MAX_HEATMAP_VALUES = 30
WIDGET_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# The decimal text of a gauge's fixed target, in the metric's unit (money in major units).
TARGET_PATTERN = re.compile(r"^-?(0|[1-9][0-9]{0,17})([.][0-9]{1,6})?$")
VISIBILITIES = ("personal", "shared")
GRID_COLUMNS = 3

# Relative ranges, anchored at the view's month (the org's month in progress, or a report's month).
RANGE_LABELS: dict[str, str] = {
    "this_month": "This month",
    "last_month": "Last month",
    "this_quarter": "This quarter",
    "last_quarter": "Last quarter",
    "ytd": "Year to date",
    "last_year": "Last fiscal year",
    "last_3_months": "Last 3 months",
    "last_6_months": "Last 6 months",
    "last_12_months": "Last 12 months",
    "last_13_months": "Last 13 months",
    "last_24_months": "Last 24 months",
}
_LAST_MONTHS = re.compile(r"^last_([1-9][0-9]?)_months$")
_FIXED = re.compile(r"^([0-9]{4}-[0-9]{2})\.\.([0-9]{4}-[0-9]{2})$")

COMPARISON_LABELS: dict[str, str] = {
    "none": "No comparison",
    "previous_period": "Previous period",
    "previous_year": "Same period last year",
    "budget": "Budget",
    "forecast": "Forecast",
}
TARGET_LABELS: dict[str, str] = {"budget": "Budget", "forecast": "Forecast", "value": "A fixed value"}


@dataclass(frozen=True)
class WidgetType:
    """What a kind of widget takes: how many metrics, whether it compares, filters and spans months."""

    kind: str
    label: str
    min_metrics: int
    max_metrics: int
    comparisons: tuple[str, ...] = ()
    dimension_filter: bool = True
    single_month: bool = False
    needs_dimension: bool = False
    default_width: int = 1

    def document(self) -> dict[str, object]:
        """The catalogue entry the web builder reads."""
        return {
            "label": self.label,
            "min_metrics": self.min_metrics,
            "max_metrics": self.max_metrics,
            "comparisons": list(self.comparisons),
            "dimension_filter": self.dimension_filter,
            "single_month": self.single_month,
            "needs_dimension": self.needs_dimension,
            "default_width": self.default_width,
        }


WIDGET_TYPES: dict[str, WidgetType] = {
    t.kind: t
    for t in (
        WidgetType("kpi", "KPI card", 1, 1, ("previous_period", "previous_year", "budget", "forecast", "none")),
        WidgetType("gauge", "Gauge against a target", 1, 1),
        WidgetType("timeseries", "Time series", 1, 4, ("budget", "forecast", "previous_year", "none"), default_width=2),
        WidgetType("table", "Table", 1, 6, default_width=2),
        WidgetType("pnl", "P&L block", 0, 0, single_month=True, default_width=2),
        WidgetType("variance", "Variance list", 0, 0, dimension_filter=False, single_month=True),
        WidgetType("heatmap", "Heat map", 1, 1, needs_dimension=True, default_width=3),
    )
}

# The built-in margins over a range: the ratio of their summed parts, read from their definitions
# (`100 * gross_profit / revenue` -> gross_profit over revenue), never restated here.
RATIO_OF_SUMS: dict[str, tuple[str, str]] = {
    spec.metric_id: parts for spec in BUILTIN_METRICS if (parts := percent_of_parts(spec)) is not None
}
PERCENT_QUANTUM = QUANTUM[Unit.PERCENT]


class ViewError(ValueError):
    """A view document that is not valid; `path` says which part (`widgets[2].range`)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# --- ranges ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodRange:
    """The months a range covers, first to last."""

    first: str
    last: str

    @property
    def periods(self) -> list[str]:
        """Every month of the range, in order."""
        return period_range(self.first, self.last)

    @property
    def months(self) -> int:
        """How many months the range covers."""
        return months_between(self.first, self.last) + 1

    def shifted(self, months: int) -> PeriodRange:
        """The same range `months` later (earlier when negative)."""
        return PeriodRange(add_months(self.first, months), add_months(self.last, months))


def range_problem(text: object) -> str | None:
    """Why `text` is not a range a widget may use, or None."""
    if not isinstance(text, str):
        return "a range must be text such as 'last_13_months', 'this_quarter', 'ytd' or '2026-01..2026-06'"
    if text in RANGE_LABELS:
        return None
    last = _LAST_MONTHS.match(text)
    if last:
        months = int(last.group(1))
        if not 1 <= months <= MAX_RANGE_MONTHS:
            return f"range {quoted(text)} must cover 1 to {MAX_RANGE_MONTHS} months"
        return None
    fixed = _FIXED.match(text)
    if fixed:
        first, last_period = fixed.group(1), fixed.group(2)
        for period in (first, last_period):
            try:
                parse_period(period)
            except ValueError as exc:
                return f"range {quoted(text)}: {exc}"
        span = months_between(first, last_period) + 1
        if not 1 <= span <= MAX_RANGE_MONTHS:
            return f"range {quoted(text)} must run forward over 1 to {MAX_RANGE_MONTHS} months"
        return None
    return (
        f"range {quoted(text)} is not one of {', '.join(RANGE_LABELS)}, 'last_N_months' "
        f"(N from 1 to {MAX_RANGE_MONTHS}) or 'YYYY-MM..YYYY-MM'"
    )


def resolve_range(text: str, anchor: str, fiscal_year_start_month: int = 1) -> PeriodRange:
    """The months of a range as seen from `anchor` (the month in progress, or a report's month).

    Quarters and years are fiscal: they start at the org's `fiscal_year_start_month`. "This
    quarter" and "YTD" end at the anchor (the months after it have no actuals yet).
    """
    problem = range_problem(text)
    if problem:
        raise ViewError("range", problem)
    parse_period(anchor)
    year_start = fiscal_year_start(anchor, fiscal_year_start_month)
    quarter_start = add_months(year_start, (months_between(year_start, anchor) // 3) * 3)
    if text == "this_month":
        return PeriodRange(anchor, anchor)
    if text == "last_month":
        previous = add_months(anchor, -1)
        return PeriodRange(previous, previous)
    if text == "this_quarter":
        return PeriodRange(quarter_start, anchor)
    if text == "last_quarter":
        return PeriodRange(add_months(quarter_start, -3), add_months(quarter_start, -1))
    if text == "ytd":
        return PeriodRange(year_start, anchor)
    if text == "last_year":
        return PeriodRange(add_months(year_start, -12), add_months(year_start, -1))
    fixed = _FIXED.match(text)
    if fixed:
        return PeriodRange(fixed.group(1), fixed.group(2))
    months = int(_LAST_MONTHS.match(text).group(1))  # type: ignore[union-attr]  # checked by range_problem
    return PeriodRange(add_months(anchor, 1 - months), anchor)


def comparison_range(current: PeriodRange, compare: str) -> PeriodRange | None:
    """The months a comparison reads: the same months (a plan), the months before, or a year earlier."""
    if compare in ("budget", "forecast"):
        return current
    if compare == "previous_period":
        return current.shifted(-current.months)
    if compare == "previous_year":
        return current.shifted(-12)
    return None


def comparison_scenario(compare: str) -> str:
    """The scenario a comparison reads (the earlier periods compare actuals with actuals)."""
    return compare if compare in ("budget", "forecast") else "actual"


# --- figures ---------------------------------------------------------------------------------------

Number = int | Decimal


def _exact(value: object) -> Number | None:
    """A stored value as an exact number (money and counts are integers; other units decimal text or floats)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Decimal | str):
        return Decimal(value)
    return None


def range_value(
    metric_id: str,
    unit: str,
    values: Mapping[str, object],
    periods: Sequence[str],
    parts: Mapping[str, Mapping[str, object]] | None = None,
) -> Number | None:
    """A metric over the months of a range, from its value per month.

    Money and counts add up (None when no month has a value); a built-in margin is the ratio of its
    summed parts (given in `parts`: metric id -> values per month); any other unit is its value at
    the range's last month.
    """
    if unit in ("money", "count"):
        present = [_exact(values.get(p)) for p in periods if values.get(p) is not None]
        return sum(present) if present else None  # type: ignore[arg-type]
    if metric_id in RATIO_OF_SUMS and parts is not None:
        numerator_id, denominator_id = RATIO_OF_SUMS[metric_id]
        numerator = range_value(numerator_id, "money", parts.get(numerator_id, {}), periods)
        denominator = range_value(denominator_id, "money", parts.get(denominator_id, {}), periods)
        if numerator is None or denominator in (None, 0):
            return None
        return (Decimal(100) * Decimal(numerator) / Decimal(denominator)).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)
    return _exact(values.get(periods[-1])) if periods else None


def series_by_period(document: Mapping[str, Any] | None, metric_id: str) -> dict[str, object]:
    """One metric of a `metric_series` document as period -> value."""
    if not document:
        return {}
    periods = document.get("periods") or []
    values = (document.get("metrics") or {}).get(metric_id) or []
    return {p: v for p, v in zip(periods, values, strict=False) if v is not None}


def change_of(value: Number | None, comparison: Number | None, unit: str) -> tuple[Number | None, Decimal | None]:
    """(difference, percent change) of a value against its comparison; percent metrics change in points only."""
    if value is None or comparison is None:
        return None, None
    difference = value - comparison
    if unit == "percent" or comparison == 0:
        return difference, None
    pct = (Decimal(difference) * 100 / abs(Decimal(comparison))).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)
    return difference, pct


def share_of_target(value: Number | None, target: Number | None) -> Decimal | None:
    """A gauge's reading: the value as a percentage of its target (None without a target or for a zero one)."""
    if value is None or target is None or target == 0:
        return None
    return (Decimal(value) * 100 / Decimal(target)).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)


def target_minor(text: str, unit: str, minor_digits: int) -> Number:
    """A gauge's fixed target in the metric's stored unit: money in minor units (exact), others as decimals."""
    amount = Decimal(text)
    if unit == "money":
        scaled = amount.scaleb(minor_digits)
        if scaled != scaled.to_integral_value():
            raise ViewError("target", f"target {quoted(text)} has more decimals than the currency's {minor_digits}")
        return int(scaled)
    return amount


def forecast_as_of(trend: Mapping[str, Any] | None, period: str) -> int | None:
    """A stored trend's forecast of `period` (minor units), if the trend was fitted only on months before it.

    A P&L block's forecast column reads `trends/metric__{metric}` as the dashboard does; a trend fitted
    on `period` or a later month knew figures the month shown did not (finance_core.progress, rule 5),
    so it gives no forecast of that month (None), nor does a trend without a point for it.
    """
    if not trend:
        return None
    series = [p for p in trend.get("series") or () if isinstance(p, Mapping)]
    if not series or str(series[-1].get("period")) >= period:
        return None
    for point in trend.get("forecast") or ():
        if isinstance(point, Mapping) and point.get("period") == period and point.get("value_minor") is not None:
            return int(point["value_minor"])
    return None


# Burn and runway (finance_core.cash.CashRunway) are one live figure of the 13-week cash forecast: a KPI
# card or gauge of them shows that figure (kpis/current.cash, trends/cash__forecast.runway), as the
# dashboard's headline cards and the alert rules do, never the library's monthly formula. Time series and
# tables keep the monthly series (history of the formula, labelled so).
FORECAST_WIDGET_KINDS = ("kpi", "gauge")


def shows_cash_forecast(kind: str, metrics: Sequence[str]) -> bool:
    """True for a KPI card or gauge of net burn or runway: it reads the cash forecast, not the metric series."""
    return kind in FORECAST_WIDGET_KINDS and bool(metrics) and metrics[0] in FORECAST_KPIS


@dataclass(frozen=True)
class ForecastReading:
    """What a KPI card or gauge of burn or runway shows: the forecast's value and a note on where it comes from."""

    value: Number | None
    note: str


def forecast_reading(
    metric: str, runway: Mapping[str, Any] | None, *, anchor: str, in_progress: str
) -> ForecastReading:
    """Burn or runway as a view anchored at `anchor` shows it, from the stored `CashRunway.as_document()`.

    The forecast is live: a view of the month in progress (or later) shows today's figure; a view of an
    earlier month shows none, since the forecast as it stood then is not kept (docs/views.md). Not
    burning is a burn of 0 and no runway.
    """
    if anchor < in_progress:
        return ForecastReading(
            None,
            f"Burn and runway are the live 13-week cash forecast's; a view of {anchor}, an earlier month, has none.",
        )
    runway = runway or {}
    status = runway.get("status")
    as_of = f" as of {runway['as_of']}" if runway.get("as_of") else ""
    if status == BURNING:
        note = f"13-week cash forecast{as_of}: burning, runway {runway.get('runway_months')} months."
    elif status == NOT_BURNING:
        note = f"13-week cash forecast{as_of}: not burning (cash holds or grows), no runway."
    elif status == NO_HISTORY:
        note = "No cash forecast yet: no complete week of dated cash movements."
    else:
        note = "No cash forecast: tag the chart's cash accounts 'cash'."
    return ForecastReading(runway_value(metric, runway), note)


# --- the document ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DimensionFilter:
    """One value of a declared dimension (a heat map names the dimension only: every value is a row)."""

    dimension: str
    value: str | None = None


@dataclass(frozen=True)
class Widget:
    """One tile of a view."""

    widget_id: str
    kind: str
    range: str
    metrics: tuple[str, ...] = ()
    entity_id: str = CONSOLIDATED_ENTITY
    title: str = ""
    compare: str = "none"
    target: str | None = None
    """'budget', 'forecast', or a fixed value as decimal text in the metric's unit."""
    filter: DimensionFilter | None = None
    width: int = 1

    @property
    def type(self) -> WidgetType:
        """The kind's rules."""
        return WIDGET_TYPES[self.kind]


@dataclass(frozen=True)
class View:
    """A view document, parsed."""

    name: str
    visibility: str
    owner: str
    widgets: tuple[Widget, ...]
    description: str = ""
    entity_id: str = CONSOLIDATED_ENTITY
    extra: dict[str, Any] = field(default_factory=dict)


def _text(raw: Mapping[str, Any], key: str, path: str, limit: int, required: bool = False) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise ViewError(f"{path}{key}", "is required")
        return ""
    if not isinstance(value, str):
        raise ViewError(f"{path}{key}", f"must be text, not {quoted(value)}")
    if required and not value.strip():
        raise ViewError(f"{path}{key}", "must not be blank")
    if len(value) > limit:
        raise ViewError(f"{path}{key}", f"must be at most {limit} characters (it has {len(value)})")
    return value


_VIEW_KEYS = frozenset(
    {
        "name",
        "description",
        "visibility",
        "owner",
        "layout",
        "entity_id",
        "schema",
        "created_at",
        "updated_at",
        "updated_by",
    }
)
_WIDGET_KEYS = frozenset(
    {"type", "title", "metrics", "entity_id", "range", "compare", "target", "dimension", "value", "width"}
)


def parse_view(raw: object, widget_documents: Mapping[str, object]) -> View:
    """A view document and its widget documents (`widgets/{id}`) as a View, widgets in layout order.

    ViewError names the field at fault (shape only: `view_problems` checks against the org). A
    layout id without a document is left out: a widget removed while the view was read.
    """
    if not isinstance(raw, Mapping):
        raise ViewError("view", "must be a map")
    unknown = sorted(str(k) for k in raw if k not in _VIEW_KEYS)
    if unknown:
        raise ViewError(unknown[0], f"is not a field of a view (fields: {', '.join(sorted(_VIEW_KEYS))})")
    layout = raw.get("layout")
    if not isinstance(layout, list) or not all(isinstance(i, str) for i in layout):
        raise ViewError("layout", "must be the list of the view's widget ids, in order")
    if len(layout) > MAX_WIDGETS:
        raise ViewError("layout", f"a view holds at most {MAX_WIDGETS} widgets (it has {len(layout)})")
    if len(set(layout)) != len(layout):
        raise ViewError("layout", f"widget id {next(i for i in layout if layout.count(i) > 1)!r} is laid out twice")
    widgets = tuple(
        _parse_widget(widget_id, widget_documents[widget_id], f"widgets.{widget_id}")
        for widget_id in layout
        if widget_id in widget_documents
    )
    return _view(raw, widgets)


def parse_template(template: Mapping[str, Any], owner: str = "") -> View:
    """A ready-made view (`starter_views`, `scorecard_view`, `heatmap_view`; widgets listed with ids) as a View."""
    widgets_raw = template.get("widgets")
    if not isinstance(widgets_raw, list) or len(widgets_raw) > MAX_WIDGETS:
        raise ViewError("widgets", f"must be a list of at most {MAX_WIDGETS} widgets")
    widgets = []
    for i, widget in enumerate(widgets_raw):
        if not isinstance(widget, Mapping):
            raise ViewError(f"widgets[{i}]", "must be a map")
        body = {k: v for k, v in widget.items() if k != "id"}
        widgets.append(_parse_widget(widget.get("id"), body, f"widgets[{i}]"))
    ids = [w.widget_id for w in widgets]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate is not None:
        raise ViewError("widgets", f"widget id {duplicate!r} is used twice")
    header = {k: v for k, v in template.items() if k != "widgets"}
    return _view({"visibility": "shared", "owner": owner or "finance-live", **header}, tuple(widgets))


def _view(raw: Mapping[str, Any], widgets: tuple[Widget, ...]) -> View:
    name = _text(raw, "name", "", MAX_NAME_LENGTH, required=True)
    description = _text(raw, "description", "", MAX_DESCRIPTION_LENGTH)
    visibility = raw.get("visibility")
    if visibility not in VISIBILITIES:
        raise ViewError("visibility", f"must be 'personal' or 'shared', not {quoted(visibility)}")
    owner = _text(raw, "owner", "", 128, required=True)
    entity_id = _entity(raw.get("entity_id", CONSOLIDATED_ENTITY), "entity_id")
    return View(name, str(visibility), owner, widgets, description, entity_id)


def view_documents(view: View) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A View as its view document (without the stamps) and its widget documents: what the builder writes."""
    document: dict[str, Any] = {
        "name": view.name,
        "visibility": view.visibility,
        "owner": view.owner,
        "layout": [w.widget_id for w in view.widgets],
        "schema": VIEW_SCHEMA_VERSION,
    }
    if view.description:
        document["description"] = view.description
    widgets: dict[str, dict[str, Any]] = {}
    for w in view.widgets:
        body: dict[str, Any] = {"type": w.kind, "range": w.range, "metrics": list(w.metrics), "width": w.width}
        if w.entity_id != CONSOLIDATED_ENTITY:
            body["entity_id"] = w.entity_id
        if w.title:
            body["title"] = w.title
        if w.compare != "none":
            body["compare"] = w.compare
        if w.target is not None:
            body["target"] = w.target
        if w.filter is not None:
            body["dimension"] = w.filter.dimension
            if w.filter.value is not None:
                body["value"] = w.filter.value
        widgets[w.widget_id] = body
    return document, widgets


def _entity(value: object, path: str) -> str:
    if value == CONSOLIDATED_ENTITY:
        return CONSOLIDATED_ENTITY
    problem = identifier_problem(value, "entity")
    if problem:
        raise ViewError(path, problem)
    return str(value)


def _parse_widget(widget_id: object, raw: object, path: str) -> Widget:
    if not isinstance(raw, Mapping):
        raise ViewError(path, "must be a map")
    unknown = sorted(str(k) for k in raw if k not in _WIDGET_KEYS)
    if unknown:
        raise ViewError(f"{path}.{unknown[0]}", "is not a field of a widget")
    if not isinstance(widget_id, str) or not WIDGET_ID_PATTERN.match(widget_id):
        raise ViewError(f"{path}.id", f"{quoted(widget_id)} must be 1-32 lower-case letters, digits, '_' or '-'")
    kind = raw.get("type")
    if kind not in WIDGET_TYPES:
        raise ViewError(f"{path}.type", f"{quoted(kind)} is not a widget type ({', '.join(WIDGET_TYPES)})")
    spec = WIDGET_TYPES[str(kind)]
    title = _text(raw, "title", f"{path}.", MAX_TITLE_LENGTH)
    metrics_raw = raw.get("metrics", [])
    if not isinstance(metrics_raw, list) or not all(isinstance(m, str) for m in metrics_raw):
        raise ViewError(f"{path}.metrics", "must be a list of metric ids")
    if not spec.min_metrics <= len(metrics_raw) <= spec.max_metrics:
        wanted = (
            "no metric"
            if spec.max_metrics == 0
            else f"{spec.min_metrics}"
            + (f" to {spec.max_metrics}" if spec.max_metrics > spec.min_metrics else "")
            + (" metric" if spec.max_metrics == 1 else " metrics")
        )
        raise ViewError(f"{path}.metrics", f"a {spec.label.lower()} takes {wanted} (it has {len(metrics_raw)})")
    for i, metric in enumerate(metrics_raw):
        if not METRIC_ID_PATTERN.match(metric):
            raise ViewError(f"{path}.metrics[{i}]", f"{quoted(metric)} is not a metric id")
    if len(set(metrics_raw)) != len(metrics_raw):
        raise ViewError(f"{path}.metrics", "names a metric twice")
    range_text = raw.get("range")
    problem = range_problem(range_text)
    if problem:
        raise ViewError(f"{path}.range", problem)
    assert isinstance(range_text, str)
    if spec.single_month and not _single_month(range_text):
        raise ViewError(
            f"{path}.range",
            f"a {spec.label} shows one month: use this_month, last_month or YYYY-MM..YYYY-MM of one month",
        )
    if spec.kind == "heatmap":
        span = _span(range_text)
        if span > MAX_HEATMAP_MONTHS:
            raise ViewError(
                f"{path}.range", f"a heat map spans at most {MAX_HEATMAP_MONTHS} months ({range_text} spans {span})"
            )
    compare = raw.get("compare", "none")
    if compare not in COMPARISON_LABELS or (compare != "none" and compare not in spec.comparisons):
        allowed = ", ".join(spec.comparisons) or "none"
        raise ViewError(
            f"{path}.compare", f"{quoted(compare)} is not a comparison of a {spec.label.lower()} ({allowed})"
        )
    target = raw.get("target")
    if spec.kind == "gauge":
        if target is None:
            raise ViewError(
                f"{path}.target", "a gauge needs a target: 'budget', 'forecast' or a value such as '250000.00'"
            )
        if target not in ("budget", "forecast") and not (isinstance(target, str) and TARGET_PATTERN.match(target)):
            raise ViewError(f"{path}.target", f"{quoted(target)} is not 'budget', 'forecast' or a decimal value")
    elif target is not None:
        raise ViewError(f"{path}.target", f"only a gauge has a target, not a {spec.label.lower()}")
    dimension = raw.get("dimension")
    value = raw.get("value")
    filter_: DimensionFilter | None = None
    if dimension is not None:
        if not spec.dimension_filter:
            raise ViewError(
                f"{path}.dimension", f"a {spec.label.lower()} has no dimension filter (variances are per entity)"
            )
        from finance_core.dimensions import name_problem, value_problem

        problem = name_problem(dimension)
        if problem:
            raise ViewError(f"{path}.dimension", problem)
        assert isinstance(dimension, str)
        if spec.needs_dimension:
            if value is not None:
                raise ViewError(f"{path}.value", "a heat map shows every value of its dimension: name none")
        else:
            if value is None:
                raise ViewError(f"{path}.value", f"a filter on {dimension!r} needs the value to show")
            problem = value_problem(dimension, value)
            if problem:
                raise ViewError(f"{path}.value", problem)
        filter_ = DimensionFilter(dimension, value if isinstance(value, str) else None)
    elif value is not None:
        raise ViewError(f"{path}.value", "a value needs its dimension")
    elif spec.needs_dimension:
        raise ViewError(f"{path}.dimension", "a heat map needs the dimension whose values it shows")
    width = raw.get("width", spec.default_width)
    if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= GRID_COLUMNS:
        raise ViewError(f"{path}.width", f"must be a whole number of columns from 1 to {GRID_COLUMNS}")
    return Widget(
        widget_id,
        str(kind),
        range_text,
        tuple(metrics_raw),
        _entity(raw.get("entity_id", CONSOLIDATED_ENTITY), f"{path}.entity_id"),
        title,
        str(compare),
        target if isinstance(target, str) else None,
        filter_,
        width,
    )


def _single_month(text: str) -> bool:
    return text in ("this_month", "last_month", "last_1_months") or _span(text) == 1 and bool(_FIXED.match(text))


def _span(text: str) -> int:
    """Months a range covers whatever its anchor."""
    fixed = _FIXED.match(text)
    if fixed:
        return months_between(fixed.group(1), fixed.group(2)) + 1
    last = _LAST_MONTHS.match(text)
    if last:
        return int(last.group(1))
    return {"this_month": 1, "last_month": 1, "last_quarter": 3, "last_year": 12}.get(text, 12 if text == "ytd" else 3)


# --- against the org -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgCatalog:
    """What an org offers a view: its metrics (built-in and defined, with units), entities and dimensions."""

    metric_units: Mapping[str, str]
    entities: frozenset[str]
    dimensions: Mapping[str, frozenset[str] | None]
    """Declared dimension -> its closed list of values, or None when any identifier is accepted."""


@dataclass(frozen=True)
class ViewProblem:
    """Why a part of a view cannot be shown for this org."""

    path: str
    message: str

    def document(self) -> dict[str, str]:
        """As stored on a failed report."""
        return {"path": self.path, "message": self.message}


def view_problems(view: View, catalog: OrgCatalog) -> list[ViewProblem]:
    """Every widget part the org does not have: unknown metric, entity, dimension or dimension value."""
    problems: list[ViewProblem] = []
    if view.entity_id != CONSOLIDATED_ENTITY and view.entity_id not in catalog.entities:
        problems.append(ViewProblem("entity_id", f"entity {view.entity_id!r} does not exist in this organisation"))
    for widget in view.widgets:
        path = f"widgets.{widget.widget_id}"
        for j, metric in enumerate(widget.metrics):
            if metric not in catalog.metric_units:
                problems.append(
                    ViewProblem(
                        f"{path}.metrics[{j}]", f"metric {metric!r} is neither built in nor defined (and enabled) here"
                    )
                )
            elif widget.filter is not None and metric not in BUILTIN_IDS:
                problems.append(
                    ViewProblem(
                        f"{path}.metrics[{j}]",
                        f"metric {metric!r} is the org's own: per dimension value only the built-in metrics exist",
                    )
                )
        if shows_cash_forecast(widget.kind, widget.metrics) and widget.entity_id != CONSOLIDATED_ENTITY:
            problems.append(
                ViewProblem(
                    f"{path}.entity_id",
                    f"{widget.metrics[0]} is the consolidated 13-week cash forecast's: a {widget.type.label} of it "
                    f"shows entity {CONSOLIDATED_ENTITY!r}",
                )
            )
        if widget.entity_id != CONSOLIDATED_ENTITY and widget.entity_id not in catalog.entities:
            problems.append(
                ViewProblem(f"{path}.entity_id", f"entity {widget.entity_id!r} does not exist in this organisation")
            )
        if widget.filter is not None:
            dimension = widget.filter.dimension
            if dimension not in catalog.dimensions:
                declared = ", ".join(sorted(catalog.dimensions)) or "none"
                problems.append(
                    ViewProblem(f"{path}.dimension", f"dimension {dimension!r} is not declared (declared: {declared})")
                )
            else:
                values = catalog.dimensions[dimension]
                if widget.filter.value is not None and values is not None and widget.filter.value not in values:
                    problems.append(
                        ViewProblem(
                            f"{path}.value",
                            f"{widget.filter.value!r} is not a declared value of dimension {dimension!r}",
                        )
                    )
    return problems


def catalog_of(
    definitions: Mapping[str, Mapping[str, Any]],
    entity_ids: Iterable[str],
    dimensions: Mapping[str, frozenset[str] | None],
) -> OrgCatalog:
    """An org's catalogue from its metric descriptions (built-in and enabled defined), entities and dimensions."""
    return OrgCatalog(
        {metric: str(description.get("unit", "money")) for metric, description in definitions.items()},
        frozenset(entity_ids),
        dict(dimensions),
    )


# --- ready-made views ------------------------------------------------------------------------------


def _widget(widget_id: str, kind: str, range_text: str, metrics: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"id": widget_id, "type": kind, "range": range_text, "metrics": list(metrics)}
    document["width"] = extra.pop("width", WIDGET_TYPES[kind].default_width)
    document.update(extra)
    return document


def starter_views() -> dict[str, dict[str, Any]]:
    """The views every org starts with (shared, owned by nobody in particular): id -> view document without owner."""
    return {
        "starter-overview": {
            "name": "Executive overview",
            "description": "The month's headline numbers against budget, the revenue trend and the biggest variances.",
            "widgets": [
                _widget("revenue", "kpi", "this_month", ["revenue"], compare="budget"),
                _widget("ebitda", "kpi", "this_month", ["ebitda"], compare="budget"),
                _widget("net-margin", "kpi", "this_month", ["net_margin_pct"], compare="previous_period"),
                _widget("revenue-trend", "timeseries", "last_13_months", ["revenue"], compare="budget"),
                _widget("revenue-ytd", "gauge", "ytd", ["revenue"], target="budget"),
                _widget("pnl", "pnl", "this_month"),
                _widget("variances", "variance", "this_month", width=1),
            ],
        },
        "starter-budget": {
            "name": "Budget watch",
            "description": "Year to date against budget: revenue, costs and EBITDA, and where the month misses.",
            "widgets": [
                _widget("revenue-ytd", "gauge", "ytd", ["revenue"], target="budget"),
                _widget("opex-ytd", "gauge", "ytd", ["opex"], target="budget"),
                _widget("ebitda-quarter", "gauge", "this_quarter", ["ebitda"], target="budget"),
                _widget("ytd-table", "table", "ytd", ["revenue", "cogs", "opex", "ebitda"], width=3),
                _widget("variances", "variance", "this_month", width=3),
            ],
        },
        "starter-profitability": {
            "name": "Profitability",
            "description": "Margins over 13 months against the same months a year earlier.",
            "widgets": [
                _widget("gross-margin", "kpi", "ytd", ["gross_margin_pct"], compare="previous_year"),
                _widget("net-margin", "kpi", "ytd", ["net_margin_pct"], compare="previous_year"),
                _widget("ebitda-margin", "kpi", "ytd", ["ebitda_margin_pct"], compare="previous_year"),
                _widget(
                    "margins",
                    "timeseries",
                    "last_13_months",
                    ["gross_margin_pct", "net_margin_pct"],
                    compare="none",
                    width=3,
                ),
            ],
        },
    }


SCORECARD_METRICS = ("revenue", "gross_profit", "opex", "ebitda")
# The lines of a P&L block, in order (the web's widget and the view reports read this one list).
PNL_BLOCK_LINES = (
    "revenue",
    "cogs",
    "gross_profit",
    "gross_margin_pct",
    "opex",
    "ebitda",
    "net_income",
    "net_margin_pct",
)


def scorecard_id(dimension: str, value: str) -> str:
    """The id of the ready-made scorecard of one dimension value."""
    return f"scorecard.{dimension}.{value}"


def scorecard_view(dimension: str, value: str, label: str | None = None) -> dict[str, Any]:
    """The ready-made scorecard of one dimension value (a department, a region): its numbers against budget."""
    shown = label or f"{dimension.replace('_', ' ').capitalize()} {value}"
    filter_ = {"dimension": dimension, "value": value}
    widgets = [
        _widget(metric, "kpi", "this_month", [metric], compare="budget", **filter_) for metric in SCORECARD_METRICS
    ]
    widgets += [
        _widget("revenue-trend", "timeseries", "last_13_months", ["revenue"], compare="budget", **filter_),
        _widget("ebitda-ytd", "gauge", "ytd", ["ebitda"], target="budget", **filter_),
        _widget("ytd-table", "table", "ytd", list(SCORECARD_METRICS), width=3, **filter_),
        _widget("pnl", "pnl", "this_month", width=3, **filter_),
    ]
    return {
        "name": f"Scorecard: {shown}",
        "description": f"Every number of {shown} against its budget.",
        "widgets": widgets,
    }


def heatmap_view(dimension: str, label: str | None = None) -> dict[str, Any]:
    """The ready-made heat map of a dimension: revenue and EBITDA of every value, month by month."""
    shown = label or dimension.replace("_", " ").capitalize()
    return {
        "name": f"Heat map: {shown}",
        "description": f"Revenue and EBITDA of every value of {shown} over the last 6 months.",
        "widgets": [
            _widget("revenue-heat", "heatmap", "last_6_months", ["revenue"], dimension=dimension),
            _widget("ebitda-heat", "heatmap", "last_6_months", ["ebitda"], dimension=dimension),
        ],
    }


def catalogue_document() -> dict[str, Any]:
    """What the web builder reads (generated into web/src/lib/viewCatalog.ts): types, ranges, limits, templates."""
    return {
        "schema": VIEW_SCHEMA_VERSION,
        "widget_types": {kind: spec.document() for kind, spec in WIDGET_TYPES.items()},
        "ranges": RANGE_LABELS,
        "comparisons": COMPARISON_LABELS,
        "targets": TARGET_LABELS,
        "ratio_of_sums": {metric: list(parts) for metric, parts in RATIO_OF_SUMS.items()},
        "limits": {
            "max_widgets": MAX_WIDGETS,
            "max_name_length": MAX_NAME_LENGTH,
            "max_description_length": MAX_DESCRIPTION_LENGTH,
            "max_title_length": MAX_TITLE_LENGTH,
            "max_range_months": MAX_RANGE_MONTHS,
            "max_heatmap_cells": MAX_HEATMAP_CELLS,
            "max_heatmap_months": MAX_HEATMAP_MONTHS,
            "max_heatmap_values": MAX_HEATMAP_VALUES,
            "grid_columns": GRID_COLUMNS,
        },
        "starter_views": starter_views(),
        "scorecard_metrics": list(SCORECARD_METRICS),
        "pnl_lines": list(PNL_BLOCK_LINES),
        # The ready-made views of a dimension, with placeholders the builder fills in (the same
        # functions build them for reports, so both read one definition).
        "scorecard_template": scorecard_view(TEMPLATE_DIMENSION, TEMPLATE_VALUE, TEMPLATE_LABEL),
        "heatmap_template": heatmap_view(TEMPLATE_DIMENSION, TEMPLATE_LABEL),
    }


TEMPLATE_DIMENSION = "{dimension}"
TEMPLATE_VALUE = "{value}"
TEMPLATE_LABEL = "{label}"

"""Views: the document's schema and validation, relative ranges, and the figures a widget reads (finance_core.views)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from finance_core.metric_series import BUILTIN_METRICS
from finance_core.views import (
    MAX_WIDGETS,
    OrgCatalog,
    PeriodRange,
    ViewError,
    catalogue_document,
    change_of,
    comparison_range,
    forecast_as_of,
    heatmap_view,
    parse_template,
    parse_view,
    range_problem,
    range_value,
    resolve_range,
    scorecard_view,
    share_of_target,
    starter_views,
    target_minor,
    view_documents,
    view_problems,
)

CASES = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "view_cases.json").read_text())

CATALOG = OrgCatalog(
    metric_units={
        **{spec.metric_id: spec.unit.value for spec in BUILTIN_METRICS},
        "current_ratio": "ratio",
        "arr": "money",
    },
    entities=frozenset({"us-east", "eu-west"}),
    dimensions={"department": frozenset({"sales", "ops"}), "project": None},
)


def parse(document: dict[str, Any]) -> Any:
    """A view written as the builder writes it: the view document with its layout, one document per widget."""
    widgets = document.get("widgets")
    if not isinstance(widgets, list):
        return parse_view({**{k: v for k, v in document.items() if k != "widgets"}, "layout": widgets}, {})
    stored = {k: v for k, v in document.items() if k != "widgets"}
    stored["layout"] = [w.get("id") if isinstance(w, dict) else None for w in widgets]
    if any(not isinstance(i, str) for i in stored["layout"]):
        return parse_template(document, owner=document.get("owner", ""))
    return parse_view(stored, {w["id"]: {k: v for k, v in w.items() if k != "id"} for w in widgets})


def view(**over: Any) -> dict[str, Any]:
    """A valid view of every widget type, widgets listed with their ids; `over` replaces fields."""
    document: dict[str, Any] = {
        "name": "Revenue watch",
        "description": "What the sales team looks at",
        "visibility": "personal",
        "owner": "uid-1",
        "widgets": [
            {"id": "kpi", "type": "kpi", "metrics": ["revenue"], "range": "this_month", "compare": "budget"},
            {"id": "gauge", "type": "gauge", "metrics": ["ebitda"], "range": "ytd", "target": "budget"},
            {"id": "fixed", "type": "gauge", "metrics": ["revenue"], "range": "ytd", "target": "250000.00"},
            {
                "id": "trend",
                "type": "timeseries",
                "metrics": ["revenue", "arr"],
                "range": "last_13_months",
                "compare": "previous_year",
                "width": 2,
            },
            {
                "id": "table",
                "type": "table",
                "metrics": ["revenue", "current_ratio"],
                "range": "this_quarter",
                "entity_id": "us-east",
            },
            {"id": "pnl", "type": "pnl", "range": "last_month", "dimension": "department", "value": "sales"},
            {"id": "variance", "type": "variance", "range": "this_month", "entity_id": "eu-west"},
            {
                "id": "heat",
                "type": "heatmap",
                "metrics": ["revenue"],
                "range": "last_6_months",
                "dimension": "department",
                "width": 3,
            },
        ],
    }
    document.update(over)
    return document


DROP = object()
"""A field the case removes."""


def widget_error(index: int, **over: Any) -> ViewError:
    document = view()
    changed = {**document["widgets"][index], **over}
    document["widgets"][index] = {k: v for k, v in changed.items() if v is not DROP}
    with pytest.raises(ViewError) as caught:
        parse(document)
    return caught.value


def test_a_view_with_every_widget_type_parses_and_fits_the_org() -> None:
    parsed = parse(view())
    assert [w.kind for w in parsed.widgets] == [
        "kpi",
        "gauge",
        "gauge",
        "timeseries",
        "table",
        "pnl",
        "variance",
        "heatmap",
    ]
    assert parsed.widgets[5].filter is not None and parsed.widgets[5].filter.value == "sales"
    assert parsed.widgets[7].filter is not None and parsed.widgets[7].filter.value is None
    assert parsed.widgets[0].entity_id == "_all" and parsed.widgets[0].width == 1 and parsed.widgets[3].width == 2
    assert view_problems(parsed, CATALOG) == []


@pytest.mark.parametrize(
    ("over", "path", "says"),
    [
        ({"name": " "}, "name", "blank"),
        ({"name": "x" * 101}, "name", "at most 100"),
        ({"description": "x" * 501}, "description", "at most 500"),
        ({"visibility": "public"}, "visibility", "'personal' or 'shared'"),
        ({"owner": 7}, "owner", "text"),
        ({"widgets": {}}, "layout", "list"),
        (
            {"widgets": [{"id": f"w{i}", "type": "pnl", "range": "this_month"} for i in range(MAX_WIDGETS + 1)]},
            "layout",
            "at most 24",
        ),
        ({"colour": "red"}, "colour", "not a field"),
        ({"entity_id": "a__b"}, "entity_id", "__"),
    ],
)
def test_view_fields_are_checked(over: dict[str, Any], path: str, says: str) -> None:
    with pytest.raises(ViewError) as caught:
        parse(view(**over))
    assert caught.value.path == path and says in caught.value.message


@pytest.mark.parametrize(
    ("index", "over", "path", "says"),
    [
        (0, {"type": "pie"}, "widgets.kpi.type", "not a widget type"),
        (0, {"metrics": []}, "widgets.kpi.metrics", "takes 1 metric"),
        (0, {"metrics": ["revenue", "ebitda"]}, "widgets.kpi.metrics", "takes 1 metric"),
        (3, {"metrics": ["a", "b", "c", "d", "e"]}, "widgets.trend.metrics", "1 to 4 metrics"),
        (5, {"metrics": ["revenue"]}, "widgets.pnl.metrics", "no metric"),
        (4, {"metrics": ["revenue", "revenue"]}, "widgets.table.metrics", "twice"),
        (4, {"metrics": ["Revenue"]}, "widgets.table.metrics[0]", "not a metric id"),
        (0, {"range": "last_37_months"}, "widgets.kpi.range", "1 to 36"),
        (0, {"range": "forever"}, "widgets.kpi.range", "not one of"),
        (5, {"range": "this_quarter"}, "widgets.pnl.range", "one month"),
        (7, {"range": "last_24_months"}, "widgets.heat.range", "at most 13 months"),
        (0, {"compare": "last_decade"}, "widgets.kpi.compare", "not a comparison"),
        (1, {"compare": "budget"}, "widgets.gauge.compare", "not a comparison of a gauge"),
        (1, {"target": DROP}, "widgets.gauge.target", "needs a target"),
        (1, {"target": "12,000"}, "widgets.gauge.target", "decimal value"),
        (0, {"target": "budget"}, "widgets.kpi.target", "only a gauge"),
        (6, {"dimension": "department", "value": "sales"}, "widgets.variance.dimension", "variances are per entity"),
        (0, {"dimension": "Department", "value": "sales"}, "widgets.kpi.dimension", "lower-case"),
        (0, {"dimension": "department"}, "widgets.kpi.value", "needs the value"),
        (0, {"value": "sales"}, "widgets.kpi.value", "needs its dimension"),
        (7, {"value": "sales"}, "widgets.heat.value", "every value"),
        (7, {"dimension": DROP}, "widgets.heat.dimension", "needs the dimension"),
        (0, {"width": 4}, "widgets.kpi.width", "1 to 3"),
        (0, {"title": "t" * 101}, "widgets.kpi.title", "at most 100"),
        (0, {"script": "x"}, "widgets.kpi.script", "not a field of a widget"),
        (0, {"id": "Has Space"}, "widgets.Has Space.id", "lower-case"),
    ],
)
def test_widget_fields_are_checked(index: int, over: dict[str, Any], path: str, says: str) -> None:
    error = widget_error(index, **over)
    assert error.path == path, error
    assert says in error.message, error.message


def test_duplicate_widget_ids_are_refused() -> None:
    document = view()
    document["widgets"][1]["id"] = "kpi"
    with pytest.raises(ViewError, match="laid out twice"):
        parse(document)
    with pytest.raises(ViewError, match="used twice"):
        parse_template(document)
    with pytest.raises(ViewError, match="lower-case letters"):
        parse_template(view(widgets=[{"id": "Has Space", "type": "pnl", "range": "this_month"}]))


def test_a_widget_removed_while_the_view_was_read_is_left_out() -> None:
    stored = {k: v for k, v in view().items() if k != "widgets"}
    parsed = parse_view(
        {**stored, "layout": ["kpi", "gone", "pnl"]},
        {
            "kpi": {"type": "kpi", "metrics": ["revenue"], "range": "this_month"},
            "pnl": {"type": "pnl", "range": "this_month"},
            "orphan": {"type": "pie"},
        },
    )
    assert [w.widget_id for w in parsed.widgets] == ["kpi", "pnl"]


def test_a_view_round_trips_through_its_documents() -> None:
    parsed = parse(view())
    document, widgets = view_documents(parsed)
    assert parse_view(document, widgets) == parsed


@pytest.mark.parametrize(
    ("index", "over", "path", "says"),
    [
        (0, {"metrics": ["churn"]}, "widgets.kpi.metrics[0]", "neither built in nor defined"),
        (4, {"entity_id": "apac"}, "widgets.table.entity_id", "does not exist"),
        (5, {"value": "legal"}, "widgets.pnl.value", "not a declared value"),
        (
            5,
            {"dimension": "region", "value": "emea"},
            "widgets.pnl.dimension",
            "not declared (declared: department, project)",
        ),
        (
            0,
            {"dimension": "department", "value": "sales", "metrics": ["arr"]},
            "widgets.kpi.metrics[0]",
            "only the built-in",
        ),
    ],
)
def test_a_view_names_only_what_the_org_has(index: int, over: dict[str, Any], path: str, says: str) -> None:
    document = view()
    document["widgets"][index] = {**document["widgets"][index], **over}
    problems = view_problems(parse(document), CATALOG)
    assert [(p.path, says in p.message) for p in problems] == [(path, True)], problems


def test_an_open_dimension_takes_any_identifier_value() -> None:
    document = view()
    document["widgets"][5] = {**document["widgets"][5], "dimension": "project", "value": "apollo-2"}
    assert view_problems(parse(document), CATALOG) == []


@pytest.mark.parametrize("case", CASES["ranges"], ids=lambda c: f"{c['range']}@{c['anchor']}/fy{c['fy']}")
def test_relative_ranges(case: dict[str, Any]) -> None:
    assert resolve_range(case["range"], case["anchor"], case["fy"]) == PeriodRange(case["first"], case["last"])


@pytest.mark.parametrize("text", CASES["bad_ranges"])
def test_ranges_that_are_refused(text: str) -> None:
    assert range_problem(text) is not None
    with pytest.raises(ViewError):
        resolve_range(text, "2026-11")


@pytest.mark.parametrize("case", CASES["comparisons"], ids=lambda c: c["compare"])
def test_comparison_ranges(case: dict[str, Any]) -> None:
    compared = comparison_range(PeriodRange(case["first"], case["last"]), case["compare"])
    assert (None if compared is None else [compared.first, compared.last]) == case["expect"]


@pytest.mark.parametrize("case", CASES["range_values"], ids=lambda c: f"{c['metric']}={c['expect']}")
def test_values_over_a_range(case: dict[str, Any]) -> None:
    value = range_value(case["metric"], case["unit"], case["values"], case["periods"], case.get("parts"))
    assert (None if value is None else str(value)) == case["expect"]
    if case["unit"] == "money" and value is not None:
        assert isinstance(value, int)  # exact minor units, never a float


@pytest.mark.parametrize("case", CASES["changes"])
def test_changes_against_a_comparison(case: dict[str, Any]) -> None:
    value = Decimal(case["value"]) if isinstance(case["value"], str) else case["value"]
    comparison = Decimal(case["comparison"]) if isinstance(case["comparison"], str) else case["comparison"]
    difference, pct = change_of(value, comparison, case["unit"])
    assert str(difference) == case["difference"]
    assert (None if pct is None else str(pct)) == case["pct"]


@pytest.mark.parametrize("case", CASES["shares"])
def test_gauge_share_of_target(case: dict[str, Any]) -> None:
    share = share_of_target(case["value"], case["target"])
    assert (None if share is None else str(share)) == case["expect"]


@pytest.mark.parametrize("case", CASES["forecasts"], ids=lambda c: c["about"])
def test_a_trends_forecast_of_a_month_only_when_fitted_before_it(case: dict[str, Any]) -> None:
    forecast = forecast_as_of(case["trend"], case["period"])
    assert (None if forecast is None else str(forecast)) == case["expect"]


def test_fixed_targets_are_exact_minor_units() -> None:
    assert target_minor("250000.10", "money", 2) == 25000010
    assert target_minor("1500", "money", 0) == 1500
    assert target_minor("1.5", "ratio", 2) == Decimal("1.5")
    with pytest.raises(ViewError, match="more decimals than the currency"):
        target_minor("1.234", "money", 2)


def test_ready_made_views_are_valid_views() -> None:
    for view_id, document in starter_views().items():
        parsed = parse_template(document)
        assert parsed.widgets, view_id
        assert view_problems(parsed, CATALOG) == [], view_id
    kinds = {w["type"] for d in starter_views().values() for w in d["widgets"]}
    assert kinds >= {"kpi", "gauge", "timeseries", "table", "pnl", "variance"}
    scorecard = parse_template(scorecard_view("department", "sales", "Sales"))
    assert scorecard.name == "Scorecard: Sales"
    assert all(w.filter is not None and w.filter.value == "sales" for w in scorecard.widgets)
    assert view_problems(scorecard, CATALOG) == []
    heat = parse_template(heatmap_view("department"))
    assert [w.kind for w in heat.widgets] == ["heatmap", "heatmap"]


def test_the_catalogue_templates_fill_in_to_the_same_views() -> None:
    catalogue = catalogue_document()
    text = json.dumps(catalogue["scorecard_template"])
    filled = json.loads(
        text.replace("{dimension}", "department").replace("{value}", "sales").replace("{label}", "Sales")
    )
    assert filled == scorecard_view("department", "sales", "Sales")
    text = json.dumps(catalogue["heatmap_template"])
    assert json.loads(text.replace("{dimension}", "region").replace("{label}", "Region")) == heatmap_view(
        "region", "Region"
    )


def test_parse_does_not_change_its_input() -> None:
    document = view()
    before = copy.deepcopy(document)
    parse(document)
    assert document == before


def test_a_card_of_burn_or_runway_is_the_consolidated_cash_forecasts() -> None:
    from finance_core.views import forecast_reading, shows_cash_forecast

    catalog = OrgCatalog({**CATALOG.metric_units, "runway_months": "months"}, CATALOG.entities, CATALOG.dimensions)
    document = view()
    document["widgets"][0] = {**document["widgets"][0], "metrics": ["runway_months"], "entity_id": "us-east"}
    problems = view_problems(parse(document), catalog)
    assert [p.path for p in problems] == ["widgets.kpi.entity_id"]
    assert "consolidated 13-week cash forecast's" in problems[0].message
    assert shows_cash_forecast("kpi", ["runway_months"]) and shows_cash_forecast("gauge", ["net_burn"])
    assert not shows_cash_forecast("timeseries", ["runway_months"]) and not shows_cash_forecast("kpi", ["revenue"])
    reading = forecast_reading("runway_months", None, anchor="2026-12", in_progress="2026-12")
    assert reading.value is None and "tag the chart's cash accounts" in reading.note

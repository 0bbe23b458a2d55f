"""The monthly pack without emulators: statements add up, the workbook's formulas give its numbers,
numbers are formatted from minor units exactly, schedules know which month is due."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from finance_core.accounts import higher_is_favourable
from finance_core.variance import account_variances, percent_change
from reports import formatting
from reports.charts import trend_chart_png
from reports.pack import ReportProblem, build_pack, check_totals
from reports.schedules import ScheduleError, delivery_id, due_period, parse_schedule

from tests.report_inputs import demo_aggregates, demo_inputs

CELL = re.compile(r"([+-]?)([A-Z]+[0-9]+)")


@pytest.fixture(scope="module")
def pack():
    return build_pack(demo_inputs("2026-10"))


def test_statements_show_the_aggregates_and_add_up(pack):
    docs, chart, _ = demo_aggregates()
    assert [s.entity_id for s in pack.statements] == ["_all", "us-east", "us-west", "eu-central"]
    for statement in pack.statements:
        assert check_totals(statement) == []
        actual = docs[(statement.entity_id, "2026-10", "actual")]
        for line in statement.lines:
            if line.kind == "account":
                stored = {**actual["rollups"], **actual["accounts"]}
                assert line.values["actual"] == stored.get(line.account_id, 0)
            if line.kind in ("total", "derived"):
                assert line.values["actual"] == actual["metrics"][line.key.split(":")[1]]
        assert statement.columns == ("actual", "budget", "variance", "variance_pct", "prior_period", "prior_year")


def test_account_variances_and_favourability_are_the_cores(pack):
    docs, chart, _ = demo_aggregates()
    consolidated = pack.statements[0]
    expected = {
        v.account_id: v
        for v in account_variances(
            docs[("_all", "2026-10", "actual")]["accounts"], docs[("_all", "2026-10", "budget")]["accounts"], chart
        )
    }
    leaves = [line for line in consolidated.lines if line.kind == "account" and line.account_id in expected]
    assert len(leaves) == 13
    for line in leaves:
        assert line.values["variance"] == expected[line.account_id].variance_minor
        assert line.values["variance_pct"] == expected[line.account_id].variance_pct
        assert line.favourable == expected[line.account_id].favourable
        assert line.favourable == (
            (line.values["variance"] >= 0) == higher_is_favourable(chart.type_of(line.account_id))
            or line.values["variance"] == 0
        )


def test_a_total_that_does_not_add_up_is_reported_and_not_written_as_a_formula():
    inputs = demo_inputs("2026-10")
    broken = dict(inputs.aggregates)
    doc = dict(broken[("us-east", "2026-10", "actual")])
    doc["metrics"] = dict(doc["metrics"], revenue=doc["metrics"]["revenue"] + 1)
    broken[("us-east", "2026-10", "actual")] = doc
    from dataclasses import replace

    pack = build_pack(replace(inputs, aggregates=broken))
    assert any("Total revenue (actual)" in note and "add up to" in note for note in pack.notes)


def _evaluate(formula: str, values: dict[str, float]) -> Decimal:
    assert formula.startswith("=")
    total = Decimal(0)
    for sign, ref in CELL.findall(formula[1:]):
        total += (-1 if sign == "-" else 1) * Decimal(repr(values[ref]))
    return total


def test_workbook_has_a_sheet_per_statement_frozen_headers_and_formulas_that_give_its_numbers(pack):
    from openpyxl import load_workbook
    from reports.xlsx import FIRST_LINE_ROW, render_xlsx

    data = render_xlsx(pack)
    values_book = load_workbook(io.BytesIO(data), data_only=True)
    formula_book = load_workbook(io.BytesIO(data))
    assert values_book.sheetnames == [
        "Summary",
        "P&L Consolidated",
        "P&L us-east",
        "P&L us-west",
        "P&L eu-central",
        "Net burn and runway",
        "Top variances",
        "Trends",
        "Alerts",
        "Data quality",
    ]
    formulas_checked = 0
    for statement, name in zip(pack.statements, values_book.sheetnames[1:5], strict=True):
        sheet, formulas = values_book[name], formula_book[name]
        assert formulas.freeze_panes == f"C{FIRST_LINE_ROW + 1}"
        cached = {
            cell.coordinate: cell.value
            for row in sheet.iter_rows()
            for cell in row
            if isinstance(cell.value, int | float)
        }
        for index, line in enumerate(statement.lines):
            row = FIRST_LINE_ROW + 1 + index
            if line.kind == "header" or line.unit == "percent":
                continue
            actual = sheet[f"C{row}"]
            assert formatting.minor_from_excel(actual.value, "USD") == line.values["actual"], (name, line.label)
            assert actual.number_format == "#,##0.00;(#,##0.00);#,##0.00"
            variance = formulas[f"E{row}"].value
            assert variance == f"=C{row}-D{row}"
            for column in "CDEGH":
                formula = formulas[f"{column}{row}"].value
                if isinstance(formula, str) and formula.startswith("="):
                    got = _evaluate(formula, cached)
                    assert got == Decimal(repr(cached[f"{column}{row}"])), (name, line.label, column, formula)
                    formulas_checked += 1
        assert sheet["B4"].value == "Line" and sheet["C4"].value == "Actual"
    assert formulas_checked > 100


def test_csv_tables_keep_exact_decimals(pack):
    from reports.tables import render_csv, table_builders

    tables = table_builders(pack)
    assert {"pnl___all", "pnl__us-east", "kpis", "top_variances", "trends", "alerts", "data_quality"} <= set(tables)
    text = render_csv(tables["pnl___all"][1]()).decode("utf-8-sig")
    revenue = next(line for line in text.splitlines() if line.startswith("metric:revenue,"))
    assert revenue.split(",")[5] == str(
        formatting.plain_amount(pack.statements[0].line("metric:revenue").values["actual"], "USD")
    )


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (123456, "USD", "1,234.56"),
        (-1250, "USD", "(12.50)"),
        (0, "USD", "0.00"),
        (1234567, "JPY", "1,234,567"),
        (1234567, "BHD", "1,234.567"),
        (None, "USD", "-"),
    ],
)
def test_amounts_are_formatted_from_minor_units(minor, currency, text):
    assert formatting.amount(minor, currency) == text


def test_spreadsheet_numbers_round_trip_to_the_minor_unit():
    for minor in (1, -1, 10, 99, 123456789012345, -987654321098765, 4_503_599_627_370_495):
        assert formatting.minor_from_excel(formatting.excel_value(minor, "USD"), "USD") == minor
    with pytest.raises(ValueError):
        formatting.excel_value(2**53, "USD")
    assert formatting.percent(Decimal("12.3456")) == "12.3%" and formatting.points(Decimal("-0.25")) == "-0.2 pts"


@pytest.mark.parametrize(
    ("period", "status", "code"),
    [
        ("2031-01", None, "unknown_period"),
        ("2026-12", "open", "no_data"),
        ("2024-10", "closed", "closed_without_data"),
    ],
)
def test_a_period_without_figures_gets_a_reason_not_a_file(period, status, code):
    inputs = demo_inputs(period)
    statuses = {**inputs.period_status}
    statuses.pop(period, None)
    if status:
        statuses[period] = status
    from dataclasses import replace

    with pytest.raises(ReportProblem) as raised:
        build_pack(replace(inputs, period_status=statuses))
    assert raised.value.code == code and period in raised.value.message


@pytest.mark.parametrize(
    ("now", "days", "due"),
    [
        (datetime(2026, 11, 29, tzinfo=UTC), 3, "2026-10"),
        (datetime(2026, 11, 2, tzinfo=UTC), 3, "2026-09"),
        (datetime(2026, 11, 4, tzinfo=UTC), 3, "2026-10"),
        (datetime(2026, 1, 1, tzinfo=UTC), 0, "2025-12"),
        (datetime(2026, 3, 1, 23, 59, tzinfo=UTC), 1, "2026-01"),
    ],
)
def test_the_due_month_is_the_last_that_ended_days_ago(now, days, due):
    assert due_period(now, days) == due


def test_schedules_are_validated_with_readable_reasons():
    schedule = parse_schedule("s1", {"trigger": "month_end", "recipients": ["cfo@example.com"], "updated_by": "u"})
    assert schedule.days_after_month_end == 3 and schedule.enabled
    with pytest.raises(ScheduleError, match="recipients or an e-mail channel_id"):
        parse_schedule("s2", {"trigger": "month_end"})
    with pytest.raises(ScheduleError, match="s3.*trigger"):
        parse_schedule("s3", {"trigger": "weekly", "recipients": ["a@b.c"]})
    with pytest.raises(ScheduleError, match="recipients"):
        parse_schedule("s4", {"trigger": "month_end", "recipients": ["not an address"]})
    assert delivery_id("s1", "2026-10") == "s1__2026-10"
    assert delivery_id("s1", "2026-10", "abc") == "s1__2026-10__close-abc"


def test_the_email_has_a_summary_the_chart_inline_and_the_pdf_attached(pack):
    from adapters.notification_channels.config import EmailChannel, smtp_settings
    from reports.email import pack_email

    settings = smtp_settings(
        EmailChannel(type="email", recipients=("cfo@example.com",)), {"SMTP_HOST": "h"}, lambda _: ""
    )
    message = pack_email(settings, pack, b"%PDF-1.4 fake", b"\x89PNG fake", "https://example.com/x")
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["monthly-pack-northwind-2026-10.pdf"]
    html = message.get_body(("html",))
    cid = re.search(r"cid:([^'\"]+)", html.get_content()).group(1)
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == f"<{cid}>"
    assert formatting.amount(pack.kpis[0].value, "USD") in message.get_body(("plain",)).get_content()


# --- the month in progress (finance_core.progress) --------------------------------------------------


def test_a_pack_of_the_month_in_progress_compares_flows_with_the_budget_to_date_and_says_so():
    inputs = demo_inputs("2026-10", current_period="2026-10", generated_at=datetime(2026, 10, 12, 9, 0, tzinfo=UTC))
    assert inputs.progress.is_partial and (inputs.progress.elapsed_days, inputs.progress.days) == (12, 31)
    pack = build_pack(inputs)
    revenue = pack.statements[0].line("metric:revenue")
    budget = revenue.values["budget"]
    to_date = int((Decimal(budget) * 12 / 31).quantize(Decimal(1), ROUND_HALF_EVEN))
    assert revenue.values["variance"] == revenue.values["actual"] - to_date, "judged against 12/31 of the budget"
    assert budget == inputs.aggregates[("_all", "2026-10", "budget")]["metrics"]["revenue"], "the month's plan stays"
    kpi = next(k for k in pack.kpis if k.metric == "revenue")
    assert kpi.vs_budget_pct == percent_change(revenue.values["actual"], to_date)
    assert any("month in progress (day 12 of 31)" in note for note in pack.notes)
    partial = [r for r in pack.trends if r.kind == "actual" and r.partial]
    assert {r.period for r in partial} == {"2026-10"}
    # Fitted on the complete months (up to 2026-09): the forecast starts after the month in progress.
    assert {r.period for r in pack.trends if r.kind == "forecast"} == {"2026-11", "2026-12"}


def test_a_pack_of_a_past_month_shows_the_forecast_as_it_stood_then_never_one_fitted_on_later_data():
    later = {
        "revenue": {
            "series": [{"period": "2026-11", "value_minor": 1}],
            "forecast": [{"period": "2026-12", "value_minor": 314_000_000, "lower_minor": 1, "upper_minor": 2}],
            "computed_at": "2026-11-29T10:00:00Z",
        }
    }
    pack = build_pack(demo_inputs("2026-08", trends=later))
    forecast = [r for r in pack.trends if r.metric == "revenue" and r.kind == "forecast"]
    assert [r.period for r in forecast] == ["2026-09", "2026-10", "2026-11"], "right after August, at its months"
    assert all(r.forecast != 314_000_000 for r in forecast)
    assert "up to 2026-08" in str(pack.trend_computed_at["revenue"])
    # The chart puts each month at its place on a time axis: a missing month is a gap, not a step.
    png = trend_chart_png(pack)
    assert png.startswith(b"\x89PNG")


def test_the_pack_of_the_month_in_progress_shows_the_cash_forecasts_burn_and_runway():
    from finance_core.cash import cash_runway
    from reports.tables import render_csv, table_builders

    runway = cash_runway(Decimal(-1350_00), 39_200_00, datetime(2026, 11, 29).date()).as_document()
    statuses = dict(demo_inputs().period_status, **{"2026-10": "open"})
    pack = build_pack(demo_inputs("2026-10", current_period="2026-10", period_status=statuses, cash_runway=runway))
    lines = dict(pack.cash)
    assert lines["Net burn"] == "5,850.00 a month (1,350.00 a week)"
    assert lines["Runway"] == "6.7 months (29 weeks)"
    assert lines["Cash on hand"] == "39,200.00" and "13-week cash forecast as of 2026-11-29" in lines["Basis"]
    text = render_csv(table_builders(pack)["cash_runway"][1]()).decode("utf-8-sig")
    assert "6.7 months (29 weeks)" in text

    # Not burning: no runway in months; a pack of an earlier month never shows the live forecast.
    growing = cash_runway(Decimal(10_00), 39_200_00, datetime(2026, 11, 29).date()).as_document()
    lines = dict(
        build_pack(demo_inputs("2026-10", current_period="2026-10", period_status=statuses, cash_runway=growing)).cash
    )
    assert lines["Runway"] == "not burning" and "not burning" in lines["Net burn"]
    earlier = dict(
        build_pack(demo_inputs("2026-09", current_period="2026-10", period_status=statuses, cash_runway=runway)).cash
    )
    assert list(earlier) == ["Net burn and runway"] and "month in progress (2026-10)" in earlier["Net burn and runway"]

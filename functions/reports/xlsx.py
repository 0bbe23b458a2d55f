"""The pack as an Excel workbook (XlsxWriter): the tables of reports/tables.py, one sheet per statement,
frozen headers, a number format per kind of cell, totals as formulas that carry their computed values
(so any reader sees the number without recalculating)."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any, Protocol

from finance_core.export_text import spreadsheet_safe
from finance_core.identifiers import CONSOLIDATED_ENTITY

from reports import formatting
from reports.pack import Line, Pack, Statement
from reports.tables import (
    Column,
    Kind,
    Table,
    alert_table,
    cash_table,
    data_quality_table,
    kpi_table,
    statement_table,
    trend_table,
    variance_table,
)


class Priced(Protocol):
    """What a table's cells need of the report they belong to (a pack, or a view's report)."""

    @property
    def currency(self) -> str: ...


HEADER_ROW = 3
FIRST_LINE_ROW = HEADER_ROW + 1
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
MAX_FORMULA_CHARS = 8000


def sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique sheet name (31 characters, none of []:*?/\\)."""
    base = _SHEET_FORBIDDEN.sub("-", title)[:31]
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _text(sheet: Any, row: int, col: int, text: str, style: Any) -> None:
    """A string cell (never a formula, link or number), neutralised by the export rule (export_text)."""
    sheet.write_string(row, col, spreadsheet_safe(text), style)


def _text_row(sheet: Any, row: int, texts: list[str], style: Any) -> None:
    for col, text in enumerate(texts):
        _text(sheet, row, col, text, style)


def _cell(row: int, col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


class _Formats:
    def __init__(self, workbook: Any, currency: str):
        amount = formatting.excel_amount_format(currency)
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.subtitle = workbook.add_format({"italic": True, "font_color": "#555555"})
        self.header = workbook.add_format(
            {
                "bold": True,
                "bg_color": "#1F4E79",
                "font_color": "#FFFFFF",
                "border": 1,
                "text_wrap": True,
                "valign": "vcenter",
            }
        )
        self.amount = workbook.add_format({"num_format": amount})
        self.amount_bold = workbook.add_format({"num_format": amount, "bold": True, "top": 1})
        self.percent = workbook.add_format({"num_format": "0.0%"})
        self.percent_bold = workbook.add_format({"num_format": "0.0%", "bold": True})
        self.points = workbook.add_format({"num_format": '+0.0" pts";-0.0" pts";0.0" pts"'})
        self.text = workbook.add_format({})
        self.bold = workbook.add_format({"bold": True})
        self.section = workbook.add_format({"bold": True, "bg_color": "#DDEBF7"})
        self.good = workbook.add_format({"font_color": "#006100", "bold": True, "align": "center"})
        self.bad = workbook.add_format({"font_color": "#9C0006", "bold": True, "align": "center"})
        self.indents = [workbook.add_format({"indent": level}) for level in range(6)]
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})


def _fraction(percent: int | Decimal | None) -> float | None:
    """A stored percentage (12.3456) as the spreadsheet's fraction (0.123456) for the 0.0% format."""
    return None if percent is None else float(Decimal(percent) / 100)


def _write_statement(sheet: Any, fmt: _Formats, pack: Pack, statement: Statement) -> None:
    currency = pack.currency
    table = statement_table(statement)
    columns = table.columns_in("sheet")
    col_of = {column.key: i for i, column in enumerate(columns)}
    _text(sheet, 0, 0, f"{statement.title} - {pack.org_name} - {pack.period} ({currency})", fmt.title)
    _text(
        sheet,
        1,
        0,
        f"Period {pack.period} ({pack.period_status}); prior period {statement.prior_period}, "
        f"prior year {statement.prior_year}; amounts in {currency}",
        fmt.subtitle,
    )
    _text_row(sheet, HEADER_ROW, [column.title for column in columns], fmt.header)
    row_of = {line.key: FIRST_LINE_ROW + i for i, line in enumerate(statement.lines)}
    for line in statement.lines:
        row = row_of[line.key]
        strong = line.kind in ("total", "derived")
        if line.kind == "header":
            _text(sheet, row, 0, "", fmt.section)
            _text(sheet, row, 1, line.label, fmt.section)
            continue
        for col, column in enumerate(columns):
            if column.key == "label":
                style = fmt.bold if strong or line.kind == "ratio" else fmt.indents[min(line.level, 5)]
                _text(sheet, row, col, line.label, style)
                continue
            kind = column.kind_of(line)
            if kind == "money":
                _write_amount(sheet, fmt, statement, line, column.key, row, col, col_of, row_of, currency, strong)
            else:
                # A margin's line is bold like a total.
                _write_cell(sheet, fmt, kind, column.value(line), row, col, pack, strong or line.kind == "ratio")
    sheet.freeze_panes(FIRST_LINE_ROW, 2)
    for col, column in enumerate(columns):
        sheet.set_column(col, col, column.width)
    sheet.set_row(HEADER_ROW, 30)


def _write_amount(
    sheet: Any,
    fmt: _Formats,
    statement: Statement,
    line: Line,
    column: str,
    row: int,
    col: int,
    col_of: dict[str, int],
    row_of: dict[str, int],
    currency: str,
    strong: bool,
) -> None:
    """A statement amount: the variance and the totals as formulas carrying their value, the rest as numbers."""
    value = line.values.get(column)
    if value is None:
        return
    cached = formatting.excel_value(int(value), currency)
    style = fmt.amount_bold if strong else fmt.amount
    # A month in progress is judged against its budget to date (finance_core.progress): its variance
    # is a number, not the formula actual - budget of the whole month's plan.
    actual, budget = line.values.get("actual"), line.values.get("budget")
    if column == "variance" and actual is not None and budget is not None and value == actual - budget:
        formula = f"={_cell(row, col_of['actual'])}-{_cell(row, col_of['budget'])}"
        sheet.write_formula(row, col, formula, style, cached)
        return
    if column == "variance":
        sheet.write_number(row, col, cached, style)
        return
    total = _sum_formula(statement, line, column, col, row_of)
    if total is None:
        sheet.write_number(row, col, cached, style)
    else:
        sheet.write_formula(row, col, total, style, cached)


def _write_cell(
    sheet: Any, fmt: _Formats, kind: Kind, value: Any, row: int, col: int, pack: Priced, strong: bool
) -> None:
    """One cell of a declared column, in the format of its kind."""
    if value is None or kind == "blank":
        return
    if kind == "money":
        sheet.write_number(row, col, _money(value, pack), fmt.amount_bold if strong else fmt.amount)
    elif kind == "percent":
        sheet.write_number(row, col, _fraction(value), fmt.percent_bold if strong else fmt.percent)
    elif kind == "points":
        sheet.write_number(row, col, float(value), fmt.points)
    elif kind == "flag":
        _text(sheet, row, col, formatting.favourability(value), fmt.good if value else fmt.bad)
    elif kind == "count":
        sheet.write_number(row, col, value, fmt.text)
    elif kind == "number":
        sheet.write_number(row, col, float(value), fmt.text)
    elif kind == "time":
        sheet.write_datetime(row, col, value.replace(tzinfo=None), fmt.date)
    else:
        _text(sheet, row, col, str(value), fmt.bold if strong else fmt.text)


def _sum_formula(statement: Statement, line: Line, column: str, col: int, row_of: dict[str, int]) -> str | None:
    """'=C5+C6-C9' when the line is the signed sum of its terms in this column; None otherwise (value written)."""
    if not line.terms:
        return None
    parts = [
        (value, sign, key) for key, sign in line.terms if (value := statement.line(key).values.get(column)) is not None
    ]
    if len(parts) != len(line.terms):
        return None
    if sum(int(value) * sign for value, sign, _ in parts) != line.values.get(column):
        return None  # pack.notes says which total does not add up; the stored number is shown
    formula = "=" + "".join(f"{'+' if sign > 0 else '-'}{_cell(row_of[key], col)}" for _, sign, key in parts)
    formula = formula.replace("=+", "=", 1)
    return formula if len(formula) <= MAX_FORMULA_CHARS else None


def _write_table(sheet: Any, fmt: _Formats, title: str, subtitle: str, table: Table[Any], pack: Priced) -> int:
    """A declared table under a title; returns the row after its last line."""
    columns: list[Column[Any]] = table.columns_in("sheet")
    _text(sheet, 0, 0, title, fmt.title)
    _text(sheet, 1, 0, subtitle, fmt.subtitle)
    _text_row(sheet, HEADER_ROW, [column.title for column in columns], fmt.header)
    for r, row in enumerate(table.rows, start=FIRST_LINE_ROW):
        for c, column in enumerate(columns):
            # A column naming the row (a KPI, an item) is bold, as the rows' headings.
            heading = c == 0 and column.key in ("label", "item")
            _write_cell(sheet, fmt, column.kind_of(row), column.value(row), r, c, pack, strong=heading)
    sheet.freeze_panes(FIRST_LINE_ROW, 0)
    for c, column in enumerate(columns):
        sheet.set_column(c, c, column.width)
    return FIRST_LINE_ROW + len(table.rows)


def _money(minor: int | None, pack: Priced) -> float | None:
    return None if minor is None else formatting.excel_value(int(minor), pack.currency)


def text_safe_workbook(buffer: io.BytesIO, title: str, company: str) -> Any:
    """An in-memory XlsxWriter workbook in which text stays text (the monthly pack and the reports of views).

    XlsxWriter's write() would otherwise turn '=...' into a formula, 'http...' into a link and '12'
    into a number. Every text cell goes through _text (finance_core.export_text) anyway.
    """
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "default_date_format": "yyyy-mm-dd hh:mm",
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    workbook.set_properties({"title": title, "company": company})
    return workbook


def render_xlsx(pack: Pack) -> bytes:
    """The workbook's bytes."""

    buffer = io.BytesIO()
    workbook = text_safe_workbook(buffer, f"Monthly pack {pack.period} - {pack.org_name}", pack.org_name)
    fmt = _Formats(workbook, pack.currency)
    taken: set[str] = set()
    subtitle = f"{pack.org_name} - {pack.period} ({pack.period_status}) - amounts in {pack.currency}"

    summary = workbook.add_worksheet(sheet_name("Summary", taken))
    end = _write_table(summary, fmt, f"Headline KPIs - {pack.org_name}", subtitle, kpi_table(pack), pack)
    notes_row = end + 2
    _text(summary, notes_row, 0, "Notes", fmt.bold)
    for i, note in enumerate(pack.notes, start=1):
        _text(summary, notes_row + i, 0, note, fmt.text)

    for statement in pack.statements:
        title = "P&L Consolidated" if statement.entity_id == CONSOLIDATED_ENTITY else f"P&L {statement.entity_id}"
        _write_statement(workbook.add_worksheet(sheet_name(title, taken)), fmt, pack, statement)

    for name, title, table in (
        ("Net burn and runway", "Net burn and runway (13-week cash forecast)", cash_table(pack)),
        ("Top variances", "Top variances vs budget", variance_table(pack)),
        ("Trends", "Trends and forecast (consolidated)", trend_table(pack)),
        ("Alerts", f"Alerts and anomalies of {pack.period}", alert_table(pack)),
        ("Data quality", "Data quality", data_quality_table(pack)),
    ):
        _write_table(workbook.add_worksheet(sheet_name(name, taken)), fmt, title, subtitle, table, pack)
    workbook.close()
    return buffer.getvalue()

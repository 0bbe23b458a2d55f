"""The pack as an Excel workbook (XlsxWriter): one sheet per statement, frozen headers, number formats,
totals as formulas that carry their computed values (so any reader sees the number without recalculating)."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

from finance_core.export_text import spreadsheet_safe
from finance_core.identifiers import CONSOLIDATED_ENTITY

from reports import formatting
from reports.pack import Line, Pack, Statement

HEADER_ROW = 3
FIRST_LINE_ROW = HEADER_ROW + 1
COLUMN_TITLES = {
    "actual": "Actual",
    "budget": "Budget",
    "variance": "Variance",
    "variance_pct": "Var %",
    "prior_period": "Prior period",
    "prior_year": "Prior year",
}
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


def statement_columns(statement: Statement) -> list[str]:
    """Data columns of a statement sheet, in order (after Account and Line), with the F/U flag."""
    columns: list[str] = []
    for column in statement.columns:
        columns.append(column)
        if column == "variance_pct":
            columns.append("favourable")
    return columns


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


def _write_statement(workbook: Any, sheet: Any, fmt: _Formats, pack: Pack, statement: Statement) -> None:
    currency = pack.currency
    columns = statement_columns(statement)
    col_of = {name: 2 + i for i, name in enumerate(columns)}
    _text(sheet, 0, 0, f"{statement.title} - {pack.org_name} - {pack.period} ({currency})", fmt.title)
    _text(
        sheet,
        1,
        0,
        f"Period {pack.period} ({pack.period_status}); prior period {statement.prior_period}, "
        f"prior year {statement.prior_year}; amounts in {currency}",
        fmt.subtitle,
    )
    _text_row(
        sheet,
        HEADER_ROW,
        ["Account", "Line"]
        + [
            "F/U"
            if c == "favourable"
            else COLUMN_TITLES[c]
            + (
                f" {statement.prior_period}"
                if c == "prior_period"
                else f" {statement.prior_year}"
                if c == "prior_year"
                else ""
            )
            for c in columns
        ],
        fmt.header,
    )
    row_of = {line.key: FIRST_LINE_ROW + i for i, line in enumerate(statement.lines)}
    for line in statement.lines:
        row = row_of[line.key]
        strong = line.kind in ("total", "derived")
        if line.kind == "header":
            _text(sheet, row, 0, "", fmt.section)
            _text(sheet, row, 1, line.label, fmt.section)
            continue
        _text(sheet, row, 0, line.account_id or "", fmt.text)
        _text(
            sheet, row, 1, line.label, fmt.bold if strong or line.kind == "ratio" else fmt.indents[min(line.level, 5)]
        )
        for column in columns:
            col = col_of[column]
            if column == "favourable":
                flag = formatting.favourability(line.favourable)
                if flag:
                    _text(sheet, row, col, flag, fmt.good if line.favourable else fmt.bad)
                continue
            _write_value(sheet, fmt, statement, line, column, row, col, col_of, row_of, currency, strong)
    sheet.freeze_panes(FIRST_LINE_ROW, 2)
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 36)
    sheet.set_column(2, 1 + len(columns), 15)
    sheet.set_row(HEADER_ROW, 30)


def _write_value(
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
    value = line.values.get(column)
    if value is None:
        return
    if line.unit == "percent":
        if column == "variance":
            sheet.write_number(row, col, float(value), fmt.points)
        elif column != "variance_pct":
            sheet.write_number(row, col, _fraction(value), fmt.percent_bold)
        return
    if column == "variance_pct":
        sheet.write_number(row, col, _fraction(value), fmt.percent)
        return
    cached = formatting.excel_value(int(value), currency)
    style = fmt.amount_bold if strong else fmt.amount
    # A month in progress is judged against its budget to date (finance_core.progress): its variance
    # is a number, not the formula actual - budget of the whole month's plan.
    if column == "variance" and int(value) == int(line.values["actual"]) - int(line.values["budget"]):
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


def _write_table(
    sheet: Any,
    fmt: _Formats,
    title: str,
    subtitle: str,
    headers: list[str],
    rows: list[list[tuple[Any, Any]]],
    widths: list[int],
) -> None:
    _text(sheet, 0, 0, title, fmt.title)
    _text(sheet, 1, 0, subtitle, fmt.subtitle)
    _text_row(sheet, HEADER_ROW, headers, fmt.header)
    for r, cells in enumerate(rows, start=FIRST_LINE_ROW):
        for c, (value, style) in enumerate(cells):
            if value is None:
                continue
            if isinstance(value, float | int) and not isinstance(value, bool):
                sheet.write_number(r, c, value, style)
            elif hasattr(value, "tzinfo"):
                sheet.write_datetime(r, c, value.replace(tzinfo=None), style)
            else:
                _text(sheet, r, c, str(value), style)
    sheet.freeze_panes(FIRST_LINE_ROW, 0)
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)


def _money(minor: int | None, pack: Pack) -> float | None:
    return None if minor is None else formatting.excel_value(int(minor), pack.currency)


def _kpi_value(value: Any, unit: str, pack: Pack) -> float | None:
    if value is None:
        return None
    return _fraction(value) if unit == "percent" else _money(int(value), pack)


def render_xlsx(pack: Pack) -> bytes:
    """The workbook's bytes."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "default_date_format": "yyyy-mm-dd hh:mm",
            # Text is text: XlsxWriter's write() would otherwise turn '=...' into a formula, 'http...'
            # into a link and '12' into a number. Every text cell goes through _text anyway.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    workbook.set_properties({"title": f"Monthly pack {pack.period} - {pack.org_name}", "company": pack.org_name})
    fmt = _Formats(workbook, pack.currency)
    taken: set[str] = set()
    subtitle = f"{pack.org_name} - {pack.period} ({pack.period_status}) - amounts in {pack.currency}"

    summary = workbook.add_worksheet(sheet_name("Summary", taken))
    kpi_rows = []
    for kpi in pack.kpis:
        style = fmt.percent if kpi.unit == "percent" else fmt.amount
        change_style = fmt.points if kpi.unit == "percent" else fmt.amount
        kpi_rows.append(
            [
                (kpi.label, fmt.bold),
                (_kpi_value(kpi.value, kpi.unit, pack), style),
                (_kpi_value(kpi.previous, kpi.unit, pack), style),
                (
                    float(kpi.change)
                    if kpi.unit == "percent" and kpi.change is not None
                    else _kpi_value(kpi.change, kpi.unit, pack),
                    change_style,
                ),
                (_fraction(kpi.change_pct), fmt.percent),
                (_kpi_value(kpi.budget, kpi.unit, pack), style),
                (_fraction(kpi.vs_budget_pct), fmt.percent),
            ]
        )
    _write_table(
        summary,
        fmt,
        f"Headline KPIs - {pack.org_name}",
        subtitle,
        ["KPI", "Value", "Previous period", "Change", "Change %", "Budget", "vs budget %"],
        kpi_rows,
        [28, 16, 16, 16, 12, 16, 12],
    )
    notes_row = FIRST_LINE_ROW + len(kpi_rows) + 2
    _text(summary, notes_row, 0, "Notes", fmt.bold)
    for i, note in enumerate(pack.notes, start=1):
        _text(summary, notes_row + i, 0, note, fmt.text)

    for statement in pack.statements:
        title = "P&L Consolidated" if statement.entity_id == CONSOLIDATED_ENTITY else f"P&L {statement.entity_id}"
        _write_statement(workbook, workbook.add_worksheet(sheet_name(title, taken)), fmt, pack, statement)

    _write_table(
        workbook.add_worksheet(sheet_name("Top variances", taken)),
        fmt,
        "Top variances vs budget",
        subtitle,
        ["Entity", "Account", "Name", "Actual", "Budget", "Variance", "Var %", "F/U"],
        [
            [
                (v.entity_id, fmt.text),
                (v.account_id, fmt.text),
                (v.account_name, fmt.text),
                (_money(v.actual, pack), fmt.amount),
                (_money(v.budget, pack), fmt.amount),
                (_money(v.variance, pack), fmt.amount),
                (_fraction(v.variance_pct), fmt.percent),
                (formatting.favourability(v.favourable), fmt.good if v.favourable else fmt.bad),
            ]
            for v in pack.top_variances
        ],
        [12, 10, 32, 16, 16, 16, 10, 6],
    )

    _write_table(
        workbook.add_worksheet(sheet_name("Trends", taken)),
        fmt,
        "Trends and forecast (consolidated)",
        subtitle,
        ["Metric", "Period", "Kind", "Actual", "Budget", "Forecast", "Lower", "Upper"],
        [
            [
                (t.metric, fmt.text),
                (t.period, fmt.text),
                (t.kind, fmt.text),
                (_money(t.actual, pack), fmt.amount),
                (_money(t.budget, pack), fmt.amount),
                (_money(t.forecast, pack), fmt.amount),
                (_money(t.lower, pack), fmt.amount),
                (_money(t.upper, pack), fmt.amount),
            ]
            for t in pack.trends
        ],
        [14, 10, 10, 16, 16, 16, 16, 16],
    )

    _write_table(
        workbook.add_worksheet(sheet_name("Alerts", taken)),
        fmt,
        f"Alerts and anomalies of {pack.period}",
        subtitle,
        ["Severity", "Status", "Type", "Entity", "Title", "Count", "First seen", "Last seen"],
        [
            [
                (a.severity, fmt.text),
                (a.status, fmt.text),
                (a.rule_type, fmt.text),
                (a.entity_id, fmt.text),
                (a.title, fmt.text),
                (a.count, fmt.text),
                (a.first_seen, fmt.date),
                (a.last_seen, fmt.date),
            ]
            for a in pack.alerts
        ],
        [10, 13, 10, 12, 60, 7, 17, 17],
    )

    _write_table(
        workbook.add_worksheet(sheet_name("Data quality", taken)),
        fmt,
        "Data quality",
        subtitle,
        ["Item", "Value"],
        [[(label, fmt.bold), (value, fmt.text)] for label, value in pack.data_quality],
        [30, 90],
    )
    workbook.close()
    return buffer.getvalue()

"""Every table of the pack declared once: its columns, what each shows and of what kind; the CSV renderer.

A table is a list of rows and a tuple of columns. A column has a machine name (the CSV header), a
title (the header in the PDF and the workbook), a kind per row (money, percent, points, a
favourable flag, ...) and a width. The PDF (reports/pdf.py), the workbook (reports/xlsx.py) and
the CSV files below render the same declarations, each in its own way: money as '12,345.67' on
paper, as a number with the currency's format in the workbook, as '12345.67' in a CSV; a flag as
F/U or true/false. Columns a person needs but a program does not (a KPI's label) or the other way
round (a line's key) say which media they appear in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Generic, Literal, TypeVar

from finance_core.export_text import spreadsheet_safe
from finance_core.identifiers import CONSOLIDATED_ENTITY

from reports import formatting
from reports.pack import AlertRow, KpiRow, Line, Pack, Statement, TrendRow, VarianceRow

Row = TypeVar("Row")
Kind = Literal["text", "entity", "money", "percent", "points", "flag", "count", "number", "time", "blank"]
"""`number`: a decimal shown as it is (a ratio, days or months of an org's own metric)."""
Medium = Literal["csv", "sheet"]
"""`csv`: the CSV files; `sheet`: what people read, the PDF and the workbook."""
EVERYWHERE: frozenset[Medium] = frozenset({"csv", "sheet"})
CSV_ONLY: frozenset[Medium] = frozenset({"csv"})
SHEETS_ONLY: frozenset[Medium] = frozenset({"sheet"})


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One column of a table."""

    key: str
    """Machine name: the CSV header."""
    title: str
    """Header in the PDF and the workbook."""
    kind: Kind | Callable[[Row], Kind]
    """How a cell reads, for every row or per row (a KPI's value is money or a percentage)."""
    value: Callable[[Row], Any]
    width: float = 12
    """In characters of the workbook; the PDF shares the page width in the same proportions."""
    clip: int | None = None
    """At most this many characters on paper (the workbook and the CSV keep the whole text)."""
    media: frozenset[Medium] = EVERYWHERE

    def kind_of(self, row: Row) -> Kind:
        """The kind of this column's cell in `row`."""
        return self.kind(row) if callable(self.kind) else self.kind


@dataclass(frozen=True)
class Table(Generic[Row]):
    """A table of the pack: its id (the CSV file's name), title, columns and rows."""

    table_id: str
    title: str
    columns: tuple[Column[Row], ...]
    rows: tuple[Row, ...]

    def columns_in(self, medium: Medium) -> list[Column[Row]]:
        """The columns shown in a medium, in order."""
        return [column for column in self.columns if medium in column.media]


# --- the declarations ------------------------------------------------------------------------------

_SHORT_TITLES = {"actual": "Actual", "budget": "Budget", "variance": "Variance", "variance_pct": "Var %"}


def _statement_kind(column: str) -> Callable[[Line], Kind]:
    def kind(line: Line) -> Kind:
        if line.unit == "percent":
            # A margin's difference is in points; a percentage of a percentage means nothing.
            return "points" if column == "variance" else "blank" if column == "variance_pct" else "percent"
        return "percent" if column == "variance_pct" else "money"

    return kind


def _line_value(column: str) -> Callable[[Line], Any]:
    return lambda line: line.values.get(column)


def statement_table(statement: Statement) -> Table[Line]:
    """A P&L: account and line, the statement's columns with the F/U flag after Var %, then the priors."""
    titles = {
        **_SHORT_TITLES,
        "prior_period": f"Prior {statement.prior_period}",
        "prior_year": f"Prior year {statement.prior_year}",
    }
    columns: list[Column[Line]] = [
        Column("key", "Key", "text", lambda line: line.key, media=CSV_ONLY),
        Column("account_id", "Account", "text", lambda line: line.account_id or "", width=10),
        Column("label", "Line", "text", lambda line: line.label, width=36, clip=48),
        Column("kind", "Kind", "text", lambda line: line.kind, media=CSV_ONLY),
        Column("unit", "Unit", "text", lambda line: line.unit, media=CSV_ONLY),
    ]
    for name in statement.columns:
        width = 17 if name.startswith("prior") else 15  # their titles carry the month
        columns.append(Column(name, titles[name], _statement_kind(name), _line_value(name), width=width))
        if name == "variance_pct":
            columns.append(Column("favourable", "F/U", "flag", lambda line: line.favourable, width=6))
    return Table(statement.table_id, statement.title, tuple(columns), statement.lines)


def _kpi_kind(percent: Kind, money: Kind) -> Callable[[KpiRow], Kind]:
    return lambda kpi: percent if kpi.unit == "percent" else money


def kpi_table(pack: Pack) -> Table[KpiRow]:
    """Headline KPIs: percentages change in points, money in amounts and percent."""
    measure = _kpi_kind("percent", "money")
    return Table(
        "kpis",
        "Headline KPIs",
        (
            Column("metric", "Metric", "text", lambda k: k.metric, media=CSV_ONLY),
            Column("label", "KPI", "text", lambda k: k.label, width=28, media=SHEETS_ONLY),
            Column("unit", "Unit", "text", lambda k: k.unit, media=CSV_ONLY),
            Column("value", "Value", measure, lambda k: k.value, width=16),
            Column("previous", "Previous period", measure, lambda k: k.previous, width=16),
            Column("change", "Change", _kpi_kind("points", "money"), lambda k: k.change, width=16),
            Column("change_pct", "Change %", _kpi_kind("blank", "percent"), lambda k: k.change_pct, width=12),
            Column("budget", "Budget", measure, lambda k: k.budget, width=16),
            Column("vs_budget_pct", "vs budget %", _kpi_kind("blank", "percent"), lambda k: k.vs_budget_pct, width=12),
        ),
        pack.kpis,
    )


def variance_table(pack: Pack) -> Table[VarianceRow]:
    """The top variances vs budget of every statement."""
    return Table(
        "top_variances",
        "Top variances vs budget",
        (
            Column("entity_id", "Entity", "entity", lambda v: v.entity_id, width=12),
            Column("account_id", "Account", "text", lambda v: v.account_id, width=10),
            Column("account_name", "Name", "text", lambda v: v.account_name, width=32, clip=40),
            Column("actual", "Actual", "money", lambda v: v.actual, width=16),
            Column("budget", "Budget", "money", lambda v: v.budget, width=16),
            Column("variance", "Variance", "money", lambda v: v.variance, width=16),
            Column("variance_pct", "Var %", "percent", lambda v: v.variance_pct, width=10),
            Column("favourable", "F/U", "flag", lambda v: v.favourable, width=6),
        ),
        pack.top_variances,
    )


def trend_table(pack: Pack) -> Table[TrendRow]:
    """The numbers of the trend charts: actual and budget per month, then the forecast with its band."""
    return Table(
        "trends",
        "Trends and forecast",
        (
            Column("metric", "Metric", "text", lambda t: t.metric, width=14),
            Column("period", "Period", "text", lambda t: t.period, width=10),
            Column("kind", "Kind", "text", lambda t: t.kind, width=10),
            Column("actual", "Actual", "money", lambda t: t.actual, width=16),
            Column("budget", "Budget", "money", lambda t: t.budget, width=16),
            Column("forecast", "Forecast", "money", lambda t: t.forecast, width=16),
            Column("lower", "Lower", "money", lambda t: t.lower, width=16),
            Column("upper", "Upper", "money", lambda t: t.upper, width=16),
        ),
        pack.trends,
    )


def alert_table(pack: Pack, rows: Sequence[AlertRow] | None = None) -> Table[AlertRow]:
    """The period's alerts (all of them, or the given ones: the PDF lists anomalies apart)."""
    return Table(
        "alerts",
        "Alerts and anomalies",
        (
            Column("severity", "Severity", "text", lambda a: a.severity, width=10),
            Column("status", "Status", "text", lambda a: a.status, width=13),
            Column("rule_type", "Type", "text", lambda a: a.rule_type, width=10),
            Column("entity_id", "Entity", "entity", lambda a: a.entity_id, width=12),
            Column("title", "Title", "text", lambda a: a.title, width=60, clip=70),
            Column("count", "Count", "count", lambda a: a.count, width=7),
            Column("first_seen", "First seen", "time", lambda a: a.first_seen, width=17),
            Column("last_seen", "Last seen", "time", lambda a: a.last_seen, width=17),
        ),
        tuple(pack.alerts if rows is None else rows),
    )


def data_quality_table(pack: Pack) -> Table[tuple[str, str]]:
    """The data-quality footnote as item and value."""
    return Table(
        "data_quality",
        "Data quality",
        (
            Column("item", "Item", "text", lambda r: r[0], width=30),
            Column("value", "Value", "text", lambda r: r[1], width=90, clip=120),
        ),
        pack.data_quality,
    )


def cash_table(pack: Pack) -> Table[tuple[str, str]]:
    """Net burn and runway of the 13-week cash forecast, as item and value (docs/kpis.md, "Burn and runway")."""
    return Table(
        "cash_runway",
        "Net burn and runway",
        (
            Column("item", "Item", "text", lambda r: r[0], width=30),
            Column("value", "Value", "text", lambda r: r[1], width=90, clip=200),
        ),
        pack.cash,
    )


def pack_tables(pack: Pack) -> list[Table[Any]]:
    """Every table of the pack, statements first (one CSV file each)."""
    tables: list[Table[Any]] = [statement_table(statement) for statement in pack.statements]
    return [
        *tables,
        kpi_table(pack),
        cash_table(pack),
        variance_table(pack),
        trend_table(pack),
        alert_table(pack),
        data_quality_table(pack),
    ]


# --- CSV ------------------------------------------------------------------------------------------


def csv_cell(kind: Kind, value: Any, currency: str) -> Any:
    """A cell of a CSV file: exact decimals without separators, ISO times, true/false flags."""
    if value is None or kind == "blank":
        return ""
    if kind == "money":
        return formatting.plain_amount(value, currency)
    if kind in ("percent", "points", "number"):
        return str(value)
    if kind == "flag":
        return str(bool(value)).lower()
    if kind == "time":
        return value.isoformat() if isinstance(value, datetime) else str(value)
    if kind == "count":
        return value
    return str(value)


def csv_rows(table: Table[Any], currency: str) -> list[list[Any]]:
    """A table as CSV rows, the header first (a statement's section headers carry no figures: left out)."""
    columns = table.columns_in("csv")
    rows: list[list[Any]] = [[column.key for column in columns]]
    for row in table.rows:
        if isinstance(row, Line) and row.kind == "header":
            continue
        rows.append([csv_cell(column.kind_of(row), column.value(row), currency) for column in columns])
    return rows


def table_builders(pack: Pack) -> dict[str, tuple[str, Callable[[], list[list[Any]]]]]:
    """table_id -> (title, rows with a header row first): one CSV file each."""
    return {table.table_id: (table.title, partial(csv_rows, table, pack.currency)) for table in pack_tables(pack)}


def render_csv(rows: list[list[Any]]) -> bytes:
    """UTF-8 CSV (with a BOM, so spreadsheet programs detect the encoding); no cell a spreadsheet would execute.

    Every text cell goes through the export rule (finance_core.export_text): a formula-like cell
    gets a leading apostrophe; amounts, plain decimal numbers such as -1234.50, stay parseable.
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(
        [[spreadsheet_safe(cell) if isinstance(cell, str) else cell for cell in row] for row in rows]
    )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def entity_label(entity_id: str) -> str:
    """An entity as people read it: the consolidation by name."""
    return "Consolidated" if entity_id == CONSOLIDATED_ENTITY else entity_id

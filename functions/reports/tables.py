"""Every table of the pack as plain rows (CSV): exact decimal amounts, no thousands separators."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

from finance_core.export_text import spreadsheet_safe

from reports import formatting
from reports.pack import Pack, Statement


def _pct(value: int | Decimal | None) -> str:
    return "" if value is None else str(value)


def _statement_rows(pack: Pack, statement: Statement) -> list[list[Any]]:
    money = lambda v: formatting.plain_amount(v, pack.currency)  # noqa: E731
    header = ["key", "account_id", "label", "kind", "unit", *statement.columns, "favourable"]
    rows: list[list[Any]] = [header]
    for line in statement.lines:
        if line.kind == "header":
            continue
        cells = []
        for column in statement.columns:
            value = line.values.get(column)
            percent_like = line.unit == "percent" or column == "variance_pct"
            cells.append(_pct(value) if percent_like else money(value))
        flag = "" if line.favourable is None else str(line.favourable).lower()
        rows.append([line.key, line.account_id or "", line.label, line.kind, line.unit, *cells, flag])
    return rows


def _value(value: Any, unit: str, pack: Pack) -> str:
    if value is None:
        return ""
    return str(value) if unit == "percent" else formatting.plain_amount(int(value), pack.currency)


def table_builders(pack: Pack) -> dict[str, tuple[str, Callable[[], list[list[Any]]]]]:
    """table_id -> (title, rows with a header row first)."""
    money = lambda v: formatting.plain_amount(v, pack.currency)  # noqa: E731
    tables: dict[str, tuple[str, Callable[[], list[list[Any]]]]] = {}
    for statement in pack.statements:
        tables[statement.table_id] = (statement.title, partial(_statement_rows, pack, statement))
    tables["kpis"] = (
        "Headline KPIs",
        lambda: [
            ["metric", "unit", "value", "previous", "change", "change_pct", "budget", "vs_budget_pct"],
            *[
                [
                    k.metric,
                    k.unit,
                    _value(k.value, k.unit, pack),
                    _value(k.previous, k.unit, pack),
                    _value(k.change, k.unit, pack),
                    _pct(k.change_pct),
                    _value(k.budget, k.unit, pack),
                    _pct(k.vs_budget_pct),
                ]
                for k in pack.kpis
            ],
        ],
    )
    tables["top_variances"] = (
        "Top variances vs budget",
        lambda: [
            ["entity_id", "account_id", "account_name", "actual", "budget", "variance", "variance_pct", "favourable"],
            *[
                [
                    v.entity_id,
                    v.account_id,
                    v.account_name,
                    money(v.actual),
                    money(v.budget),
                    money(v.variance),
                    _pct(v.variance_pct),
                    str(v.favourable).lower(),
                ]
                for v in pack.top_variances
            ],
        ],
    )
    tables["trends"] = (
        "Trends and forecast",
        lambda: [
            ["metric", "period", "kind", "actual", "budget", "forecast", "lower", "upper"],
            *[
                [
                    t.metric,
                    t.period,
                    t.kind,
                    money(t.actual),
                    money(t.budget),
                    money(t.forecast),
                    money(t.lower),
                    money(t.upper),
                ]
                for t in pack.trends
            ],
        ],
    )
    tables["alerts"] = (
        "Alerts and anomalies",
        lambda: [
            ["severity", "status", "rule_type", "entity_id", "title", "count", "first_seen", "last_seen"],
            *[
                [
                    a.severity,
                    a.status,
                    a.rule_type,
                    a.entity_id,
                    a.title,
                    a.count,
                    a.first_seen.isoformat() if a.first_seen else "",
                    a.last_seen.isoformat() if a.last_seen else "",
                ]
                for a in pack.alerts
            ],
        ],
    )
    tables["data_quality"] = ("Data quality", lambda: [["item", "value"], *[list(x) for x in pack.data_quality]])
    return tables


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

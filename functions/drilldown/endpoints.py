"""The drill-down endpoints of the dashboard, for members of an org (any role).

GET  /api/records/history?org_id=ORG&record_id=ID
  -> 200 {"org_id", "record_id", "versions": [{version, op, event_id, entity_id, account_id, period,
          booking_date, scenario, amount, currency, reporting_amount, source, occurred_at, ingested_at}]}
  every change of the record, oldest first, from `financial_facts` (one row per version; copies of
  a row, which the table may hold, collapse).
POST /api/exports  {"org_id", "title", "format": "csv" | "xlsx", "columns": [{"label", "kind"}], "rows": [[...]]}
  -> the table the caller sees on screen as a file: every text cell through finance_core.export_text
  (nothing a spreadsheet would execute), money cells (kind "money", integer minor units) as exact
  decimals in a CSV and number cells in a workbook.
`Authorization: Bearer <ID token>` of a member of the org; errors are JSON {error, message}.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path
from adapters.http_endpoint import EndpointGuard, HttpReply, HttpRequest, error_reply, refused
from adapters.identity import Refusal, bearer_caller
from finance_core.export_text import display_name, spreadsheet_safe
from finance_core.identifiers import identifier_problem
from finance_core.money import from_minor, is_currency
from google.cloud import bigquery, firestore

MAX_EXPORT_BYTES = 2 * 1024 * 1024
MAX_EXPORT_ROWS = 5000
MAX_EXPORT_COLUMNS = 40
KINDS = ("text", "money", "number", "percent")
HISTORY_SQL = """
SELECT DISTINCT version, op, event_id, entity_id, account_id, period, booking_date, scenario, amount, currency,
  reporting_amount, reporting_currency, source, occurred_at, ingested_at
FROM `{table}`
WHERE org_id = @org_id AND record_id = @record_id
ORDER BY version, ingested_at
LIMIT 500
"""
_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class DrillDownEndpoints:
    """Record history and exports; membership checked on the org named, never trusted from the body."""

    def __init__(
        self,
        db: firestore.Client,
        bigquery_client: Callable[[], bigquery.Client],
        facts_table: Callable[[], str],
        verify_token: Callable[[str], Mapping[str, Any]],
    ):
        self._db = db
        self._bigquery = bigquery_client
        self._facts_table = facts_table
        self._verify = verify_token

    def handle(self, route: str, request: HttpRequest) -> HttpReply:
        """The full response; never raises for the caller's mistakes."""
        return self._history(request) if route == "history" else self._export(request)

    def _member(self, request: HttpRequest, org_id: str, action: str) -> HttpReply | None:
        """None when the caller is a member of the org, else the refusal."""
        caller = bearer_caller(request.authorization, self._verify, "drill-down", action)
        if isinstance(caller, Refusal):
            return refused(caller)
        problem = identifier_problem(org_id, "org_id")
        if problem:
            return error_reply(400, "invalid_request", problem)
        with map_exceptions(f"reading the membership of {caller} in {org_id}"):
            member = self._db.document(f"{org_path(org_id)}/members/{caller}").get()
        if not member.exists:
            return error_reply(403, "permission_denied", f"you are not a member of {org_id!r}")
        return None

    @EndpointGuard("drill-down history", "GET")
    def _history(self, request: HttpRequest) -> HttpReply:
        org_id, record_id = request.arg("org_id"), request.arg("record_id")
        denied = self._member(request, org_id, "read the history of a record")
        if denied is not None:
            return denied
        problem = identifier_problem(record_id, "record_id")
        if problem:
            return error_reply(400, "invalid_request", problem)
        config = bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter("org_id", "STRING", org_id),
                bigquery.ScalarQueryParameter("record_id", "STRING", record_id),
            ]
        )
        with map_exceptions(f"reading the history of {record_id} in {org_id}"):
            rows = self._bigquery().query(HISTORY_SQL.format(table=self._facts_table()), job_config=config).result()
            versions = [_history_row(dict(row.items())) for row in rows]
        return HttpReply(200, {"org_id": org_id, "record_id": record_id, "versions": versions})

    @EndpointGuard("drill-down export", "POST")
    def _export(self, request: HttpRequest) -> HttpReply:
        if len(request.body) > MAX_EXPORT_BYTES:
            return error_reply(413, "too_large", f"an export request is at most {MAX_EXPORT_BYTES:,} bytes")
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return error_reply(400, "invalid_request", "the body is not JSON")
        if not isinstance(body, dict):
            return error_reply(400, "invalid_request", "the body must be a JSON object")
        denied = self._member(request, str(body.get("org_id") or "").strip(), "export a table")
        if denied is not None:
            return denied
        table = parse_table(body)
        if isinstance(table, str):
            return error_reply(400, "invalid_request", table)
        name = _FILE_NAME.sub("-", table.title).strip("-")[:80] or "export"
        if table.format == "csv":
            data, content_type = render_csv(table), "text/csv; charset=utf-8"
        else:
            data, content_type = render_xlsx(table), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        disposition = f'attachment; filename="{name}.{table.format}"'
        return HttpReply(
            200, data, {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"}, content_type
        )


def _history_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (str(value) if value is not None and not isinstance(value, (int, str)) else value)
        for key, value in row.items()
    }


@dataclass(frozen=True)
class Column:
    """A column of an exported table: its heading and what its cells hold."""

    label: str
    kind: str


@dataclass(frozen=True)
class Table:
    """What the caller asked to export, checked."""

    title: str
    format: str
    currency: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]


def parse_table(body: Mapping[str, Any]) -> Table | str:
    """The table of an export request, or why it is not one."""
    fmt = body.get("format")
    if fmt not in ("csv", "xlsx"):
        return "format must be 'csv' or 'xlsx'"
    currency = str(body.get("currency") or "USD")
    if not is_currency(currency):
        return "currency must be an ISO 4217 code"
    columns = body.get("columns")
    if not isinstance(columns, list) or not 1 <= len(columns) <= MAX_EXPORT_COLUMNS:
        return f"columns must be a list of 1 to {MAX_EXPORT_COLUMNS} columns"
    parsed: list[Column] = []
    for column in columns:
        if not isinstance(column, dict) or column.get("kind", "text") not in KINDS:
            return f"each column is {{label, kind}} with kind one of {', '.join(KINDS)}"
        parsed.append(Column(display_name(column.get("label") or "", 100), str(column.get("kind", "text"))))
    rows = body.get("rows")
    if not isinstance(rows, list) or len(rows) > MAX_EXPORT_ROWS:
        return f"rows must be a list of at most {MAX_EXPORT_ROWS:,} rows"
    checked: list[tuple[Any, ...]] = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(parsed):
            return f"row {number} must be a list of {len(parsed)} cells"
        cells: list[Any] = []
        for column, cell in zip(parsed, row, strict=True):
            if cell is None:
                cells.append(None)
            elif column.kind == "money":
                if isinstance(cell, bool) or not isinstance(cell, int):
                    return f"row {number}: a money cell is an integer of minor units, got {str(cell)[:40]!r}"
                cells.append(cell)
            elif column.kind in ("number", "percent"):
                if isinstance(cell, bool) or not isinstance(cell, (int, float)):
                    return f"row {number}: a {column.kind} cell is a number, got {str(cell)[:40]!r}"
                cells.append(cell)
            else:
                cells.append(str(cell)[:2000])
        checked.append(tuple(cells))
    return Table(display_name(body.get("title") or "export", 120), fmt, currency, tuple(parsed), tuple(checked))


def _csv_cell(column: Column, cell: Any, currency: str) -> str:
    if cell is None:
        return ""
    if column.kind == "money":
        return str(from_minor(int(cell), currency))
    if column.kind in ("number", "percent"):
        return str(cell)
    return spreadsheet_safe(str(cell))


def render_csv(table: Table) -> bytes:
    """The table as UTF-8 CSV (with a BOM, which spreadsheets need to read UTF-8); text neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(c.label) for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(c, cell, table.currency) for c, cell in zip(table.columns, row, strict=True)])
    return ("\ufeff" + out.getvalue()).encode()


def render_xlsx(table: Table) -> bytes:
    """The table as a workbook: text as string cells (neutralised), money and numbers as number cells."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet(_FILE_NAME.sub(" ", table.title)[:31] or "export")
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    for col, column in enumerate(table.columns):
        sheet.write_string(0, col, spreadsheet_safe(column.label), bold)
    for number, row in enumerate(table.rows, start=1):
        for col, (column, cell) in enumerate(zip(table.columns, row, strict=True)):
            if cell is None:
                continue
            if column.kind == "money":
                # A number cell for the spreadsheet's sums; the exact decimal is the CSV's.
                sheet.write_number(number, col, float(from_minor(int(cell), table.currency)), money)
            elif column.kind in ("number", "percent"):
                sheet.write_number(number, col, float(cell))
            else:
                sheet.write_string(number, col, spreadsheet_safe(str(cell)))
    workbook.close()
    return buffer.getvalue()

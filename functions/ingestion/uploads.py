"""CSV / XLSX uploads: read the sheet, check its header and turn each row into a contract-v1 event."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.upload_limits import (
    MAX_CELL_CHARS,
    MAX_CELLS_PER_ROW,
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_SHEET_ROWS,
    MAX_UPLOAD_BYTES,
)
from adapters.workbooks import WorkbookRefused, check_workbook
from finance_core.dimensions import name_problem
from finance_core.money import MoneyError, minor_unit_exponent
from finance_core.untrusted import quoted

CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REQUIRED_COLUMNS = ("record_id", "entity_id", "account_id", "period", "scenario", "amount", "currency")
OPTIONAL_COLUMNS = ("memo", "source", "version", "type", "date")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# A column `dimension.<name>` carries the record's value of a dimension the org declares
# (docs/kpis.md, Dimensions); a blank cell means the row does not carry it.
DIMENSION_PREFIX = "dimension."
# Excel keeps 15 significant digits of a number; anything longer in a float is binary noise
# (0.1 + 0.2 = 0.30000000000000004), not a figure someone typed.
EXCEL_SIGNIFICANT_DIGITS = 15
ROW_TYPES = {
    "upserted": "record.upserted",
    "record.upserted": "record.upserted",
    "deleted": "record.deleted",
    "record.deleted": "record.deleted",
}


class UploadRejected(Exception):
    """The whole file cannot be read (HTTP `status`): nothing of it was ingested."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Cell:
    """One cell as read: a string for CSV; for XLSX whatever openpyxl gives, with its number format."""

    value: Any
    number_format: str = "General"


@dataclass(frozen=True)
class UploadRow:
    """A data row; `number` is its row in the sheet (the header is row 1, so data starts at row 2)."""

    number: int
    cells: Mapping[str, Cell]


@dataclass(frozen=True)
class UploadTable:
    """The rows of an uploaded file and what identifies the file."""

    file_format: str
    sha256: str
    size: int
    columns: tuple[str, ...]
    rows: list[UploadRow]
    blank_rows: int = 0


@dataclass(frozen=True)
class RowEvent:
    """A row turned into an event; `next_version` when its version is the stored one + 1 (no version cell)."""

    number: int
    event_id: str
    record_id: str | None
    raw: bytes
    next_version: bool


@dataclass(frozen=True)
class RowProblem:
    """A row that cannot become an event (a cell of the wrong kind); `code` as in ingestion_errors."""

    number: int
    event_id: str
    record_id: str | None
    code: str
    reason: str
    cells: dict[str, str] = field(default_factory=dict)

    @property
    def raw(self) -> bytes:
        """What is stored in ingestion_errors: the row's cells as read."""
        return json.dumps({"upload_row": self.number, "cells": self.cells}, sort_keys=True).encode()


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header without parameters (charset ...)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def read_upload(body: bytes, content_type: str | None) -> UploadTable:
    """Parse an uploaded file; UploadRejected (413/415/400) if the file as a whole is unusable."""
    if len(body) > MAX_UPLOAD_BYTES:
        raise UploadRejected(
            413, f"the file is {len(body)} bytes; the limit is {MAX_UPLOAD_BYTES} bytes (5 MB): split it"
        )
    if not body:
        raise UploadRejected(400, "the request body is empty: send the file itself as the body")
    kind = media_type(content_type)
    if kind == CSV_TYPE:
        header, rows = _csv_rows(body)
        file_format = "csv"
    elif kind == XLSX_TYPE:
        header, rows = _xlsx_rows(body)
        file_format = "xlsx"
    else:
        raise UploadRejected(
            415, f"Content-Type {quoted(kind or '(none)')} is not supported: send {CSV_TYPE} or {XLSX_TYPE} (.xlsx)"
        )
    columns = _columns(header)
    table_rows: list[UploadRow] = []
    blank = 0
    for number, values in rows:
        if number > MAX_SHEET_ROWS:
            raise UploadRejected(413, f"the file has more than {MAX_ROWS} data rows (blank rows included): split it")
        named = {}
        for index, value in enumerate(values):
            if _is_blank(value.value):
                continue
            name = columns[index] if index < len(columns) else None
            if name is None:
                raise UploadRejected(400, f"row {number} has a value in column {index + 1}, which has no header")
            named[name] = value
        if not named:
            blank += 1
            continue
        table_rows.append(UploadRow(number, named))
    if not table_rows:
        raise UploadRejected(400, "the file has a header but no data rows")
    return UploadTable(
        file_format=file_format,
        sha256=hashlib.sha256(body).hexdigest(),
        size=len(body),
        columns=tuple(c for c in columns if c),
        rows=table_rows,
        blank_rows=blank,
    )


def _is_dimension_column(name: str) -> bool:
    return name.startswith(DIMENSION_PREFIX) and name_problem(name.removeprefix(DIMENSION_PREFIX)) is None


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _columns(header: Sequence[Cell]) -> list[str | None]:
    """Column names by position (None for an unnamed column); 400 on unknown, repeated or missing ones."""
    names: list[str | None] = []
    for index, cell in enumerate(header):
        value = cell.value
        if _is_blank(value):
            names.append(None)
            continue
        name = str(value).strip().lower()
        if name not in COLUMNS and not _is_dimension_column(name):
            raise UploadRejected(
                400,
                f"column {index + 1} {quoted(str(value).strip())} is not a column of the upload format "
                f"(check the spelling); columns are {', '.join(COLUMNS)} and dimension.<name> for a declared "
                "dimension",
            )
        if name in names:
            raise UploadRejected(400, f"column {quoted(name)} appears twice in the header")
        names.append(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise UploadRejected(
            400,
            f"the header row (row 1) lacks {', '.join(missing)}; required columns are {', '.join(REQUIRED_COLUMNS)}",
        )
    return names


def _csv_rows(body: bytes) -> tuple[list[Cell], Iterator[tuple[int, list[Cell]]]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadRejected(
            400, f"the CSV file is not UTF-8 text (byte {exc.start}): save it as 'CSV UTF-8'"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UploadRejected(400, f"the CSV header is malformed: {exc}") from None
    if header is None:
        raise UploadRejected(400, "the file is empty: the first row must be the header")
    if len(header) == 1 and ";" in header[0]:
        raise UploadRejected(400, "the header is separated by ';': export the CSV with ',' as the separator")
    if len(header) > MAX_COLUMNS:
        raise UploadRejected(400, f"the header has {len(header)} columns; at most {MAX_COLUMNS}")
    _check_csv_row(1, header)

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        # Row numbers count records (a quoted cell may span lines), as a spreadsheet shows them.
        number = 1
        try:
            for values in reader:
                number += 1
                _check_csv_row(number, values)
                yield number, [Cell(v) for v in values]
        except csv.Error as exc:
            raise UploadRejected(400, f"the CSV is malformed near row {number + 1}: {exc}") from None

    return [Cell(v) for v in header], rows()


def _check_csv_row(number: int, values: list[str]) -> None:
    """A row's cells within the limits, before they become Cell objects."""
    if len(values) > MAX_CELLS_PER_ROW:
        raise UploadRejected(413, f"row {number} has {len(values):,} cells; at most {MAX_CELLS_PER_ROW}")
    for index, value in enumerate(values):
        if len(value) > MAX_CELL_CHARS:
            raise UploadRejected(
                413,
                f"row {number} column {index + 1} holds {len(value):,} characters; a cell holds at most "
                f"{MAX_CELL_CHARS:,}",
            )


def _xlsx_rows(body: bytes) -> tuple[list[Cell], Iterator[tuple[int, list[Cell]]]]:
    import openpyxl

    try:
        # The zip and every part are checked, streaming, before openpyxl reads any of them.
        check_workbook(body)
    except WorkbookRefused as exc:
        raise UploadRejected(exc.status, exc.message) from None
    try:
        # data_only: a formula cell gives the value Excel last calculated, not the formula text.
        workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except Exception as exc:  # any failure of the parser on a hostile file is the file's
        raise UploadRejected(400, f"the file is not a readable .xlsx workbook: {quoted(str(exc), 200)}") from None
    if not workbook.worksheets:
        raise UploadRejected(400, "the workbook has no worksheet")
    sheet = workbook.worksheets[0]
    # read_only streams the sheet row by row, within the limits just checked.
    cells = sheet.iter_rows(max_col=MAX_COLUMNS + 1)
    first = next(cells, None)
    if first is None:
        workbook.close()
        raise UploadRejected(400, "the first worksheet is empty: its first row must be the header")
    header = [Cell(c.value) for c in first]
    while header and _is_blank(header[-1].value):
        header.pop()
    if len(header) > MAX_COLUMNS:
        workbook.close()
        raise UploadRejected(400, f"the header has more than {MAX_COLUMNS} columns")

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        number = 1
        try:
            for number, row in enumerate(cells, start=2):
                yield number, [Cell(c.value, getattr(c, "number_format", "General") or "General") for c in row]
        except Exception as exc:  # a cell openpyxl cannot convert (a date out of range ...)
            raise UploadRejected(
                400, f"row {number + 1} of the sheet cannot be read: {quoted(str(exc), 200)}"
            ) from None
        finally:
            workbook.close()

    return header, rows()


# --------------------------------------------------------------------------- rows -> events


def row_event_id(sha256: str, number: int) -> str:
    """Event id of a row: the file's hash and the row number, so uploading the same file again is a no-op."""
    return f"upload-{sha256[:32]}-r{number}"


def row_events(table: UploadTable, org_id: str, received_at: str) -> list[RowEvent | RowProblem]:
    """One event (or problem) per data row, in row order."""
    return [row_event(row, table.sha256, org_id, received_at) for row in table.rows]


def row_event(row: UploadRow, sha256: str, org_id: str, received_at: str) -> RowEvent | RowProblem:
    """The contract-v1 event of one row; the contract's own validation runs later, in ingestion."""
    event_id = row_event_id(sha256, row.number)
    cells = row.cells
    problems: list[tuple[str, str]] = []

    def text(column: str) -> str | None:
        value, problem = cell_text(column, cells.get(column))
        if problem:
            problems.append(("invalid_event", problem))
        return value

    record_id = text("record_id")
    row_type = (text("type") or "upserted").lower()
    event_type = ROW_TYPES.get(row_type)
    if event_type is None:
        problems.append(("invalid_event", f"type {quoted(row_type)} must be 'upserted' or 'deleted'"))
    version, version_problem = cell_version(cells.get("version"))
    if version_problem:
        problems.append(("invalid_event", version_problem))
    body: dict[str, Any] = {
        "event_id": event_id,
        "type": event_type or "record.upserted",
        "org_id": org_id,
        "record_id": record_id,
        # Without a version cell the stored version + 1 is used, as for manual entries.
        "version": version or 1,
        "occurred_at": received_at,
    }
    if event_type != "record.deleted":
        currency = text("currency")
        amount, amount_problem = cell_amount(cells.get("amount"), currency)
        if amount_problem:
            problems.append(("invalid_amount", amount_problem))
        record: dict[str, Any] = {
            "entity_id": text("entity_id"),
            "account_id": text("account_id"),
            "period": text("period"),
            "scenario": text("scenario"),
            "amount": amount,
            "currency": currency,
        }
        for optional in ("memo", "source", "date"):
            value = text(optional)
            if value is not None:
                record[optional] = value
        dimensions = {
            column.removeprefix(DIMENSION_PREFIX): text(column)
            for column in cells
            if column.startswith(DIMENSION_PREFIX)
        }
        dimensions = {name: value for name, value in dimensions.items() if value is not None}
        if dimensions:
            record["dimensions"] = dimensions
        body["record"] = {k: v for k, v in record.items() if v is not None}
    if problems:
        code = problems[0][0] if all(c == problems[0][0] for c, _ in problems) else "invalid_event"
        reason = "; ".join(problem for _, problem in problems)
        return RowProblem(row.number, event_id, record_id, code, reason, _cell_strings(cells))
    raw = json.dumps({k: v for k, v in body.items() if v is not None}).encode()
    return RowEvent(row.number, event_id, record_id, raw, next_version=version is None)


def _cell_strings(cells: Mapping[str, Cell]) -> dict[str, str]:
    return {name: repr(cell.value) if not isinstance(cell.value, str) else cell.value for name, cell in cells.items()}


def cell_text(column: str, cell: Cell | None) -> tuple[str | None, str | None]:
    """A text cell (an id, a period, a code ...) as a string; numbers and dates only where unambiguous."""
    if cell is None or _is_blank(cell.value):
        return None, None
    value = cell.value
    if isinstance(value, str):
        return value.strip(), None
    if isinstance(value, bool):
        return None, f"{column} is a TRUE/FALSE cell; expected text"
    if isinstance(value, int):
        return str(value), None  # account 4100 typed as a number
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value)), None
        return None, f"{column} is the number {quoted(value)}; type it as text"
    if isinstance(value, (datetime, date)) and column == "period":
        # Excel turns "2026-10" typed into a cell into the date 2026-10-01: that is the month.
        day = value.date() if isinstance(value, datetime) else value
        if day.day == 1 and (not isinstance(value, datetime) or value.time() == time(0)):
            return f"{day.year:04d}-{day.month:02d}", None
        return None, f"period is the date {day.isoformat()}; write the fiscal month as text, e.g. '2026-10'"
    if isinstance(value, (datetime, date)) and column == "date":
        # A booking date typed into a spreadsheet is a date cell: that day, if it has no time of day.
        day = value.date() if isinstance(value, datetime) else value
        if not isinstance(value, datetime) or value.time() == time(0):
            return day.isoformat(), None
        return None, f"date is the date and time {value}; write the booking day alone, e.g. '2026-10-05'"
    if isinstance(value, (datetime, date, time)):
        return None, f"{column} is a date/time cell ({value}); expected text"
    return None, f"{column} has an unsupported cell value {quoted(value)}"


def cell_version(cell: Cell | None) -> tuple[int | None, str | None]:
    """The row's version: a positive whole number, or None when the cell is empty (next version)."""
    if cell is None or _is_blank(cell.value):
        return None, None
    value = cell.value
    if isinstance(value, bool):
        return None, "version is a TRUE/FALSE cell; expected a positive whole number"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and 1 <= value <= 2**53:
        return value, None
    return None, f"version {quoted(value)} must be a positive whole number"


def cell_amount(cell: Cell | None, currency: str | None) -> tuple[str | None, str | None]:
    """The amount as an exact decimal string (the rule of docs/integrators.md, "Uploads").

    Text cells (every CSV cell, and text-formatted XLSX cells) are kept exactly as written, and
    the contract validates them. A number cell holds a binary float: it is read as the shortest
    decimal that round-trips (Decimal(repr(value))), which is what Excel shows for any number typed
    with up to 15 significant digits; it is accepted only if it has at most 15 significant digits
    and no more decimals than the currency has. Nothing is ever rounded: a cell that shows 12.35
    but stores 12.345 is refused, with both values in the reason.
    """
    if cell is None or _is_blank(cell.value):
        return None, None
    value = cell.value
    if isinstance(value, str):
        return value.strip(), None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, bool):
            kind = "TRUE/FALSE"
        elif isinstance(value, (datetime, date, time)):
            kind = "date/time"
        else:
            kind = type(value).__name__
        return None, f"amount is a {kind} cell ({value}); expected a number or a decimal text such as 1234.56"
    if "%" in cell.number_format:
        return None, (
            f"amount is formatted as a percentage ({quoted(cell.number_format)}); format the column as a number or text"
        )
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        return None, f"amount {quoted(value)} is not a number"
    if not amount.is_finite():
        return None, f"amount {quoted(value)} is not a finite number"
    if amount == 0:
        amount = abs(amount)  # -0.0
    digits = amount.normalize().as_tuple()
    shown = _shown(cell)
    if isinstance(value, float) and len(digits.digits) > EXCEL_SIGNIFICANT_DIGITS:
        return None, (
            f"amount cell stores {format(amount, 'f')}{shown}, which has more than {EXCEL_SIGNIFICANT_DIGITS} "
            "significant digits (binary floating point, e.g. a formula result): round it in the sheet or "
            "format the amount column as text"
        )
    decimals = max(0, -int(digits.exponent))
    try:
        exponent = minor_unit_exponent(currency) if currency else None
    except MoneyError:
        exponent = None  # the currency itself is rejected by the contract, with its own reason
    if exponent is None:
        return format(amount, "f"), None
    if decimals > exponent:
        return None, (
            f"amount cell stores {format(amount.normalize(), 'f')}{shown}: more decimals than {currency} allows "
            f"({exponent}); amounts are never rounded on upload: round it in the sheet "
            f"(=ROUND(...; {exponent})) or format the amount column as text"
        )
    return format(amount.quantize(Decimal(1).scaleb(-exponent)), "f"), None


def _shown(cell: Cell) -> str:
    fmt = cell.number_format or "General"
    return "" if fmt == "General" else f" (the cell's number format {quoted(fmt)} may display it rounded)"

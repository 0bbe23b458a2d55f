"""Reading an admin's reference-data file (chart of accounts, entities, FX rates) as text cells, CSV or XLSX.

The console validates the rows and writes them under the security rules; this only turns a file
into rows a browser can read, with the same limits as ledger uploads: size, rows, columns, and a
workbook checked part by part before openpyxl reads it (adapters.workbooks: zip bombs, XML
entities, a million-row sheet are refused at once), then streamed row by row.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from adapters.workbooks import WorkbookRefused, check_workbook

CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 30
MAX_CELL = 1_000


class SheetRejected(Exception):
    """The file as a whole cannot be read (HTTP `status`)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Sheet:
    """Header names (lower case, trimmed) and the data rows as {column: text}, with their row numbers."""

    file_format: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]


def cell_text(value: Any) -> str:
    """A cell as the text a person typed: numbers without binary noise, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Excel keeps 15 significant digits: the shortest repr of the double is what was typed.
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text or "E" in text else text.removesuffix(".0")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def read_sheet(body: bytes, content_type: str | None) -> Sheet:
    """The rows of a CSV or XLSX file (first worksheet); SheetRejected (400/413/415) when it cannot be read."""
    if len(body) > MAX_BYTES:
        raise SheetRejected(413, f"the file is {len(body)} bytes; the limit is {MAX_BYTES} bytes (5 MB)")
    if not body:
        raise SheetRejected(400, "the file is empty")
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == CSV_TYPE:
        lines, file_format = _csv(body), "csv"
    elif kind == XLSX_TYPE:
        lines, file_format = _xlsx(body), "xlsx"
    else:
        raise SheetRejected(415, f"Content-Type {kind or '(none)'!r} is not supported: send a CSV or an .xlsx file")
    header = next(lines, None)
    if header is None or not any(h.strip() for h in header):
        raise SheetRejected(400, "the first row must be the header (column names)")
    columns = [h.strip().lower() for h in header]
    while columns and not columns[-1]:
        columns.pop()
    if len(columns) > MAX_COLUMNS:
        raise SheetRejected(400, f"the header has {len(columns)} columns; at most {MAX_COLUMNS}")
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise SheetRejected(400, f"column {repeated[0]!r} appears twice in the header")
    rows: list[tuple[int, dict[str, str]]] = []
    for number, values in enumerate(lines, start=2):
        cells = {}
        for index, value in enumerate(values[: len(columns) + 1]):
            if not value:
                continue
            if index >= len(columns) or not columns[index]:
                raise SheetRejected(400, f"row {number} has a value in column {index + 1}, which has no header")
            if len(value) > MAX_CELL:
                raise SheetRejected(400, f"row {number}, column {columns[index]!r}: over {MAX_CELL} characters")
            cells[columns[index]] = value
        if not cells:
            continue
        if len(rows) == MAX_ROWS:
            raise SheetRejected(413, f"the file has more than {MAX_ROWS} data rows: split it")
        rows.append((number, cells))
    if not rows:
        raise SheetRejected(400, "the file has a header but no data rows")
    return Sheet(file_format, [c for c in columns if c], rows)


def _csv(body: bytes) -> Iterator[list[str]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SheetRejected(400, f"the CSV file is not UTF-8 text (byte {exc.start}): save it as 'CSV UTF-8'") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for values in reader:
            if len(values) > MAX_COLUMNS + 1:
                values = values[: MAX_COLUMNS + 1]
            yield [v.strip() for v in values]
    except csv.Error as exc:
        raise SheetRejected(400, f"the CSV is malformed near row {reader.line_num}: {exc}") from None


def _xlsx(body: bytes) -> Iterator[list[str]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        check_workbook(body)
    except WorkbookRefused as exc:
        raise SheetRejected(exc.status, exc.message) from None
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SheetRejected(400, f"the file is not a readable .xlsx workbook: {exc}") from None
    try:
        if not workbook.worksheets:
            raise SheetRejected(400, "the workbook has no worksheet")
        for row in workbook.worksheets[0].iter_rows(max_col=MAX_COLUMNS + 1, values_only=True):
            yield [cell_text(value) for value in row]
    finally:
        workbook.close()

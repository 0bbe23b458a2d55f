"""Upload parsing (functions/ingestion/uploads.py): header checks, row numbers, the XLSX amount rule, events."""

from __future__ import annotations

import io
import json
from datetime import date, datetime

import openpyxl
import pytest
from finance_core.events import parse_event
from ingestion.uploads import (
    CSV_TYPE,
    MAX_ROWS,
    XLSX_TYPE,
    Cell,
    RowEvent,
    RowProblem,
    UploadRejected,
    cell_amount,
    cell_text,
    cell_version,
    read_upload,
    row_events,
)

HEADER = "record_id,entity_id,account_id,period,scenario,amount,currency"
NOW = "2026-11-23T10:00:00Z"


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def xlsx_bytes(rows, formats=None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for (row, column), number_format in (formats or {}).items():
        sheet.cell(row, column).number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rejected(body: bytes, content_type: str = CSV_TYPE) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        read_upload(body, content_type)
    return caught.value


# --------------------------------------------------------------------------- the file


def test_csv_rows_are_numbered_like_a_spreadsheet_and_blank_rows_skipped():
    body = csv_bytes("a,us-east,4100,2026-10,actual,1.00,USD", ",,,,,,", 'b,us-east,4100,2026-10,actual,"2.00",USD')
    table = read_upload(body, "text/csv; charset=utf-8")
    assert [row.number for row in table.rows] == [2, 4]
    assert table.blank_rows == 1 and table.file_format == "csv"
    assert table.rows[1].cells["amount"] == Cell("2.00")


def test_a_quoted_multi_line_memo_is_one_row():
    body = csv_bytes(
        'a,us-east,4100,2026-10,actual,1.00,USD,"line one\nline two"',
        "b,us-east,4100,2026-10,actual,1.00,USD,",
        header=HEADER + ",memo",
    )
    table = read_upload(body, CSV_TYPE)
    assert [row.number for row in table.rows] == [2, 3]
    assert table.rows[0].cells["memo"].value == "line one\nline two"


def test_header_is_case_and_space_insensitive_and_a_bom_is_ignored():
    body = (
        "\ufeffRecord_ID, Entity_ID ,ACCOUNT_ID,period,scenario,amount,currency\nx,us-east,4100,2026-10,actual,1,USD\n"
    )
    table = read_upload(body.encode(), CSV_TYPE)
    assert table.columns[:3] == ("record_id", "entity_id", "account_id")


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"", CSV_TYPE, 400, "empty"),
        (csv_bytes(), CSV_TYPE, 400, "no data rows"),
        (b"record_id,entity_id\nx,y\n", CSV_TYPE, 400, "lacks account_id, period, scenario, amount, currency"),
        (csv_bytes("x,us-east,4100,2026-10,actual,1,USD,1", header=HEADER + ",amount"), CSV_TYPE, 400, "twice"),
        (csv_bytes("x,us-east,4100,2026-10,actual,1,USD,1", header=HEADER + ",ammount"), CSV_TYPE, 400, "'ammount'"),
        (csv_bytes("x,us-east,4100,2026-10,actual,1,USD,extra"), CSV_TYPE, 400, "column 8, which has no header"),
        (HEADER.replace(",", ";").encode() + b"\n", CSV_TYPE, 400, "';'"),
        ("record_id\n".encode("utf-16"), CSV_TYPE, 400, "UTF-8"),
        (b'record_id,"unclosed\n', CSV_TYPE, 400, "malformed"),
        (b"not a zip", XLSX_TYPE, 400, "not a readable .xlsx"),
        (csv_bytes("x"), "application/vnd.ms-excel", 415, "not supported"),
        (csv_bytes("x"), None, 415, "(none)"),
        (b"x" * (5 * 1024 * 1024 + 1), CSV_TYPE, 413, "5 MB"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(body, content_type, status, words):
    error = rejected(body, content_type)
    assert error.status == status and words in error.message, error.message


def test_the_row_limit():
    rows = [f"r{i},us-east,4100,2026-10,actual,1.00,USD" for i in range(MAX_ROWS)]
    assert len(read_upload(csv_bytes(*rows), CSV_TYPE).rows) == MAX_ROWS
    error = rejected(csv_bytes(*rows, "one-more,us-east,4100,2026-10,actual,1.00,USD"))
    assert error.status == 413 and str(MAX_ROWS) in error.message


def test_xlsx_rows_keep_sheet_numbers_and_trailing_empty_header_cells_are_ignored():
    body = xlsx_bytes(
        [
            HEADER.split(",") + [None, None],
            ["a", "us-east", 4100, "2026-10", "actual", 1, "USD"],
            [],
            ["b", "us-east", 4100, "2026-10", "actual", 2, "USD"],
        ]
    )
    table = read_upload(body, XLSX_TYPE)
    assert [row.number for row in table.rows] == [2, 4] and table.blank_rows == 1
    assert table.rows[0].cells["account_id"].value == 4100


def test_the_first_worksheet_is_read():
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADER.split(","))
    workbook.active.append(["a", "us-east", "4100", "2026-10", "actual", "1.00", "USD"])
    workbook.create_sheet("notes").append(["anything"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert len(read_upload(buffer.getvalue(), XLSX_TYPE).rows) == 1


# --------------------------------------------------------------------------- cells


@pytest.mark.parametrize(
    ("value", "currency", "number_format", "expected"),
    [
        ("1234.56", "USD", "General", "1234.56"),  # text: exactly as written
        ("1,234.56", "USD", "General", "1,234.56"),  # ... and the contract refuses it later, with its reason
        (" 12.50 ", "USD", "General", "12.50"),
        (1234.5, "USD", "#,##0.00", "1234.50"),  # a number cell: shortest round-trip decimal, currency decimals
        (0.1, "USD", "General", "0.10"),
        (250, "USD", "General", "250.00"),
        (100, "JPY", "General", "100"),
        (1.234, "BHD", "0.000", "1.234"),
        (-0.0, "USD", "General", "0.00"),
        (123456789012.34, "USD", "General", "123456789012.34"),  # 14 significant digits
        (12.5, "XYZ", "General", "12.5"),  # unknown currency: left to the contract's own rejection
    ],
)
def test_amount_cells_that_are_accepted(value, currency, number_format, expected):
    assert cell_amount(Cell(value, number_format), currency) == (expected, None)


@pytest.mark.parametrize(
    ("value", "currency", "number_format", "words"),
    [
        (12.345, "USD", "0.00", "stores 12.345 (the cell's number format '0.00' may display it rounded)"),
        (10.5, "JPY", "General", "more decimals than JPY allows (0)"),
        (1 / 3, "USD", "General", "more than 15 significant digits"),
        (0.30000000000000004, "EUR", "General", "more than 15 significant digits"),
        (0.25, "USD", "0.00%", "percentage"),
        (True, "USD", "General", "TRUE/FALSE"),
        (datetime(2026, 10, 1), "USD", "yyyy-mm-dd", "date/time"),
        (float("nan"), "USD", "General", "not a finite number"),
    ],
)
def test_amount_cells_that_are_refused_never_rounded(value, currency, number_format, words):
    amount, problem = cell_amount(Cell(value, number_format), currency)
    assert amount is None and words in problem, problem


def test_text_cells():
    assert cell_text("account_id", Cell(4100)) == ("4100", None)
    assert cell_text("account_id", Cell(4100.0)) == ("4100", None)
    assert cell_text("record_id", Cell("  JE-1 ")) == ("JE-1", None)
    assert cell_text("period", Cell(datetime(2026, 10, 1))) == ("2026-10", None)
    assert cell_text("period", Cell(date(2026, 1, 1))) == ("2026-01", None)
    assert "2026-10-15" in cell_text("period", Cell(datetime(2026, 10, 15)))[1]
    assert "date/time" in cell_text("entity_id", Cell(datetime(2026, 10, 1)))[1]
    assert "type it as text" in cell_text("account_id", Cell(41.5))[1]
    assert cell_text("memo", Cell("   ")) == (None, None)
    # A booking date: a date cell of a workbook is that day; one with a time of day is refused.
    assert cell_text("date", Cell(datetime(2026, 10, 15))) == ("2026-10-15", None)
    assert cell_text("date", Cell(date(2026, 10, 5))) == ("2026-10-05", None)
    assert cell_text("date", Cell("2026-10-05")) == ("2026-10-05", None)
    assert "booking day alone" in cell_text("date", Cell(datetime(2026, 10, 15, 9, 30)))[1]


def test_version_cells():
    assert cell_version(None) == (None, None)
    assert cell_version(Cell("")) == (None, None)
    assert cell_version(Cell(3)) == (3, None)
    assert cell_version(Cell(3.0)) == (3, None)
    assert cell_version(Cell(" 7 ")) == (7, None)
    for bad in (0, -1, 2.5, "v2", True):
        assert cell_version(Cell(bad))[1], bad


# --------------------------------------------------------------------------- rows -> events


def test_rows_become_contract_events_with_ids_from_the_file_hash_and_row():
    body = csv_bytes(
        "a,us-east,4100,2026-10,actual,1.00,USD,,,",
        "b,us-east,4100,2026-10,budget,2.00,USD,7,deleted,memo",
        header=HEADER + ",version,type,memo",
    )
    table = read_upload(body, CSV_TYPE)
    first, second = row_events(table, "acme", NOW)
    assert isinstance(first, RowEvent) and first.next_version
    assert first.event_id == f"upload-{table.sha256[:32]}-r2"
    event = parse_event(first.raw)  # the contract's own validation accepts it
    assert (event.org_id, event.record_id, event.version, event.record.amount) == ("acme", "a", 1, "1.00")
    assert isinstance(second, RowEvent) and not second.next_version
    deleted = parse_event(second.raw)
    assert deleted.is_delete and deleted.version == 7 and deleted.record is None
    # The same bytes give the same ids; any other byte gives other ids.
    assert [e.event_id for e in row_events(read_upload(body, CSV_TYPE), "acme", "2027-01-01T00:00:00Z")] == [
        first.event_id,
        second.event_id,
    ]
    other = read_upload(body.replace(b"1.00", b"1.01"), CSV_TYPE)
    assert row_events(other, "acme", NOW)[0].event_id != first.event_id


def test_a_row_with_a_bad_cell_is_a_problem_with_all_its_reasons():
    body = xlsx_bytes(
        [
            HEADER.split(",") + ["version", "type"],
            ["a", "us-east", "4100", datetime(2026, 10, 9), "actual", 12.345, "USD", 0, "moved"],
        ]
    )
    (problem,) = row_events(read_upload(body, XLSX_TYPE), "acme", NOW)
    assert isinstance(problem, RowProblem) and problem.code == "invalid_event"
    for words in ("type 'moved'", "version 0", "2026-10-09", "12.345"):
        assert words in problem.reason, problem.reason
    assert json.loads(problem.raw) == {"upload_row": 2, "cells": problem.cells}
    assert problem.cells["amount"] == "12.345"


def test_a_row_whose_only_problem_is_the_amount_is_invalid_amount():
    body = xlsx_bytes([HEADER.split(","), ["a", "us-east", "4100", "2026-10", "actual", 1 / 3, "USD"]])
    (problem,) = row_events(read_upload(body, XLSX_TYPE), "acme", NOW)
    assert isinstance(problem, RowProblem) and problem.code == "invalid_amount"


def test_missing_cells_are_left_out_so_the_contract_says_what_is_required():
    body = csv_bytes("a,us-east,4100,2026-10,actual,,USD")
    (row,) = row_events(read_upload(body, CSV_TYPE), "acme", NOW)
    with pytest.raises(Exception) as caught:
        parse_event(row.raw)
    assert "record.amount: is required" in str(caught.value)


def test_dimension_columns_become_the_record_dimensions_and_blank_cells_are_left_out():
    body = xlsx_bytes(
        [
            HEADER.split(",") + ["Dimension.Region", "dimension.cost_centre"],
            ["a", "us-east", "4100", "2026-10", "actual", "1.00", "USD", "emea", 4711],
            ["b", "us-east", "4100", "2026-10", "actual", "2.00", "USD", None, None],
        ]
    )
    first, second = row_events(read_upload(body, XLSX_TYPE), "acme", NOW)
    assert parse_event(first.raw).record.dimensions == {"region": "emea", "cost_centre": "4711"}
    assert parse_event(second.raw).record.dimensions is None
    assert "dimension.<name>" in rejected(csv_bytes("a", header=HEADER + ",dimension.Bad__Name")).message

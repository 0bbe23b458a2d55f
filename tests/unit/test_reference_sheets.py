"""Reference-data files as the console reads them: CSV and XLSX to text cells, what a person typed, bounded."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from organizations.sheets import CSV_TYPE, MAX_ROWS, XLSX_TYPE, SheetRejected, cell_text, read_sheet


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_csv_chart_is_read_as_text_rows_numbered_as_a_spreadsheet_shows_them():
    body = '\ufeffAccount_ID, Name ,type,parent_id\n4000,Revenue,revenue,\n\n4100,"Product, hardware",revenue,4000\n'
    sheet = read_sheet(body.encode(), "text/csv; charset=utf-8")
    assert sheet.columns == ["account_id", "name", "type", "parent_id"]
    assert sheet.rows == [
        (2, {"account_id": "4000", "name": "Revenue", "type": "revenue"}),
        (4, {"account_id": "4100", "name": "Product, hardware", "type": "revenue", "parent_id": "4000"}),
    ]


def test_an_xlsx_gives_what_was_typed_not_binary_noise():
    body = xlsx(
        [["period", "currency", "rate"], ["2026-01", "EUR", 1.08], ["2026-02", "JPY", 0.0067], ["2026-03", "GBP", 1]]
    )
    sheet = read_sheet(body, XLSX_TYPE)
    assert [cells["rate"] for _, cells in sheet.rows] == ["1.08", "0.0067", "1"]
    assert cell_text(0.1 + 0.2) == "0.30000000000000004"  # what Excel would have stored anyway
    assert cell_text(1e-7) == "0.0000001" and cell_text(2.0) == "2" and cell_text(date(2026, 1, 31)) == "2026-01-31"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"", CSV_TYPE, 400, "empty"),
        (b"a,b\n", CSV_TYPE, 400, "no data rows"),
        (b"a,a\n1,2\n", CSV_TYPE, 400, "appears twice"),
        (b"a\n1,2\n", CSV_TYPE, 400, "no header"),
        (b"\xff\xfe", CSV_TYPE, 400, "UTF-8"),
        (b"a,b\n1,2\n", "application/pdf", 415, "not supported"),
        (b"PK not a zip", XLSX_TYPE, 400, "not a readable .xlsx"),
        (b"a\n" + b"x\n" * (MAX_ROWS + 1), CSV_TYPE, 413, "split it"),
        (b"a\n" + b"x" * 1001 + b"\n", CSV_TYPE, 400, "1000 characters"),
    ],
)
def test_an_unreadable_file_is_refused_as_a_whole_with_the_reason(body, content_type, status, words):
    with pytest.raises(SheetRejected) as caught:
        read_sheet(body, content_type)
    assert caught.value.status == status and words in caught.value.message


def test_a_hostile_workbook_is_refused_before_openpyxl_reads_it():
    # The same checks as ledger uploads (adapters.workbooks): here an XML entity in the sheet.
    import zipfile

    original = zipfile.ZipFile(io.BytesIO(xlsx([["account_id", "name"], ["4000", "Revenue"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as bomb:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
                data = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>' + body
            bomb.writestr(item, data)
    with pytest.raises(SheetRejected) as caught:
        read_sheet(out.getvalue(), XLSX_TYPE)
    assert caught.value.status == 400

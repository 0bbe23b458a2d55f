"""Hostile upload files: every CSV or XLSX is a table or a whole-file refusal (UploadRejected with its status and
a bounded message), never another error; bombs are refused by the limit they cross, before the work it protects."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

import openpyxl
import pytest
from adapters.upload_limits import (
    MAX_CELL_CHARS,
    MAX_CELLS_PER_ROW,
    MAX_EXPANDED_BYTES,
    MAX_PART_ELEMENTS,
    MAX_ROWS,
    MAX_SHARED_STRINGS,
    MAX_SHEET_ROWS,
)
from finance_core.events import EventRejected, parse_event
from finance_core.untrusted import MAX_REASON_CHARS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingestion.uploads import CSV_TYPE, XLSX_TYPE, RowProblem, UploadRejected, UploadTable, read_upload, row_events

HEADER = ["record_id", "entity_id", "account_id", "period", "scenario", "amount", "currency", "memo"]
ROW = ["r-1", "us-east", "4100", "2026-10", "actual", "12.50", "USD", "ok"]
SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def outcome(body: bytes, content_type: str) -> UploadTable | UploadRejected:
    """The file read as the endpoint reads it: a table whose every row is an event or a rejection, or a refusal."""
    try:
        table = read_upload(body, content_type)
    except UploadRejected as refusal:
        assert refusal.status in (400, 413, 415), refusal.status
        assert refusal.message and len(refusal.message) < 1000, refusal.message
        return refusal
    for item in row_events(table, "acme", "2026-10-05T12:00:00Z"):
        if isinstance(item, RowProblem):
            assert item.code and item.reason and len(item.reason) <= MAX_REASON_CHARS
            item.raw.decode("utf-8")
            continue
        try:
            parse_event(item.raw)
        except EventRejected as rejection:
            assert len(rejection.reason) <= MAX_REASON_CHARS
    return table


def workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewritten(body: bytes, parts: Mapping[str, bytes], declared: Mapping[str, int] | None = None) -> bytes:
    """The workbook with some parts replaced (or added); `declared` lies about a part's size."""
    source = zipfile.ZipFile(io.BytesIO(body))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename not in parts:
                target.writestr(item, source.read(item.filename))
        for name, data in parts.items():
            target.writestr(name, data)
    data = buffer.getvalue()
    for name, size in (declared or {}).items():
        data = _declare(data, name, size)
    return data


def _declare(data: bytes, name: str, size: int) -> bytes:
    """Patch the uncompressed size of `name` in its local header and the central directory."""
    patched = bytearray(data)
    encoded = name.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := patched.find(signature, start)) >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if patched[name_at : name_at + len(encoded)] == encoded:
                patched[at + offset : at + offset + 4] = size.to_bytes(4, "little")
            start = at + 4
    return bytes(patched)


def sheet_xml(rows: str) -> bytes:
    return f'<?xml version="1.0"?><worksheet {NS}><sheetData>{rows}</sheetData></worksheet>'.encode()


def inline_row(number: int, values: list[str]) -> str:
    cells = "".join(
        f'<c r="{_letters(i + 1)}{number}" t="inlineStr"><is><t>{value}</t></is></c>' for i, value in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


def _letters(column: int) -> str:
    letters = ""
    while column:
        column, rem = divmod(column - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


VALID = workbook([HEADER, ROW])


def test_a_valid_workbook_is_read() -> None:
    table = outcome(VALID, XLSX_TYPE)
    assert isinstance(table, UploadTable) and len(table.rows) == 1


# --- generated files -------------------------------------------------------------------------

CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
    st.sampled_from(["=1+1", '=HYPERLINK("http://x")', "-0", "12.345", "2026-10", "", " "]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(CELLS, max_size=12), max_size=12), st.booleans())
def test_any_generated_workbook_is_a_table_or_a_refusal(rows: list[list[object]], with_header: bool) -> None:
    outcome(workbook(([HEADER] if with_header else []) + rows), XLSX_TYPE)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(max_size=30), max_size=12), max_size=20), st.booleans())
def test_any_generated_csv_is_a_table_or_a_refusal(rows: list[list[str]], with_header: bool) -> None:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows(([HEADER] if with_header else []) + rows)
    outcome(buffer.getvalue().encode("utf-8", "surrogatepass"), CSV_TYPE)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096), st.sampled_from([CSV_TYPE, XLSX_TYPE]))
def test_random_bytes_are_a_refusal_or_a_table(body: bytes, content_type: str) -> None:
    outcome(body, content_type)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from([SHEET, "xl/sharedStrings.xml", "xl/styles.xml", "xl/workbook.xml"]))
def test_a_workbook_with_any_part_replaced_by_random_bytes_is_a_refusal(junk: bytes, part: str) -> None:
    assert isinstance(outcome(rewritten(VALID, {part: junk}), XLSX_TYPE), UploadRejected)


# --- bombs and limits ------------------------------------------------------------------------


def refused(body: bytes, status: int, words: str) -> None:
    result = outcome(body, XLSX_TYPE)
    assert isinstance(result, UploadRejected), "the file was read"
    assert result.status == status and words in result.message, result.message


def test_a_zip_bomb_is_refused_from_its_directory() -> None:
    rows = "".join(inline_row(n, ROW) for n in range(2, 200))
    padding = "<!-- " + "x" * (MAX_EXPANDED_BYTES + 1) + " -->"
    bomb = rewritten(VALID, {SHEET: sheet_xml(inline_row(1, HEADER) + rows)[:-12] + padding.encode() + b"</worksheet>"})
    assert len(bomb) < 1024 * 1024
    refused(bomb, 413, "expands to")


def test_a_part_that_lies_about_its_size_fails_its_check_instead_of_expanding() -> None:
    huge = sheet_xml(inline_row(1, HEADER) + "<!--" + "x" * 5_000_000 + "-->")
    refused(rewritten(VALID, {SHEET: huge}, declared={SHEET: 2000}), 400, "cannot be decompressed")


def test_a_sheet_reaching_the_last_row_is_refused_at_the_first_row_past_the_limit() -> None:
    refused(rewritten(VALID, {SHEET: sheet_xml(inline_row(1, HEADER) + inline_row(1_048_576, ROW))}), 413, "20000")


def test_blank_rows_count_toward_the_row_limit() -> None:
    blank = "".join(f'<row r="{n}"/>' for n in range(2, MAX_SHEET_ROWS + 1))
    rows = inline_row(1, HEADER) + blank + inline_row(MAX_SHEET_ROWS + 1, ROW)
    refused(rewritten(VALID, {SHEET: sheet_xml(rows)}), 413, f"more than {MAX_ROWS} data rows")


def test_a_row_of_too_many_cells_is_refused() -> None:
    row = "<row r='2'>" + "<c/>" * (MAX_CELLS_PER_ROW + 1) + "</row>"
    refused(rewritten(VALID, {SHEET: sheet_xml(inline_row(1, HEADER) + row)}), 413, "cells")


def test_a_value_beyond_the_last_column_is_refused() -> None:
    row = '<row r="2"><c r="AZ2" t="inlineStr"><is><t>x</t></is></c></row>'
    refused(rewritten(VALID, {SHEET: sheet_xml(inline_row(1, HEADER) + row)}), 400, "column 52")


def test_a_long_inline_cell_is_refused_while_it_is_read() -> None:
    row = inline_row(2, [*ROW[:-1], "m" * (MAX_CELL_CHARS + 1)])
    refused(rewritten(VALID, {SHEET: sheet_xml(inline_row(1, HEADER) + row)}), 413, "characters")


def test_a_long_shared_string_counts_where_a_cell_uses_it() -> None:
    strings = f"<sst {NS}><si><t>{'s' * (MAX_CELL_CHARS + 1)}</t></si></sst>".encode()
    row = '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    body = rewritten(VALID, {SHEET: sheet_xml(inline_row(1, HEADER) + row), "xl/sharedStrings.xml": strings})
    body = _with_content_type(body, "/xl/sharedStrings.xml", "sharedStrings")
    refused(body, 413, "characters")


def test_too_many_shared_strings_are_refused() -> None:
    strings = (f"<sst {NS}>" + "<si><t/></si>" * (MAX_SHARED_STRINGS + 1) + "</sst>").encode()
    body = _with_content_type(
        rewritten(VALID, {"xl/sharedStrings.xml": strings}), "/xl/sharedStrings.xml", "sharedStrings"
    )
    refused(body, 413, "shared strings")


def test_a_part_of_too_many_elements_is_refused() -> None:
    styles = (f"<styleSheet {NS}>" + "<a/>" * (MAX_PART_ELEMENTS + 1) + "</styleSheet>").encode()
    refused(rewritten(VALID, {"xl/styles.xml": styles}), 413, "XML elements")


@pytest.mark.parametrize("part", [SHEET, "xl/styles.xml", "xl/workbook.xml", "[Content_Types].xml"])
def test_an_xml_entity_bomb_is_refused(part: str) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        f"<worksheet {NS}><sheetData><row r='1'><c t='inlineStr'><is><t>&lol2;</t></is></c></row></sheetData>"
        "</worksheet>"
    )
    refused(rewritten(VALID, {part: laughs.encode()}), 400, "DTD")


def test_a_csv_row_of_too_many_cells_or_a_too_long_cell_is_refused() -> None:
    header = ",".join(HEADER)
    many = (header + "\n" + "," * MAX_CELLS_PER_ROW + "\n").encode()
    long = (header + "\n" + ",".join([*ROW[:-1], "m" * (MAX_CELL_CHARS + 1)]) + "\n").encode()
    for body in (many, long):
        result = outcome(body, CSV_TYPE)
        assert isinstance(result, UploadRejected) and result.status == 413, result


def test_csv_blank_lines_count_toward_the_row_limit() -> None:
    body = (",".join(HEADER) + "\n" + "\n" * MAX_ROWS + ",".join(ROW) + "\n").encode()
    result = outcome(body, CSV_TYPE)
    assert isinstance(result, UploadRejected) and result.status == 413


def _with_content_type(body: bytes, part: str, kind: str) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(body))
    types = source.read("[Content_Types].xml").decode()
    if part not in types:
        override = (
            f'<Override PartName="{part}" '
            f'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.{kind}+xml"/>'
        )
        types = types.replace("</Types>", override + "</Types>")
    return rewritten(body, {"[Content_Types].xml": types.encode()})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.integers(2, 1_048_576),
        st.tuples(st.integers(1, MAX_CELLS_PER_ROW + 20), st.integers(0, MAX_CELL_CHARS + 20)),
        max_size=4,
    )
)
def test_generated_sheets_are_refused_exactly_when_they_cross_a_limit(rows: dict[int, tuple[int, int]]) -> None:
    body = "".join(
        f'<row r="{number}">'
        + "".join(
            f'<c r="{_letters(i + 1)}{number}" t="inlineStr"><is><t>{"x" * length}</t></is></c>' for i in range(cells)
        )
        + "</row>"
        for number, (cells, length) in sorted(rows.items())
    )
    result = outcome(rewritten(VALID, {SHEET: sheet_xml(inline_row(1, HEADER) + body)}), XLSX_TYPE)
    crosses = any(
        number > MAX_SHEET_ROWS or cells > MAX_CELLS_PER_ROW or length > MAX_CELL_CHARS
        for number, (cells, length) in rows.items()
    )
    if crosses:
        # Refused by the first limit it meets (a value past column 30 is met before the 257th cell).
        assert isinstance(result, UploadRejected) and result.status in (400, 413), result
    wide = any(cells > len(HEADER) and length > 0 for cells, length in rows.values())
    if not crosses and wide:
        assert isinstance(result, UploadRejected) and result.status == 400, result

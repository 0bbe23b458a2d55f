"""The monthly pack through the real functions: a member's request, the stored files, every figure of the
XLSX and the PDF against the Firestore aggregates, downloads and who is refused, the scheduled e-mail and
the period close sent once each, and clear messages when there is nothing to report."""

from __future__ import annotations

import io
import random
import re
import subprocess
import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from finance_core.metrics import STANDARD_METRICS
from finance_core.periods import add_months
from google.cloud import firestore
from reports.schedules import due_period

from tests.alert_receivers import SmtpReceiver, free_port
from tests.auth_emulator import sign_up, sign_up_anonymously
from tests.firestore_events import FirestoreEvent, deliver, run_scheduled, state_of, wait_for_trends
from tests.support import data_quality, publish, seed_org, wait_until

pytestmark = pytest.mark.emulators

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "reports"
# Month-end schedules with 0 days are due for the previous month from its first day: the test's
# figures are in that month, so the schedule sweep picks them whatever today's date is.
PERIOD = due_period(datetime.now(UTC), 0)
PRIOR = add_months(PERIOD, -1)
PRIOR_YEAR = add_months(PERIOD, -12)
EMPTY = add_months(PERIOD, -2)
ENTITIES = ("us-east", "us-west")
ACCOUNTS = ("4100", "4200", "5100", "6100", "7100", "8200", "9100")
LOADS = ((PERIOD, "actual"), (PERIOD, "budget"), (PRIOR, "actual"), (PRIOR_YEAR, "actual"))
PIPELINE_TIMEOUT = 300
LABELS = {d.label: d.metric_id for d in STANDARD_METRICS}
AMOUNT = re.compile(r"^\(?[0-9][0-9,]*\.[0-9]{2}\)?$")


def money(minor: int | None) -> str:
    """How a statement prints minor units of USD (written here independently of the renderer)."""
    if minor is None:
        return "-"
    text = f"{abs(Decimal(minor).scaleb(-2)):,.2f}"
    return f"({text})" if minor < 0 else text


def functions_url(stack, name: str) -> str:
    return f"http://{stack.config.address('functions')}/{stack.config.project_id}/us-central1/{name}"


def member(stack, db, org_id: str, role: str = "viewer"):
    user = sign_up(stack)
    db.document(f"organizations/{org_id}/members/{user.uid}").set({"uid": user.uid, "role": role})
    return user


def request_report(db, org_id: str, period: str, uid: str = "test-user") -> str:
    """What a dashboard does: a report_requests document; the answer is reports/{same id}."""
    request_id = f"req-{uuid.uuid4().hex[:10]}"
    db.document(f"organizations/{org_id}/report_requests/{request_id}").set(
        {"period": period, "requested_by": uid, "requested_at": firestore.SERVER_TIMESTAMP}
    )
    return request_id


def finished_report(db, org_id: str, report_id: str, timeout: float = 180) -> dict[str, Any]:
    def done():
        snap = db.document(f"organizations/{org_id}/reports/{report_id}").get()
        body = snap.to_dict() if snap.exists else None
        return body if body and body.get("status") in ("succeeded", "failed") else None

    return wait_until(done, timeout, 0.3, f"report {report_id} of {org_id} to finish")


def doc(db, path: str) -> dict[str, Any] | None:
    snap = db.document(path).get()
    return snap.to_dict() if snap.exists else None


# --- the loaded org ---------------------------------------------------------------------------------


def _events(org_id: str) -> tuple[list[dict[str, Any]], dict[tuple[str, str, str], dict[str, int]]]:
    rng = random.Random(13)
    events, expected = [], {}
    for period, scenario in LOADS:
        for entity in ENTITIES:
            for account in ACCOUNTS:
                cents = rng.randint(-20_000, 9_000_000) if account != "4100" else rng.randint(5_000_000, 9_000_000)
                record_id = f"{entity}-{account}-{period}-{scenario}"
                events.append(
                    {
                        "event_id": f"{record_id}-v1",
                        "type": "record.upserted",
                        "org_id": org_id,
                        "record_id": record_id,
                        "version": 1,
                        "occurred_at": f"{period}-15T12:00:00Z",
                        "record": {
                            "entity_id": entity,
                            "account_id": account,
                            "period": period,
                            "scenario": scenario,
                            "amount": str(Decimal(cents).scaleb(-2)),
                            "currency": "USD",
                        },
                    }
                )
                for key in ((entity, period, scenario), ("_all", period, scenario)):
                    expected.setdefault(key, {}).setdefault(account, 0)
                    expected[key][account] += cents
    return events, expected


REVENUE_RULE = {
    "rule_id": "revenue-watch",
    "name": "Group revenue above 1,000 USD",
    "type": "absolute",
    "severity": "warning",
    "target": {"entity_id": "_all", "metric": "revenue"},
    "direction": "above",
    "threshold_minor": 100_000,
    "cooldown_seconds": 3600,
    "channels": [],
}


@pytest.fixture(scope="module")
def loaded(stack, db):
    """An org with two entities' actuals, budget, prior month and prior year, through the whole pipeline."""
    org_id = f"rep-{uuid.uuid4().hex[:10]}"
    seed_org(db, org_id, all_periods_open=True, rules=[REVENUE_RULE])
    batch = db.batch()
    for period in (PERIOD, PRIOR, PRIOR_YEAR, EMPTY):
        batch.set(db.document(f"organizations/{org_id}/periods/{period}"), {"status": "open"})
    batch.update(db.document(f"organizations/{org_id}"), {"current_period": PERIOD})
    batch.commit()
    events, expected = _events(org_id)
    bad = dict(
        events[0], event_id="bad-account", record_id="bad-1", record=dict(events[0]["record"], account_id="0000")
    )
    publish(stack, [*events, bad])

    def settled():
        for (entity, period, scenario), accounts in expected.items():
            agg = doc(db, f"organizations/{org_id}/aggregates/{entity}__{period}__{scenario}")
            if not agg or {k: int(v) for k, v in agg["accounts"].items()} != accounts:
                return False
        variance = doc(db, f"organizations/{org_id}/variance/_all__{PERIOD}") or {}
        revenue = sum(expected[("_all", PERIOD, "actual")][a] for a in ("4100", "4200"))
        kpis = doc(db, f"organizations/{org_id}/kpis/current") or {}
        dq = data_quality(db, org_id)
        return (
            ((variance.get("vs_budget") or {}).get("metrics") or {}).get("revenue", {}).get("actual") == revenue
            and kpis.get("period") == PERIOD
            and kpis["kpis"]["revenue"]["value"] == revenue
            and dq.get("total", 0) >= len(events) + 1
        )

    wait_until(settled, PIPELINE_TIMEOUT, 0.5, f"the aggregates, variance and KPIs of {org_id}")
    revenue = sum(expected[("_all", PERIOD, "actual")][a] for a in ("4100", "4200"))

    def trend_final():
        # PERIOD is the org's current period, in progress: the trend is fitted on the months before
        # it and holds its value apart, "so far" (docs/kpis.md, "The month in progress").
        trend = doc(db, f"organizations/{org_id}/trends/metric__revenue") or {}
        series = trend.get("series") or []
        return (
            bool(series)
            and series[-1]["period"] == PRIOR
            and trend.get("so_far") == {"period": PERIOD, "value_minor": revenue}
            and trend.get("forecast")
        )

    wait_for_trends(stack, trend_final, what="the revenue trend")
    wait_until(
        lambda: any(
            True
            for _ in db.collection(f"organizations/{org_id}/alerts")
            .where(filter=firestore.FieldFilter("period", "==", PERIOD))
            .stream()
        ),
        PIPELINE_TIMEOUT,
        0.5,
        f"the revenue alert of {PERIOD}",
    )
    return org_id


@pytest.fixture(scope="module")
def report(loaded, db, stack):
    """A member's request for the month, answered with the files and their links."""
    from adapters.reference_store import ReferenceStore
    from aggregations.derived import DerivedDocuments
    from aggregations.reconcile import Reconciler
    from aggregations.store import AggregateStore

    # The nightly reconciliation's record is part of the data-quality footnote.
    reconciled = Reconciler(db, ReferenceStore(db), AggregateStore(db, 8), DerivedDocuments(db)).reconcile(
        loaded, settle=timedelta(0)
    )
    assert reconciled.repaired == 0, reconciled.summary()
    viewer = member(stack, db, loaded)
    report_id = request_report(db, loaded, PERIOD, viewer.uid)
    body = finished_report(db, loaded, report_id)
    assert body["status"] == "succeeded", body.get("error")
    return {"org_id": loaded, "report_id": report_id, "body": body, "viewer": viewer}


def download(url: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url, headers=headers, timeout=60)


def file_of(report: dict[str, Any], suffix: str) -> dict[str, Any]:
    return next(f for f in report["body"]["files"] if f["name"].endswith(suffix))


# --- content -----------------------------------------------------------------------------------------


def expected_line(agg: dict[str, Any] | None, account_id: str | None, label: str) -> int | float | None:
    """The value of a statement line, read straight from an aggregate document."""
    if agg is None:
        return None
    if account_id:
        return int({**agg.get("rollups", {}), **agg["accounts"]}.get(account_id, 0))
    name = LABELS.get(label) or LABELS[label.removeprefix("Total ")[:1].upper() + label.removeprefix("Total ")[1:]]
    return agg["metrics"].get(name)


def statement_rows(sheet) -> list[tuple[int, str | None, str]]:
    """(row, account id, label) of the value lines of a statement sheet (headers have no Actual)."""
    rows = []
    for row in range(5, sheet.max_row + 1):
        label = sheet.cell(row, 2).value
        if label and sheet.cell(row, 3).value is not None:
            rows.append((row, sheet.cell(row, 1).value or None, label))
    return rows


def test_every_figure_of_the_xlsx_and_the_pdf_is_the_dashboards(report, db, stack):
    from openpyxl import load_workbook

    org_id = report["org_id"]
    token = report["viewer"].id_token
    xlsx = download(file_of(report, ".xlsx")["download_url"], token)
    pdf = download(file_of(report, ".pdf")["download_url"], token)
    assert xlsx.status_code == 200 and pdf.status_code == 200, (xlsx.text[:300], pdf.text[:300])
    assert pdf.content.startswith(b"%PDF") and pdf.headers["Content-Type"] == "application/pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "pack.pdf").write_bytes(pdf.content)
    (ARTIFACTS / "pack.xlsx").write_bytes(xlsx.content)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(ARTIFACTS / "pack.pdf"), str(ARTIFACTS / "page")], check=True)
    assert len(list(ARTIFACTS.glob("page-*.png"))) >= 5
    text = subprocess.run(
        ["pdftotext", "-layout", str(ARTIFACTS / "pack.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")

    values = load_workbook(io.BytesIO(xlsx.content), data_only=True)
    agg = lambda e, p, s: doc(db, f"organizations/{org_id}/aggregates/{e}__{p}__{s}")  # noqa: E731
    statements = {
        "P&L Consolidated": ("_all", "Consolidated P&L"),
        "P&L us-east": ("us-east", "P&L Northwind US East Inc."),
        "P&L us-west": ("us-west", "P&L Northwind US West Inc."),
    }
    assert [n for n in values.sheetnames if n.startswith("P&L")] == list(statements)
    compared = 0
    for sheet_name, (entity, title) in statements.items():
        sheet = values[sheet_name]
        sources = {
            "C": agg(entity, PERIOD, "actual"),
            "D": agg(entity, PERIOD, "budget"),
            "H": agg(entity, PRIOR, "actual"),
            "I": agg(entity, PRIOR_YEAR, "actual"),
        }
        page = next(p for p in pages if f"{title} - {PERIOD}" in p)
        shown_accounts = set()
        for row, account_id, label in statement_rows(sheet):
            shown_accounts.add(account_id)
            expected = {col: expected_line(source, account_id, label) for col, source in sources.items()}
            if label.endswith("%"):
                for col in "CDHI":
                    assert sheet[f"{col}{row}"].value == pytest.approx(expected[col] / 100, abs=1e-9), (
                        sheet_name,
                        label,
                    )
                continue
            expected["E"] = expected["C"] - expected["D"]
            for col, minor in expected.items():
                cell = sheet[f"{col}{row}"].value
                assert int((Decimal(repr(cell)) * 100).to_integral_value()) == minor, (
                    sheet_name,
                    label,
                    col,
                    cell,
                    minor,
                )
                compared += 1
            # The PDF line: account id and label, then actual, budget, variance, var %, F/U, prior, prior year.
            prefix = f"{account_id} " if account_id else ""
            line = next(l for l in page.splitlines() if re.match(rf"\s*{re.escape(prefix)}\s*{re.escape(label)}\s", l))  # noqa: E741
            amounts = [t for t in line[line.index(label) + len(label) :].split() if AMOUNT.match(t)]
            assert amounts == [money(expected[c]) for c in "CDEHI"], (title, label, line)
            compared += 5
        for source in sources.values():
            assert {a for a, v in source["accounts"].items() if v} <= shown_accounts, "an account is missing"
    assert compared > 3 * 20 * 9

    # KPIs: the Summary sheet against kpis/current, the dashboard's own document.
    kpis = doc(db, f"organizations/{org_id}/kpis/current")["kpis"]
    summary = values["Summary"]
    for row in range(5, 5 + 7):
        label = summary.cell(row, 1).value
        stored = kpis[LABELS[label]]
        if LABELS[label].endswith("_pct"):
            assert summary.cell(row, 2).value == pytest.approx(stored["value"] / 100, abs=1e-9)
        else:
            assert int((Decimal(repr(summary.cell(row, 2).value)) * 100).to_integral_value()) == stored["value"]
            assert int((Decimal(repr(summary.cell(row, 6).value)) * 100).to_integral_value()) == stored["budget"]
            assert money(stored["value"]) in pages[0]

    # Top variances: the stored variance documents, line by line.
    top = values["Top variances"]
    stored_top = [
        (e, line)
        for e in ("_all", *ENTITIES)
        for line in doc(db, f"organizations/{org_id}/variance/{e}__{PERIOD}")["vs_budget"]["top"]
    ]
    for row, (entity, line) in enumerate(stored_top, start=5):
        assert (top.cell(row, 1).value, str(top.cell(row, 2).value)) == (entity, line["account_id"])
        for col, key in ((4, "actual_minor"), (5, "comparison_minor"), (6, "variance_minor")):
            assert int((Decimal(repr(top.cell(row, col).value)) * 100).to_integral_value()) == line[key]
        assert top.cell(row, 8).value == ("F" if line["favourable"] else "U")
    variances_page = next(p for p in pages if "Top variances vs budget" in p)
    assert all(money(line["variance_minor"]) in variances_page for _, line in stored_top)

    # Trends: the forecast of the stored trend document; the period's alert.
    trend = doc(db, f"organizations/{org_id}/trends/metric__revenue")
    forecast_rows = [
        [c.value for c in r]
        for r in values["Trends"].iter_rows(min_row=5)
        if r[0].value == "revenue" and r[2].value == "forecast"
    ]
    # The stored forecast, fitted up to the month before the one in progress; the month in progress
    # itself is shown as its actual so far.
    assert [(r[1], int((Decimal(repr(r[5])) * 100).to_integral_value())) for r in forecast_rows] == [
        (p["period"], p["value_minor"]) for p in trend["forecast"] if p["period"] > PERIOD
    ]
    alerts = [
        a.to_dict()
        for a in db.collection(f"organizations/{org_id}/alerts")
        .where(filter=firestore.FieldFilter("period", "==", PERIOD))
        .stream()
    ]
    listed = [r[4].value for r in values["Alerts"].iter_rows(min_row=5)]
    assert alerts and sorted(listed) == sorted(a["title"] for a in alerts)
    assert all(a["title"][:60] in text.replace("\n", " ") or a["title"][:30] in text for a in alerts)
    assert "Rejected inputs" in text and "unknown_account 1" in text
    assert re.search(r"Last reconciliation\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC: \d+ aggregates checked, 0 repaired", text)


def test_the_report_document_shows_progress_files_and_a_csv_of_every_table(report):
    body = report["body"]
    assert body["progress"] == {"step": "done", "percent": 100} and body["error"] is None
    assert body["source"] == "request" and body["requested_by"] == report["viewer"].uid
    names = {f["name"] for f in body["files"]}
    assert {"pnl___all.csv", "pnl__us-east.csv", "kpis.csv", "top_variances.csv", "alerts.csv"} <= names
    for f in body["files"]:
        assert f["path"] == f"reports/{report['org_id']}/{report['report_id']}/{f['name']}"
    csv = download(file_of(report, "pnl___all.csv")["download_url"], report["viewer"].id_token)
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    revenue = next(l for l in csv.content.decode("utf-8-sig").splitlines() if l.startswith("metric:revenue,"))  # noqa: E741
    assert Decimal(revenue.split(",")[5]) * 100 == body["summary"]["revenue_minor"]


def test_only_members_of_the_org_download(report, db, stack):
    url = file_of(report, ".pdf")["download_url"]
    assert download(url, report["viewer"].id_token).status_code == 200
    other_org = f"other-{uuid.uuid4().hex[:8]}"
    db.document(f"organizations/{other_org}").set({"name": "Other", "reporting_currency": "USD"})
    outsider = member(stack, db, other_org, "admin")
    denied = download(url, outsider.id_token)
    assert denied.status_code == 403 and denied.json()["error"] == "permission_denied"
    anonymous = sign_up_anonymously(stack)
    db.document(f"organizations/{report['org_id']}/members/{anonymous.uid}").set(
        {"uid": anonymous.uid, "role": "viewer"}
    )
    assert download(url, anonymous.id_token).status_code == 403
    unauthenticated = download(url, None)
    assert unauthenticated.status_code == 401 and "Bearer" in unauthenticated.json()["message"]
    assert download(url, "not-a-token").status_code == 401
    missing = download(url.replace("pack-", "nope-"), report["viewer"].id_token)
    assert missing.status_code == 404 and "its files" in missing.json()["message"]


# --- schedules ---------------------------------------------------------------------------------------


def test_a_month_end_schedule_sends_one_email_with_the_pdf_even_when_redelivered(loaded, db, stack):
    with SmtpReceiver() as receiver:
        db.document(f"organizations/{loaded}/notification_channels/pack-mail").set(
            {"type": "email", "recipients": ["cfo@example.com"], "smtp_host": "127.0.0.1", "smtp_port": receiver.port}
        )
        db.document(f"organizations/{loaded}/report_schedules/monthly").set(
            {
                "trigger": "month_end",
                "enabled": True,
                "days_after_month_end": 0,
                "channel_id": "pack-mail",
                "updated_by": "admin",
                "updated_at": firestore.SERVER_TIMESTAMP,
            }
        )
        # A second schedule whose SMTP server is down: retried, then recorded as failed.
        db.document(f"organizations/{loaded}/notification_channels/dead-mail").set(
            {"type": "email", "recipients": ["ops@example.com"], "smtp_host": "127.0.0.1", "smtp_port": free_port()}
        )
        db.document(f"organizations/{loaded}/report_schedules/monthly-dead").set(
            {
                "trigger": "month_end",
                "enabled": True,
                "days_after_month_end": 0,
                "channel_id": "dead-mail",
                "updated_by": "admin",
                "updated_at": firestore.SERVER_TIMESTAMP,
            }
        )
        # Cloud Scheduler delivers at least once: two runs at the same time, then a late one.
        runs = [threading.Thread(target=run_scheduled, args=(stack, "send_scheduled_reports")) for _ in range(2)]
        for thread in runs:
            thread.start()
        for thread in runs:
            thread.join()
        assert run_scheduled(stack, "send_scheduled_reports").status_code == 200
        delivery = wait_until(
            lambda: (
                (d := doc(db, f"organizations/{loaded}/report_deliveries/monthly__{PERIOD}"))
                and d.get("status") != "sending"
                and d
            ),
            60,
            0.3,
            "the delivery record",
        )
        assert delivery["status"] == "delivered", delivery
        assert delivery["deliveries"]["pack-mail"]["attempts"] == 1 and delivery["recipients"] == ["cfo@example.com"]
        assert len(receiver.messages) == 1
        message = receiver.messages[0]
        assert message["Subject"].endswith(f"monthly finance pack {PERIOD}") and receiver.recipients == [
            ["cfo@example.com"]
        ]
        [attachment] = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf" and attachment.get_content().startswith(b"%PDF")
        assert any(part.get_content_type() == "image/png" for part in message.walk())
        assert "cid:" in message.get_body(("html",)).get_content()
        report = doc(db, f"organizations/{loaded}/reports/monthly__{PERIOD}")
        assert report["status"] == "succeeded" and report["source"] == "month_end"
        failed = doc(db, f"organizations/{loaded}/report_deliveries/monthly-dead__{PERIOD}")
        assert failed["status"] == "failed" and failed["deliveries"]["dead-mail"]["attempts"] == 3
        assert "Connection refused" in failed["deliveries"]["dead-mail"]["last_error"]
        assert not failed["deliveries"]["dead-mail"]["delivered"] and failed["message"]


def test_a_requested_report_whose_invocation_died_is_resumed_by_the_hourly_run(loaded, db, stack):
    report_id = f"stuck-{uuid.uuid4().hex[:8]}"
    ref = db.document(f"organizations/{loaded}/reports/{report_id}")
    ref.set(
        {
            "report_id": report_id,
            "org_id": loaded,
            "period": PERIOD,
            "status": "running",
            "source": "request",
            "attempts": 1,
            "lease_until": datetime(2020, 1, 1, tzinfo=UTC),
            "progress": {"step": "x", "percent": 35},
        }
    )
    assert run_scheduled(stack, "send_scheduled_reports").status_code == 200
    body = ref.get().to_dict()
    assert body["status"] == "succeeded" and body["attempts"] == 2 and body["files"], body


def test_closing_a_period_sends_its_pack_once(loaded, db, stack):
    with SmtpReceiver() as receiver:
        db.document(f"organizations/{loaded}/notification_channels/close-mail").set(
            {
                "type": "email",
                "recipients": ["controller@example.com"],
                "smtp_host": "127.0.0.1",
                "smtp_port": receiver.port,
            }
        )
        db.document(f"organizations/{loaded}/report_schedules/on-close").set(
            {
                "trigger": "period_close",
                "enabled": True,
                "channel_id": "close-mail",
                "updated_by": "admin",
                "updated_at": firestore.SERVER_TIMESTAMP,
            }
        )
        period_ref = db.document(f"organizations/{loaded}/periods/{PRIOR}")
        before = state_of(period_ref.get())
        period_ref.set({"status": "closed", "updated_by": "admin", "updated_at": firestore.SERVER_TIMESTAMP})
        wait_until(lambda: receiver.messages, 180, 0.3, "the pack of the closed period")

        def recorded():
            found = [
                d.to_dict()
                for d in db.collection(f"organizations/{loaded}/report_deliveries").stream()
                if d.id.startswith(f"on-close__{PRIOR}__close-")
            ]
            return found if found and all(d["status"] != "sending" for d in found) else None

        [delivery] = wait_until(recorded, 60, 0.3, "the close delivery's record")
        assert delivery["status"] == "delivered" and PRIOR in receiver.messages[0]["Subject"]
        # The same close delivered again (same event id) sends nothing.
        again = FirestoreEvent(
            f"organizations/{loaded}/periods/{PRIOR}",
            before,
            state_of(period_ref.get()),
            event_id=delivery["close_event_id"],
        )
        assert deliver(stack, "on_period_written", again).status_code == 200
        assert len(receiver.messages) == 1


# --- nothing to report -------------------------------------------------------------------------------


def test_no_data_unknown_org_and_closed_empty_period_get_a_reason_not_a_file(loaded, db):
    open_empty = request_report(db, loaded, EMPTY)
    unknown_org = f"nobody-{uuid.uuid4().hex[:8]}"
    unknown = request_report(db, unknown_org, PERIOD)
    no_data = finished_report(db, loaded, open_empty)
    assert no_data["status"] == "failed" and no_data["error"]["code"] == "no_data" and no_data["files"] == []
    assert EMPTY in no_data["error"]["message"] and "no actual figures" in no_data["error"]["message"]
    missing = finished_report(db, unknown_org, unknown)
    assert missing["error"] == {"code": "unknown_org", "message": f"organization {unknown_org!r} does not exist"}
    db.document(f"organizations/{loaded}/periods/{EMPTY}").set(
        {"status": "closed", "updated_by": "admin", "updated_at": firestore.SERVER_TIMESTAMP}
    )
    closed = finished_report(db, loaded, request_report(db, loaded, EMPTY))
    assert (
        closed["error"]["code"] == "closed_without_data"
        and "closed but has no actual figures" in closed["error"]["message"]
    )

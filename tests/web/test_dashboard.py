"""The web dashboard in Debian's Chromium against the session stack: live numbers, roles, alerts, presence,
comments, manual entries, uploads, accessibility. Screenshots land in test-artifacts/web/."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support import data_quality, event, publish, wait_until
from tests.web.browser import axe_violations, screenshot, sign_in
from tests.web.orgs import KPI_PERIOD, NO_FX_PERIOD, add_member

pytestmark = pytest.mark.emulators

UI_TIMEOUT_MS = 120_000  # the shared stack can lag behind when every suite publishes at once
DATA_QUALITY_POLL_S = 10  # web/src/components/DataQuality.tsx: DATA_QUALITY_POLL_MS


def usd(minor: int) -> str:
    """What the app shows for an amount in USD minor units (Intl en-US currency format)."""
    sign = "-" if minor < 0 else ""
    major, cents = divmod(abs(minor), 100)
    return f"{sign}${major:,}.{cents:02d}"


def consolidated(db, org_id: str, metric: str, period: str = KPI_PERIOD) -> int:
    doc = db.document(f"organizations/{org_id}/aggregates/_all__{period}__actual").get().to_dict() or {}
    return int(doc.get("metrics", {}).get(metric, 0))


def shown_count(locator) -> int:
    """A whole number as the dashboard shows it (en-US grouping), once it is shown."""
    locator.wait_for(timeout=UI_TIMEOUT_MS)
    return int((locator.text_content() or "").replace(",", ""))


def card(page, metric: str):
    return page.get_by_test_id(f"kpi-value-{metric}")


def wait_for_text(locator, text: str) -> None:
    try:
        locator.page.wait_for_function(
            "([el, text]) => el.textContent === text", arg=[locator.element_handle(), text], timeout=UI_TIMEOUT_MS
        )
    except PlaywrightTimeoutError:
        raise AssertionError(f"{locator} still shows {locator.text_content()!r}, not {text!r}") from None


def test_viewer_sees_the_aggregate_has_no_edit_controls_and_is_refused_another_org(context, base_url, web_org, db):
    page = context.new_page()
    page.goto(base_url)
    page.get_by_role("button", name="Sign in").wait_for()
    screenshot(page, "01-sign-in")
    sign_in(page, base_url, web_org.viewer.credentials, web_org.org_id)
    revenue = consolidated(db, web_org.org_id, "revenue")
    assert revenue > 50000, revenue  # USD 500 and EUR 200 converted at the org's rate
    wait_for_text(card(page, "revenue"), usd(revenue))
    assert page.get_by_test_id("pnl-actual-revenue").text_content() == usd(revenue)
    # The month is in progress: judged against the budget pro-rated to the days elapsed, never the whole month's.
    assert "vs budget to date (day " in page.get_by_test_id("kpi-budget-revenue").text_content()
    page.get_by_test_id("trend-chart").wait_for()
    screenshot(page, "02-viewer-dashboard")
    for forbidden in ("manual-entry-form", "upload-report"):
        assert page.get_by_test_id(forbidden).count() == 0
    assert page.get_by_role("button", name="Acknowledge").count() == 0
    assert page.get_by_role("heading", name="Manual entry").count() == 0
    assert page.get_by_role("heading", name="Upload ledger lines (CSV or XLSX)").count() == 0
    # Another org's dashboard: the rules refuse every listener, the page says so.
    page.goto(f"{base_url}#/org/northwind-{uuid.uuid4().hex[:6]}")
    page.get_by_test_id("access-refused").wait_for(timeout=30_000)


def test_a_member_removed_while_watching_sees_access_removed(context, base_url, web_org, db, stack):
    leaving = add_member(stack, db, web_org.org_id, "viewer", "Lee Leaving")
    page = context.new_page()
    sign_in(page, base_url, leaving.credentials, web_org.org_id)
    page.get_by_test_id("kpi-cards").wait_for(timeout=60_000)
    db.document(f"organizations/{web_org.org_id}/members/{leaving.uid}").delete()
    page.get_by_test_id("access-refused").wait_for(timeout=60_000)
    assert page.get_by_test_id("kpi-cards").count() == 0


def test_a_published_event_changes_the_card_and_the_chart_without_a_reload(context, base_url, web_org, db, stack):
    page = context.new_page()
    sign_in(page, base_url, web_org.viewer.credentials, web_org.org_id)
    before = consolidated(db, web_org.org_id, "revenue")
    wait_for_text(card(page, "revenue"), usd(before))
    chart = page.get_by_test_id("trend-chart")
    chart.wait_for()
    page.evaluate("window.__sameDocument = true")
    # The data-quality counters are read every DATA_QUALITY_POLL_S, the list of rejections only on demand.
    rejected_before = shown_count(page.get_by_test_id("dq-rejected"))
    assert page.get_by_test_id("ingestion-errors").count() == 0, "the rejections are listened to before being asked for"
    record = f"w-live-{uuid.uuid4().hex[:6]}"
    bad = f"w-bad-{uuid.uuid4().hex[:6]}"
    publish(
        stack,
        [
            event(web_org.org_id, record, 1, period=KPI_PERIOD, amount="123.45"),
            event(web_org.org_id, bad, 1, period=KPI_PERIOD, account="9999", amount="1.00"),
        ],
    )
    wait_for_text(card(page, "revenue"), usd(before + 12345))
    page.wait_for_function(
        "([el, v]) => el.dataset.lastActual === String(v)",
        arg=[chart.element_handle(), before + 12345],
        timeout=UI_TIMEOUT_MS,
    )
    # The P&L statement and the top variances of the month move too: they read the month in progress
    # from kpis/current (its copies of the month's aggregate and variance), as the cards do.
    wait_for_text(page.get_by_test_id("pnl-actual-revenue"), usd(before + 12345))
    budget = 200000  # the fixture's budget of 4100 in the KPI month, USD 2,000.00
    share = f"{(before + 12345) * 100 / budget:.0f}% of {usd(budget)}"
    page.get_by_test_id("top-variances").locator("li", has_text="4100").get_by_text(share).wait_for(
        timeout=UI_TIMEOUT_MS
    )
    # Once the backend counted the rejection, the next read of the counters (at most one interval later) shows it.
    counted = wait_until(
        lambda: (
            (n := int(data_quality(db, web_org.org_id).get("counts", {}).get("rejected", 0))) > rejected_before and n
        ),
        UI_TIMEOUT_MS / 1000,
        what="the rejected event to be counted",
    )
    page.wait_for_function(
        "([el, n]) => Number(el.textContent.replace(/,/g, '')) >= n",
        arg=[page.get_by_test_id("dq-rejected").element_handle(), counted],
        timeout=(DATA_QUALITY_POLL_S + 5) * 1000,
    )
    # The rejected event shows with its reason, for the integrator to fix, once the list is opened.
    toggle = page.get_by_role("button", name="Show recent rejections")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    page.get_by_test_id("ingestion-errors").get_by_text("9999").first.wait_for(timeout=UI_TIMEOUT_MS)
    assert page.get_by_role("button", name="Hide recent rejections").get_attribute("aria-expanded") == "true"
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    assert consolidated(db, web_org.org_id, "revenue") == before + 12345


def test_an_editor_entry_is_accepted_and_moves_the_numbers_and_a_bad_one_shows_why(context, base_url, web_org, db):
    page = context.new_page()
    sign_in(page, base_url, web_org.editor.credentials, web_org.org_id)
    form = page.get_by_test_id("manual-entry-form")
    form.wait_for()
    before = consolidated(db, web_org.org_id, "revenue")
    wait_for_text(card(page, "revenue"), usd(before))
    form.get_by_label("Entity").select_option("us-east")
    form.get_by_label("Account").select_option("4300")
    form.get_by_label("Period").select_option(KPI_PERIOD)
    form.get_by_label("Amount (USD)").fill("1,000.01")
    form.get_by_role("button", name="Submit entry").click()
    entries = page.get_by_test_id("my-entries")
    entries.locator("tr[data-status='accepted']").first.wait_for(timeout=UI_TIMEOUT_MS)
    wait_for_text(card(page, "revenue"), usd(before + 100001))
    # Too many decimals: refused in the form, nothing written.
    form.get_by_label("Amount (USD)").fill("10.123")
    form.get_by_role("button", name="Submit entry").click()
    assert "USD has 2 decimal places" in page.get_by_role("alert").first.text_content()
    # An EUR line in a month without an FX rate: the backend rejects it and says why.
    form.get_by_label("Entity").select_option("eu-central")
    form.get_by_label("Period").select_option(NO_FX_PERIOD)
    form.get_by_label("Amount (EUR)").fill("250.00")
    form.get_by_role("button", name="Submit entry").click()
    rejected = entries.locator("tr[data-status='rejected']").first
    rejected.wait_for(timeout=UI_TIMEOUT_MS)
    assert "FX rate" in rejected.text_content(), rejected.text_content()
    screenshot(page, "03-editor-entries")


def test_an_alert_appears_live_and_an_editor_acknowledges_it(context, base_url, web_org, db):
    page = context.new_page()
    sign_in(page, base_url, web_org.editor.credentials, web_org.org_id)
    page.get_by_role("heading", name="Alerts").wait_for()
    alert_id = f"web-{uuid.uuid4().hex[:8]}"
    # Written as the alert engine writes one (its evaluation is tested in tests/integration/test_alerts*.py).
    stamp = datetime.fromtimestamp(time.time(), UTC)
    db.document(f"organizations/{web_org.org_id}/alerts/{alert_id}").set(
        {
            "rule_id": "gross-margin-floor",
            "severity": "critical",
            "title": "Group gross margin below 65%",
            "description": "gross margin 40.0% is below 65%",
            "status": "active",
            "count": 1,
            "first_seen": stamp,
            "last_seen": stamp,
            "escalation_level": 0,
            "rule_type": "absolute",
            "entity_id": "_all",
            "period": KPI_PERIOD,
        }
    )
    item = page.locator(f"[data-testid='active-alerts'] li[data-alert-id='{alert_id}']")
    item.wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "04-alert")
    item.get_by_role("button", name="Acknowledge").click()
    item.wait_for(state="detached", timeout=UI_TIMEOUT_MS)
    stored = wait_until(
        lambda: (
            (d := db.document(f"organizations/{web_org.org_id}/alerts/{alert_id}").get().to_dict())
            and d.get("status") == "acknowledged"
            and d
        ),
        timeout=30,
        what="the acknowledgement",
    )
    assert stored["acknowledged_by"] == web_org.editor.uid


def test_two_contexts_see_each_others_presence_and_comments(browser, base_url, web_org):
    contexts = [
        browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1400, "height": 1000})
        for _ in range(2)
    ]
    try:
        viewer, editor = (ctx.new_page() for ctx in contexts)
        sign_in(viewer, base_url, web_org.viewer.credentials, web_org.org_id)
        sign_in(editor, base_url, web_org.editor.credentials, web_org.org_id)
        viewer.get_by_test_id("presence").get_by_text(web_org.editor.display_name).wait_for(timeout=60_000)
        editor.get_by_test_id("presence").get_by_text(web_org.viewer.display_name).wait_for(timeout=60_000)
        kpi_comments = "comments on the headline KPIs"
        count_before = int(
            editor.get_by_role("button", name=re.compile(kpi_comments)).get_by_test_id("comment-count").text_content()
        )
        text = f"Why did revenue jump? {uuid.uuid4().hex[:6]}"
        viewer.get_by_role("button", name=re.compile(kpi_comments)).click()
        viewer.get_by_label("Your comment").fill(text)
        viewer.get_by_role("button", name="Post comment").click()
        viewer.get_by_test_id("comment-list").get_by_text(text).wait_for(timeout=30_000)
        screenshot(viewer, "05-comments")
        # The other context: the count on the button (kept by the backend) and the thread itself.
        count = editor.get_by_role("button", name=re.compile(kpi_comments)).get_by_test_id("comment-count")
        editor.wait_for_function(
            "([el, n]) => Number(el.textContent) === n",
            arg=[count.element_handle(), count_before + 1],
            timeout=UI_TIMEOUT_MS,
        )
        editor.get_by_role("button", name=re.compile(kpi_comments)).click()
        editor.get_by_test_id("comment-list").get_by_text(text).wait_for(timeout=30_000)
        assert web_org.viewer.display_name in editor.get_by_test_id("comment-list").text_content()
    finally:
        for ctx in contexts:
            ctx.close()


def test_an_upload_shows_its_per_row_report(context, base_url, web_org, tmp_path):
    page = context.new_page()
    sign_in(page, base_url, web_org.editor.credentials, web_org.org_id)
    tag = uuid.uuid4().hex[:6]
    csv = tmp_path / "lines.csv"
    csv.write_text(
        "record_id,entity_id,account_id,period,scenario,amount,currency\n"
        f"up-{tag}-1,us-east,4100,{KPI_PERIOD},actual,10.00,USD\n"
        f"up-{tag}-2,us-west,6200,{KPI_PERIOD},actual,5.50,USD\n"
        f"up-{tag}-3,us-east,9999,{KPI_PERIOD},actual,1.00,USD\n"
    )
    page.get_by_label("File").set_input_files(str(csv))
    page.get_by_role("button", name="Upload").click()
    report = page.get_by_test_id("upload-report")
    report.wait_for(timeout=UI_TIMEOUT_MS)
    assert "3 rows: 2 applied, 0 duplicate, 0 stale, 1 rejected" in report.text_content()
    row = report.locator("tr[data-row='4']")
    assert "unknown_account" in row.text_content() and "9999" in row.text_content()
    screenshot(page, "06-upload-report")


def test_no_serious_accessibility_violations(context, base_url, web_org):
    page = context.new_page()
    page.goto(base_url)
    page.get_by_role("button", name="Sign in").wait_for()
    assert axe_violations(page) == []
    sign_in(page, base_url, web_org.editor.credentials, web_org.org_id)
    page.get_by_test_id("manual-entry-form").wait_for()
    page.get_by_test_id("kpi-cards").wait_for()
    page.get_by_test_id("trend-chart").wait_for()
    page.get_by_role("button", name="Show recent rejections").click()
    page.get_by_role("heading", name="Recent rejected inputs").wait_for()
    violations = axe_violations(page)
    assert violations == [], "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes'][:3]]}" for v in violations
    )

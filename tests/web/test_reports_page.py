"""Reports in Chromium: a viewer requests the month's pack, watches it finish without a reload, downloads the PDF
and the workbook with their sign-in, and sees the schedules' delivery history."""

from __future__ import annotations

import pytest
from google.cloud import firestore

from tests.web.browser import screenshot, sign_in
from tests.web.orgs import KPI_PERIOD
from tests.web.test_dashboard import UI_TIMEOUT_MS

pytestmark = pytest.mark.emulators


def test_a_viewer_requests_watches_and_downloads_the_monthly_pack(context, base_url, web_org, db):
    org_id = web_org.org_id
    # A delivery as the schedule sweep records it (its sending is tested in tests/integration/test_reports.py).
    db.document(f"organizations/{org_id}/report_deliveries/cfo__{KPI_PERIOD}").set(
        {
            "schedule_id": "cfo",
            "period": KPI_PERIOD,
            "trigger": "month_end",
            "status": "delivered",
            "recipients": ["cfo@example.com"],
            "created_at": firestore.SERVER_TIMESTAMP,
            "completed_at": firestore.SERVER_TIMESTAMP,
        }
    )
    page = context.new_page()
    sign_in(page, base_url, web_org.viewer.credentials, org_id)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Reports").click()
    form = page.get_by_test_id("request-report")
    form.get_by_label("Period").select_option(KPI_PERIOD)
    form.get_by_role("button", name="Request the pack").click()

    report = page.locator(f"[data-testid='reports'] li[data-period='{KPI_PERIOD}']").first
    report.wait_for(timeout=UI_TIMEOUT_MS)
    done = page.locator(f"[data-testid='reports'] li[data-period='{KPI_PERIOD}'][data-status='succeeded']").first
    done.wait_for(timeout=UI_TIMEOUT_MS * 2)
    screenshot(page, "reports")

    with page.expect_download(timeout=UI_TIMEOUT_MS) as download:
        done.get_by_role("button", name="Download PDF").click()
    pdf = download.value
    assert pdf.suggested_filename == f"monthly-pack-{org_id}-{KPI_PERIOD}.pdf"
    with open(pdf.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    with page.expect_download(timeout=UI_TIMEOUT_MS) as download:
        done.get_by_role("button", name="Download Excel workbook").click()
    with open(download.value.path(), "rb") as handle:
        assert handle.read(2) == b"PK"  # a zip: the workbook

    deliveries = page.get_by_test_id("deliveries")
    assert "cfo" in deliveries.text_content() and "cfo@example.com" in deliveries.text_content()
    assert deliveries.locator("tr[data-status='delivered']").count() == 1

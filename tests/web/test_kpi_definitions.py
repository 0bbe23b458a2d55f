"""The org's own KPIs in Chromium: cards with unit-aware values, direction colours and n/a for undefined, and the
admins' list of definitions with the backend's status and errors."""

from __future__ import annotations

import pytest

from tests.support import wait_until
from tests.web.browser import axe_violations, screenshot, sign_in
from tests.web.orgs import KPI_PERIOD, PREVIOUS, add_member
from tests.web.test_dashboard import UI_TIMEOUT_MS, consolidated, usd, wait_for_text

pytestmark = pytest.mark.emulators

DEFINITIONS = {
    "revenue_ytd": {"label": "Revenue YTD", "expression": "ytd(revenue)", "unit": "money"},
    "cogs_share_pct": {
        "label": "COGS share",
        "expression": "100 * cogs / revenue",
        "unit": "percent",
        "direction": "lower_is_better",
        "decimals": 1,
    },
    "revenue_per_cogs": {"label": "Revenue per COGS", "expression": "revenue / cogs", "unit": "ratio"},
    "broken_metric": {"label": "Broken", "expression": "revenue /"},
}


def test_defined_kpi_cards_and_the_admins_list_of_definitions(context, base_url, web_org, db, stack):
    org_id = web_org.org_id
    org = db.document(f"organizations/{org_id}")
    for metric_id, body in DEFINITIONS.items():
        org.collection("metric_definitions").document(metric_id).set(body)
    admin = add_member(stack, db, org_id, "admin", "Ada Admin")
    wait_until(
        lambda: (
            "revenue_per_cogs" in ((org.collection("kpis").document("current").get().to_dict() or {}).get("kpis") or {})
        ),
        timeout=120,
        what="the defined KPIs in kpis/current",
    )
    page = context.new_page()
    sign_in(page, base_url, admin.credentials, org_id)

    # Money exactly, from an independent sum of the two months of the year that have revenue.
    ytd = consolidated(db, org_id, "revenue", PREVIOUS) + consolidated(db, org_id, "revenue", KPI_PERIOD)
    wait_for_text(page.get_by_test_id("defined-kpi-value-revenue_ytd"), usd(ytd))
    # 40.0 % of revenue last month, none this month: a fall of a lower-is-better metric is good news.
    assert page.get_by_test_id("defined-kpi-value-cogs_share_pct").text_content() == "0.0%"
    change = page.get_by_test_id("defined-kpi-change-cogs_share_pct")
    assert change.text_content() == "-40.0 pt vs previous month (favourable)"  # the word for screen readers
    assert change.get_attribute("data-tone") == "favourable"
    # Revenue growth in the YTD card is favourable too (higher is better).
    assert page.get_by_test_id("defined-kpi-change-revenue_ytd").get_attribute("data-tone") == "favourable"
    # No cost of goods this month: revenue / cogs is undefined, shown as n/a, not infinity or 0.
    assert page.get_by_test_id("defined-kpi-value-revenue_per_cogs").text_content() == "n/a"
    assert page.get_by_test_id("defined-kpi-value-broken_metric").count() == 0

    # In the admin console, every definition with its status; the broken one says where and why.
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Admin").click()
    page.get_by_role("navigation", name="Admin screens").get_by_role("link", name="KPI definitions").click()
    row = page.locator("[data-definition='broken_metric']")
    row.wait_for(timeout=UI_TIMEOUT_MS)
    page.wait_for_function("el => el.dataset.status === 'invalid'", arg=row.element_handle(), timeout=UI_TIMEOUT_MS)
    error = page.get_by_test_id("definition-error-broken_metric").text_content()
    assert error.startswith("broken_metric.expression:") and "column" in error, error
    assert page.locator("[data-definition='revenue_ytd']").get_attribute("data-status") == "active"
    screenshot(page, "10-defined-kpis-admin")
    assert axe_violations(page) == []  # cards, definitions table and form: no serious or critical violation

    # The admin mends the broken definition in the form: the backend accepts it and its card appears.
    page.get_by_role("button", name="Edit Broken").click()
    form = page.get_by_test_id("definition-form")
    assert form.get_by_label("Expression").input_value() == "revenue /"
    # Checked as it is typed, before it is saved: the backend's answer shows under the form.
    form.get_by_label("Expression").fill("revenue / revnue")
    check = page.get_by_test_id("definition-check")
    page.wait_for_function("el => el.dataset.status === 'invalid'", arg=check.element_handle(), timeout=UI_TIMEOUT_MS)
    assert "unknown metric 'revnue' (did you mean 'revenue'?)" in check.text_content()
    form.get_by_label("Expression").fill('revenue / 4 + tagged("no_such_tag")')
    page.wait_for_function("el => el.dataset.status === 'active'", arg=check.element_handle(), timeout=UI_TIMEOUT_MS)
    assert 'no account of the chart is tagged "no_such_tag"' in check.text_content()
    form.get_by_label("Expression").fill("revenue / 4")
    form.get_by_role("button", name="Save definition").click()
    page.wait_for_function("el => el.dataset.status === 'active'", arg=row.element_handle(), timeout=UI_TIMEOUT_MS)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Dashboard").click()
    wait_for_text(
        page.get_by_test_id("defined-kpi-value-broken_metric"),
        usd(round(consolidated(db, org_id, "revenue", KPI_PERIOD) / 4)),
    )

    # A viewer sees the cards but not the definitions panel.
    viewer_page = context.browser.new_context(locale="en-US", timezone_id="UTC").new_page()
    sign_in(viewer_page, base_url, web_org.viewer.credentials, org_id)
    wait_for_text(viewer_page.get_by_test_id("defined-kpi-value-revenue_ytd"), usd(ytd))
    assert viewer_page.get_by_test_id("metric-definitions").count() == 0
    viewer_page.context.close()

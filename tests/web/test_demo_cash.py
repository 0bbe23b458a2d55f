"""The demo organisation in Chromium: after the demo history is loaded (as ./dev seed and ./dev demo load it), the
headline cards show the 13-week cash forecast's net burn and runway, the cash panel its forecast, and the alert
list the demo's critical runway alert, each equal to the documents the pipeline wrote."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.demo_cash import demo_cash_forecast
from tests.integration.test_alerts import alerts_of
from tests.integration.test_alerts_demo import settled_demo_runway
from tests.support import wait_until
from tests.web.browser import screenshot, sign_in
from tests.web.orgs import add_member
from tests.web.test_dashboard import usd, wait_for_text
from tools.stack.seed import seed_demo

pytestmark = pytest.mark.emulators

UI_TIMEOUT_MS = 120_000


def test_the_demo_dashboard_shows_the_cash_forecasts_net_burn_runway_and_critical_alert(browser, base_url, stack, db):
    org_id = f"demo-cash-{uuid.uuid4().hex[:8]}"
    seed_demo(stack.config, org_id=org_id, progress=lambda line: None)
    viewer = add_member(stack, db, org_id, "viewer", "Cass Cash")
    expected = demo_cash_forecast(datetime.now(UTC).date())
    forecast, kpis = settled_demo_runway(stack, db, org_id, expected.runway.as_document())
    runway = kpis["cash"]
    assert runway["status"] == "burning"
    # The rule is judged when the forecast is written (evaluate_runway_alerts): wait for it to fire on that one.
    alert = wait_until(
        lambda: next(
            (
                a
                for a in alerts_of(db, org_id)
                if a["rule_id"] == "runway-below-six-months"
                and a["status"] == "active"
                and Decimal(str(a.get("current_value"))) == Decimal(runway["runway_months"])
            ),
            None,
        ),
        timeout=300,
        what="the demo's critical runway alert, active on the forecast's runway",
    )

    context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    sign_in(page, base_url, viewer.credentials, org_id)
    # The headline cards: the documents' figures, never 'n/a'.
    burn_text = f"{usd(runway['burn_monthly_minor'])} a month"
    wait_for_text(page.get_by_test_id("kpi-value-net_burn"), burn_text)
    wait_for_text(page.get_by_test_id("kpi-value-runway_months"), f"{runway['runway_months']} months")
    for metric in ("net_burn", "runway_months"):
        assert page.get_by_test_id(f"kpi-value-{metric}").get_attribute("data-filled") == "true"
        assert page.locator(f"[data-kpi={metric}][data-status]").get_attribute("data-status") == "burning"
        assert f"as of {runway['as_of']}" in (page.get_by_test_id(f"kpi-basis-{metric}").text_content() or "")
    # The demo's own cards of the library's net_burn and runway_months ("Our KPIs"): the same figures.
    assert page.get_by_test_id("defined-kpi-value-net_burn").text_content() == burn_text
    assert page.get_by_test_id("defined-kpi-value-runway_months").text_content() == f"{runway['runway_months']} months"
    # The cash panel: 13 weeks of forecast, fitted on the 26 complete weeks the document holds, the same runway.
    chart = page.get_by_test_id("cash-forecast-chart")
    chart.wait_for(timeout=UI_TIMEOUT_MS)
    assert chart.get_attribute("data-steps") == "13"
    burn = page.get_by_test_id("cash-burn").text_content() or ""
    assert burn == f"{usd(forecast['burn_weekly_minor'])} a week ({burn_text})"
    shown = page.get_by_test_id("cash-runway").text_content() or ""
    assert shown == f"{forecast['runway_weeks']} weeks ({runway['runway_months']} months)"
    facts = page.get_by_test_id("cash-facts").text_content() or ""
    assert f"fitted on {len(forecast['history'])} complete weeks to {forecast['as_of']}" in facts
    assert f"Cash {usd(forecast['balance_minor'])};" in facts
    # The critical rule on that runway, in the alert list.
    item = page.locator("[data-testid='active-alerts'] li.critical", has_text=alert["title"])
    item.wait_for(timeout=UI_TIMEOUT_MS)
    assert alert["status"] == "active" and f"now is {runway['runway_months']} months" in (item.text_content() or "")
    page.get_by_test_id("kpi-value-runway_months").scroll_into_view_if_needed()
    screenshot(page, "demo-cash-runway")
    context.close()

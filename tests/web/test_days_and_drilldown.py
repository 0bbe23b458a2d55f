"""Days, cash and drill-down in the browser: revenue by day, week, month and year to date; the cash flow and
its 13-week forecast; the P&L exported; from a P&L line or a KPI to exactly its records (paged, filtered), to a
record's history, back, and the records on screen exported as CSV with every text cell neutralised; the phone
layout does not scroll sideways; an admin writes a daily anomaly rule; the month in progress reads the same in
the browser, the monthly pack and the KPI document."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from finance_core.metric_library import library, with_requirements
from finance_core.periods import add_months
from finance_core.progress import compare_flow, period_progress
from finance_core.variance import percent_change
from reports.pack import build_statement
from reports.source import PackSource

from tests.bigquery_checks import rows
from tests.firestore_events import wait_for_trends
from tests.support import event, publish, wait_for_events, wait_until
from tests.web.browser import screenshot, sign_in
from tests.web.orgs import KPI_PERIOD, NO_FX_PERIOD, add_member
from tests.web.test_journey import console, sideways_overflow
from tools.stack.provision import bigquery_client
from tools.stack.seed import demo_reference, write_reference

UI_TIMEOUT_MS = 60_000
REVENUE_DAYS = 30  # dated revenue lines of the KPI month on account 4100: more than a page of 25


def dated(body: dict, day: str, memo: str | None = None) -> dict:
    body["record"]["date"] = day
    if memo is not None:
        body["record"]["memo"] = memo
    return body


@pytest.fixture(scope="module")
def days_org(stack, db):
    org_id = f"days-{uuid.uuid4().hex[:10]}"
    reference = demo_reference()
    reference = dict(reference, fx_rates={p: r for p, r in reference["fx_rates"].items() if p != NO_FX_PERIOD})
    write_reference(db, org_id, reference)
    # The library's burn and runway, enabled as the admin screen does: their cards show the cash forecast's.
    library_entries = library()
    for metric_id in with_requirements(["net_burn", "runway_months"], library_entries):
        db.document(f"organizations/{org_id}/metric_definitions/{metric_id}").set(dict(library_entries[metric_id]))
    first = date.fromisoformat(f"{KPI_PERIOD}-01")
    events = [
        dated(event(org_id, f"rev-{n:02d}", 1, period=KPI_PERIOD, amount=f"{100 + n}.00"),
              (first + timedelta(days=n % 20)).isoformat(), "=HYPERLINK(\"http://evil.example\")" if n == 0 else None)
        for n in range(REVENUE_DAYS)
    ]  # fmt: skip
    events.append(event(org_id, "rev-undated", 1, period=KPI_PERIOD, amount="50.00"))
    # Records of other lines, on the same day and in the month before: never in the revenue drill.
    events.append(dated(event(org_id, "cogs-03", 1, period=KPI_PERIOD, account="5100", amount="-40.00"),
                        f"{KPI_PERIOD}-03"))  # fmt: skip
    events.append(event(org_id, "rev-previous", 1, period=add_months(KPI_PERIOD, -1), amount="80.00"))
    events.append(dated(event(org_id, "rev-west", 1, period=KPI_PERIOD, entity="us-west", amount="70.00"),
                        f"{KPI_PERIOD}-03"))  # fmt: skip
    # Cash: a dated movement on account 1000 (tagged cash) every week of the two months before.
    start = first - timedelta(days=56)
    for week in range(8):
        day = start + timedelta(weeks=week)
        events.append(
            dated(
                event(
                    org_id,
                    f"cash-{week}",
                    1,
                    period=day.isoformat()[:7],
                    account="1000",
                    amount=f"-{1000 + 100 * week}.00",
                ),
                day.isoformat(),
            )  # fmt: skip
        )
    events.append(event(org_id, "cash-opening", 1, period=start.isoformat()[:7], account="1000", amount="50000.00"))
    publish(stack, events)
    wait_for_events(db, org_id, len(events), timeout=300)
    # A second version of one record: its history has two versions.
    publish(stack, [dated(event(org_id, "rev-01", 2, period=KPI_PERIOD, amount="999.00"), f"{KPI_PERIOD}-09")])
    wait_for_events(db, org_id, len(events) + 1, timeout=300)
    viewer = add_member(stack, db, org_id, "viewer", "Dana Days")
    cash = db.document(f"organizations/{org_id}/trends/cash__forecast")
    balance = 50_000_00 - sum(1000_00 + 100_00 * week for week in range(8))

    def cash_final():
        return (cash.get().to_dict() or {}).get("balance_minor") == balance

    wait_for_trends(stack, cash_final, what="the cash forecast of every movement")
    # The history of rev-01 comes from BigQuery: wait until the sink has streamed its second version.
    client = bigquery_client(stack.config)
    sql = "SELECT version FROM `{ds}.financial_facts` WHERE org_id = @org AND record_id = 'rev-01'"
    wait_until(
        lambda: {r["version"] for r in rows(client, sql, org_id)} == {1, 2}, timeout=300, what="rev-01 in BigQuery"
    )
    return org_id, viewer


def test_revenue_grains_cash_forecast_drill_down_history_and_export(browser, base_url, days_org, db):
    org_id, viewer = days_org
    context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True)  # fmt: skip
    page = context.new_page()
    sign_in(page, base_url, viewer.credentials, org_id)

    # Revenue by day, week, month and year to date.
    facts = page.get_by_test_id("revenue-facts")
    facts.wait_for(timeout=UI_TIMEOUT_MS)
    page.wait_for_function("() => document.querySelector('[data-testid=revenue-facts]')?.dataset.grain === 'daily'")
    assert facts.get_attribute("data-steps") == "60"
    # 13 ISO weeks; the months from the first with figures (the cash movements) to the KPI month.
    for grain, steps in (("Weekly", 13), ("Monthly", 3), ("YTD", 3)):
        page.get_by_test_id("revenue-grain").get_by_label(grain).check()
        page.wait_for_function(
            "g => document.querySelector('[data-testid=revenue-facts]').dataset.grain === g", arg=grain.lower()
        )
        assert int(facts.get_attribute("data-steps") or 0) == steps, grain
    records = [d.to_dict() for d in db.collection(f"organizations/{org_id}/financial_records").stream()]
    revenue = sum(r["reporting_amount_minor"] for r in records if r["account_id"] in ("4100", "4200"))
    ytd_text = page.get_by_test_id("revenue-ytd").text_content() or ""
    assert f"{revenue / 100:,.2f}" in ytd_text, (revenue, ytd_text)
    page.get_by_test_id("revenue-grain").get_by_label("Weekly").check()
    screenshot(page, "days-01-revenue-weekly")

    # Cash: daily flow, 13 weeks of forecast, burn and runway.
    page.get_by_test_id("cash-forecast-chart").wait_for(timeout=UI_TIMEOUT_MS)
    assert page.get_by_test_id("cash-forecast-chart").get_attribute("data-steps") == "13"
    assert "a week" in (page.get_by_test_id("cash-burn").text_content() or "")
    assert "weeks" in (page.get_by_test_id("cash-runway").text_content() or "")
    # Burn and runway: the headline cards show kpis/current's, which are the cash forecast's (one definition).
    forecast_ref = db.document(f"organizations/{org_id}/trends/cash__forecast")
    kpis_ref = db.document(f"organizations/{org_id}/kpis/current")
    runway = wait_until(
        lambda: (
            (kpis_ref.get().to_dict() or {}).get("cash") == (forecast_ref.get().to_dict() or {}).get("runway")
            and (kpis_ref.get().to_dict() or {}).get("cash")
        ),
        timeout=120,
        what="kpis/current's burn and runway equal to the cash forecast's",
    )
    # docs/kpis.md: monthly burn = the weeks' mean outflow x 13 / 3; runway = cash / it, rounded down to a tenth.
    forecast = forecast_ref.get().to_dict() or {}
    weekly = [Decimal(w["flow_minor"]) for w in forecast["history"]]
    monthly = -(sum(weekly) / len(weekly)) * 13 / 3
    assert runway["status"] == "burning" and runway["burn_monthly_minor"] == int(monthly.to_integral_value())
    assert runway["runway_months"] == str(
        (Decimal(forecast["balance_minor"]) / monthly).quantize(Decimal("0.1"), "ROUND_FLOOR")
    )
    page.wait_for_function(
        "t => document.querySelector('[data-testid=kpi-value-runway_months]')?.textContent === t",
        arg=f"{runway['runway_months']} months",
    )
    assert (
        page.get_by_test_id("kpi-value-net_burn").text_content()
        == f"${runway['burn_monthly_minor'] / 100:,.2f} a month"
    )
    assert f"({runway['runway_months']} months)" in (page.get_by_test_id("cash-runway").text_content() or "")
    # The org's own cards of the library's net_burn and runway_months: the same figures, no month's value.
    page.wait_for_function(
        "t => document.querySelector('[data-testid=defined-kpi-value-runway_months]')?.textContent === t",
        arg=f"{runway['runway_months']} months",
    )
    assert page.get_by_test_id("defined-kpi-value-net_burn").text_content() == (
        f"${runway['burn_monthly_minor'] / 100:,.2f} a month"
    )
    assert page.get_by_test_id("defined-kpi-change-runway_months").get_attribute("data-compared") == "cash_forecast"
    # A view's KPI card and gauge of them: the same figures whatever their range (never the monthly formula).
    view_ref = db.document(f"organizations/{org_id}/views/cash-view")
    view_ref.set(
        {"name": "Cash", "visibility": "shared", "owner": viewer.uid, "layout": ["runway", "burn"], "schema": 1}
    )
    view_ref.collection("widgets").document("runway").set(
        {"type": "kpi", "range": "last_12_months", "metrics": ["runway_months"], "compare": "previous_year"}
    )
    view_ref.collection("widgets").document("burn").set(
        {"type": "gauge", "range": "ytd", "metrics": ["net_burn"], "target": "100000.00"}
    )
    page.goto(f"{base_url}#/org/{org_id}/views/cash-view")
    card = page.locator("[data-widget=runway] [data-testid=widget-value]")
    card.wait_for(timeout=UI_TIMEOUT_MS)
    assert card.text_content() == f"{runway['runway_months']} months"
    assert card.get_attribute("data-basis") == "cash_forecast"
    burn = page.locator("[data-widget=burn] [data-testid=widget-value]")
    assert burn.text_content() == f"${runway['burn_monthly_minor'] / 100:,.2f} a month"
    share = Decimal(runway["burn_monthly_minor"]) * 100 / 100000_00
    shown = page.locator("[data-widget=burn] [data-testid=widget-share]").text_content() or ""
    assert shown.startswith(f"{share:.1f}% of target"), shown
    page.goto(f"{base_url}#/org/{org_id}")

    # The P&L of the month on screen, exported: its revenue total is the records' (a CSV from the backend).
    page.get_by_test_id("period-picker").select_option(KPI_PERIOD)
    page.get_by_test_id("pnl-table").wait_for(timeout=UI_TIMEOUT_MS)
    in_month = [r for r in records if r["period"] == KPI_PERIOD and r["scenario"] == "actual"]
    month_revenue = sum(r["reporting_amount_minor"] for r in in_month if r["account_id"] in ("4100", "4200"))
    with page.expect_download(timeout=UI_TIMEOUT_MS) as download:
        page.get_by_test_id("pnl-export-csv").click()
    statement = list(csv.reader(io.StringIO(download.value.path().read_bytes().decode("utf-8-sig"))))
    header = statement[0]
    assert header[:3] == ["Line", "Actual", "Budget"], header
    total = next(row for row in statement if row[0] == "Total revenue")
    assert Decimal(total[1]) * 100 == month_revenue, (total, month_revenue)

    # Drill from the revenue line to its records: exactly the revenue records of the month, of every
    # entity (32), 25 on the first page; not the cost line of the same day, not the month before.
    page.get_by_test_id("drill-revenue").click()
    table = page.get_by_test_id("drilldown-records")
    page.wait_for_function("() => document.querySelector('[data-testid=drilldown-records]')?.dataset.count === '25'",
                           timeout=UI_TIMEOUT_MS)  # fmt: skip
    listed = set(table.locator("tr[data-record-id]").evaluate_all("rows => rows.map(r => r.dataset.recordId)"))
    screenshot(page, "days-02-drilldown")
    page.get_by_test_id("drilldown-next").click()
    page.wait_for_function("() => document.querySelector('[data-testid=drilldown-records]')?.dataset.count === '7'",
                           timeout=UI_TIMEOUT_MS)  # fmt: skip
    assert page.get_by_test_id("drilldown-page").text_content() == "Page 2"
    second = set(table.locator("tr[data-record-id]").evaluate_all("rows => rows.map(r => r.dataset.recordId)"))
    expected_ids = {r["record_id"] for r in in_month if r["account_id"] in ("4100", "4200")}
    assert len(expected_ids) == 32 and not listed & second
    assert listed | second == expected_ids, sorted((listed | second) ^ expected_ids)
    # Filters: one entity, one booking day.
    page.get_by_test_id("drilldown-entity").select_option("us-west")
    page.wait_for_function("() => document.querySelector('[data-testid=drilldown-records]')?.dataset.count === '1'",
                           timeout=UI_TIMEOUT_MS)  # fmt: skip
    page.get_by_test_id("drilldown-entity").select_option("_all")
    page.get_by_test_id("drilldown-day").fill(f"{KPI_PERIOD}-03")
    # The revenue records booked that day, of both entities (rev-west among them).
    expected_day = sum(1 for r in records if r.get("date") == f"{KPI_PERIOD}-03" and r["account_id"] == "4100")
    assert expected_day >= 2
    page.wait_for_function(
        "n => document.querySelector('[data-testid=drilldown-records]')?.dataset.count === String(n)",
        arg=expected_day,
        timeout=UI_TIMEOUT_MS,
    )
    page.get_by_test_id("drilldown-day").fill("")
    page.wait_for_function("() => document.querySelector('[data-testid=drilldown-records]')?.dataset.count === '25'",
                           timeout=UI_TIMEOUT_MS)  # fmt: skip

    # From a record to its history (the BigQuery changelog): two versions of rev-01.
    page.get_by_label("History of record rev-01").click()
    history = page.get_by_test_id("record-history")
    history.locator("li[data-version='2']").wait_for(timeout=UI_TIMEOUT_MS)
    assert history.locator("li").count() == 2

    # Export what is on screen: the formula in a memo arrives as text.
    with page.expect_download(timeout=UI_TIMEOUT_MS) as download:
        page.get_by_test_id("drilldown-export-csv").click()
    content = download.value.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:5] == ["Record", "Date", "Entity", "Account", "Amount (USD)"]
    assert len(rows) == 26
    memo = next(row[7] for row in rows[1:] if row[0] == "rev-00")
    assert memo.startswith("'=HYPERLINK"), memo

    # And back to the P&L.
    page.get_by_test_id("drilldown-back").click()
    page.get_by_test_id("pnl-table").wait_for(timeout=UI_TIMEOUT_MS)
    assert table.count() == 0

    # From the revenue KPI card (the consolidated month): the same records.
    page.get_by_test_id("kpi-drill-revenue").click()
    page.wait_for_function("() => document.querySelector('[data-testid=drilldown-records]')?.dataset.count === '25'",
                           timeout=UI_TIMEOUT_MS)  # fmt: skip
    from_kpi = set(table.locator("tr[data-record-id]").evaluate_all("rows => rows.map(r => r.dataset.recordId)"))
    assert from_kpi == listed
    # Its accounts are those the backend resolved revenue's definition to (kpis/current.definitions).
    revenue_accounts = kpis_ref.get().to_dict()["definitions"]["revenue"]["accounts"]
    assert revenue_accounts == ["4100", "4200", "4300"]
    assert page.get_by_test_id("drilldown-accounts").get_attribute("data-accounts") == str(len(revenue_accounts))
    page.get_by_test_id("drilldown-back").click()
    page.get_by_test_id("pnl-table").wait_for(timeout=UI_TIMEOUT_MS)
    context.close()


def test_the_drill_down_fits_a_phone(browser, base_url, days_org):
    org_id, viewer = days_org
    context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)  # fmt: skip
    page = context.new_page()
    sign_in(page, base_url, viewer.credentials, org_id)
    page.get_by_test_id("revenue-facts").wait_for(timeout=UI_TIMEOUT_MS)
    page.get_by_test_id("cash-forecast-chart").wait_for(timeout=UI_TIMEOUT_MS)
    page.get_by_test_id("period-picker").select_option(KPI_PERIOD)
    page.get_by_test_id("drill-revenue").click()
    page.wait_for_function("() => document.querySelector('[data-testid=drilldown-records]')?.dataset.count === '25'",
                           timeout=UI_TIMEOUT_MS)  # fmt: skip
    assert sideways_overflow(page) == []
    screenshot(page, "days-03-drilldown-phone")
    context.close()


def test_an_admin_writes_a_daily_anomaly_rule_previewed_on_yesterday(browser, base_url, stack, days_org, db):
    org_id, _ = days_org
    admin = add_member(stack, db, org_id, "admin", "Ada Admin")
    context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    sign_in(page, base_url, admin.credentials, org_id)
    console(page, base_url, org_id, "alerts")
    rule = page.get_by_test_id("rule-form")
    rule.get_by_label("Rule id").fill("daily-sales")
    rule.get_by_label("Name").fill("Unusual daily sales in US East")
    rule.get_by_label("Type").select_option("anomaly")
    rule.get_by_label("Entity").select_option("us-east")
    rule.get_by_label("Watch").select_option("account")
    rule.get_by_role("combobox", name=re.compile(r"^Account")).select_option("4100")
    rule.get_by_label("Series").select_option("day")
    assert rule.get_by_label("Baseline months").count() == 0, "a daily rule has no baseline window"
    # The preview judges the last complete day, as the backend's evaluation would.
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    preview = page.get_by_test_id("rule-preview")
    preview.get_by_text(f"{yesterday}: ").wait_for(timeout=UI_TIMEOUT_MS)
    assert preview.get_attribute("data-state") in ("quiet", "firing", "unjudged"), preview.text_content()
    # A percentage has no daily value: the backend says why.
    rule.get_by_label("Watch").select_option("metric")
    rule.get_by_role("combobox", name=re.compile(r"^Metric")).select_option("gross_margin_pct")
    page.locator("[data-testid='rule-preview'][data-state='invalid']").wait_for(timeout=UI_TIMEOUT_MS)
    assert "daily anomaly rule watches an account" in (preview.text_content() or "")
    rule.get_by_label("Watch").select_option("account")
    rule.get_by_role("combobox", name=re.compile(r"^Account")).select_option("4100")
    rule.get_by_role("button", name="Save rule").click()
    page.locator("[data-testid='alert-rules'] tr[data-rule='daily-sales']").wait_for(timeout=UI_TIMEOUT_MS)
    # The row shows the local write at once; the server has it a moment later.
    ref = db.document(f"organizations/{org_id}/alert_rules/daily-sales")
    stored = wait_until(lambda: ref.get().to_dict(), timeout=60, what="the saved rule")
    assert stored["grain"] == "day" and "window" not in stored
    assert stored["target"] == {"entity_id": "us-east", "scenario": "actual", "account_id": "4100"}
    context.close()


def test_the_month_in_progress_reads_the_same_in_the_browser_the_pack_and_the_kpi_document(
    browser, base_url, stack, db
):
    """One rule (docs/kpis.md, "The month in progress"): revenue of today's month against its budget to date."""
    now = datetime.now(UTC)
    month = now.date().isoformat()[:7]
    org_id = f"progress-{uuid.uuid4().hex[:10]}"
    months = [add_months(month, -offset) for offset in range(3, -1, -1)]
    reference = dict(
        demo_reference(), members=[], current_period=month, periods={m: {"status": "open"} for m in months}
    )
    write_reference(db, org_id, reference)
    actual, budget = 123_456, 900_000
    publish(stack, [
        event(org_id, "sales-now", 1, period=month, amount="1234.56"),
        event(org_id, "plan-now", 1, period=month, scenario="budget", amount="9000.00"),
    ])  # fmt: skip
    wait_for_events(db, org_id, 2, timeout=300)
    kpis = db.document(f"organizations/{org_id}/kpis/current")

    def settled():
        revenue = ((kpis.get().to_dict() or {}).get("kpis") or {}).get("revenue") or {}
        return revenue.get("budget") == budget and revenue.get("value") is not None and revenue

    revenue = wait_until(settled, timeout=300, what="the KPI document with the budget")
    progress = period_progress(month, month, now.date())
    truth = compare_flow(revenue["value"], budget, progress, higher_is_better=True)
    assert revenue["value"] == actual and truth.variance_pct is not None and truth.compared_plan is not None

    # The pack of the month: the revenue line's variance is against the budget to date.
    statement = build_statement(PackSource(db).read(org_id, month, now), "_all", "P&L")
    line = statement.line("metric:revenue")
    assert line.values["budget"] == budget and line.values["variance"] == truth.variance, line.values
    assert line.values["variance_pct"] == truth.variance_pct == percent_change(actual, truth.compared_plan)

    # The browser: the same percentage, to date, with the same day of the month.
    viewer = add_member(stack, db, org_id, "viewer", "Pat Progress")
    context = browser.new_context(locale="en-US", timezone_id="UTC")
    page = context.new_page()
    sign_in(page, base_url, viewer.credentials, org_id)
    shown = page.get_by_test_id("kpi-budget-revenue")
    shown.get_by_text("vs budget to date").wait_for(timeout=UI_TIMEOUT_MS)
    rounded = truth.variance_pct.quantize(Decimal("0.1"))
    expected = "0.0%" if rounded == 0 else f"{rounded:+}%"
    assert shown.text_content() == f"{expected} vs budget to date (day {progress.elapsed_days} of {progress.days})"
    context.close()

"""Drill-down in the browser from an org's own KPI and from a P&L line of more than 30 accounts.

The org's chart has 35 contractor accounts (opex, tagged `contractor`) beside the demo's. A defined metric
`contractor_spend = tagged("contractor") + account("6100")` reads 36 leaf accounts, the P&L's total opex 39:
more than one Firestore `in` takes (30). Each drill lists, page after page, exactly the month's records of
those accounts, and nothing of another line or month.
"""

from __future__ import annotations

import uuid

import pytest

from tests.support import event, publish, wait_for_events, wait_until
from tests.web.browser import screenshot, sign_in
from tests.web.orgs import KPI_PERIOD, PREVIOUS, add_member
from tools.stack.seed import demo_reference, write_reference

UI_TIMEOUT_MS = 60_000
CONTRACTORS = [f"65{n:02d}" for n in range(1, 36)]
DEFINITION = {
    "label": "Contractor and salaries spend",
    "expression": 'tagged("contractor") + account("6100")',
    "unit": "money",
    "direction": "lower_is_better",
}


@pytest.fixture(scope="module")
def wide_org(stack, db):
    org_id = f"wide-{uuid.uuid4().hex[:10]}"
    reference = demo_reference()
    accounts = list(reference["accounts"]) + [
        {"account_id": "6500", "name": "Contractors", "type": "opex", "parent_id": "6000", "tags": []}
    ]
    accounts += [
        {"account_id": a, "name": f"Contractor {a}", "type": "opex", "parent_id": "6500", "tags": ["contractor"]}
        for a in CONTRACTORS
    ]
    write_reference(db, org_id, dict(reference, accounts=accounts))
    # The org's own metric, as the admin screen writes it (metric_definitions/{id}).
    db.document(f"organizations/{org_id}/metric_definitions/contractor_spend").set(DEFINITION)
    events = [
        event(org_id, f"contractor-{a}", 1, account=a, period=KPI_PERIOD, amount=f"{100 + n}.00")
        for n, a in enumerate(CONTRACTORS)
    ]
    events += [
        event(org_id, "salaries", 1, account="6100", period=KPI_PERIOD, amount="5000.00", entity="us-west"),
        # Opex but not the metric's; revenue; the month before: never in the metric's drill.
        event(org_id, "marketing", 1, account="6200", period=KPI_PERIOD, amount="700.00"),
        event(org_id, "sale", 1, account="4100", period=KPI_PERIOD, amount="9000.00"),
        event(org_id, "contractor-earlier", 1, account="6501", period=PREVIOUS, amount="55.00"),
    ]
    publish(stack, events)
    wait_for_events(db, org_id, len(events), timeout=300)
    expected_value = sum(100_00 + 100 * n for n in range(35)) + 5000_00

    def described():
        kpis = db.document(f"organizations/{org_id}/kpis/current").get().to_dict() or {}
        entry = (kpis.get("kpis") or {}).get("contractor_spend") or {}
        accounts_read = ((kpis.get("definitions") or {}).get("contractor_spend") or {}).get("accounts")
        return accounts_read if entry.get("value") == expected_value and accounts_read else None

    accounts_read = wait_until(described, timeout=120, what="the defined KPI and the accounts it reads")
    # The backend resolved the tag and the account to these leaves (MetricSet.accounts_of).
    assert accounts_read == sorted([*CONTRACTORS, "6100"])
    records = [d.to_dict() for d in db.collection(f"organizations/{org_id}/financial_records").stream()]
    viewer = add_member(stack, db, org_id, "viewer", "Wendy Wide")
    return org_id, viewer, records


def _listed_pages(page, sizes: list[int]) -> list[set[str]]:
    """The record ids of each page of the drill on screen, once it shows `sizes[i]` records, following 'Next page'.

    A page first drawn from the browser's cache can be partial until the server answers: wait for the count.
    """
    table = page.get_by_test_id("drilldown-records")
    pages = []
    for number, size in enumerate(sizes, start=1):
        if number > 1:
            page.get_by_test_id("drilldown-next").click()
        page.wait_for_function(
            "([n, size]) => { const t = document.querySelector('[data-testid=drilldown-records]');"
            " return document.querySelector('[data-testid=drilldown-page]')?.textContent === `Page ${n}`"
            " && t && t.dataset.count === String(size) && t.querySelectorAll('tr[data-record-id]').length === size; }",
            arg=[number, size],
            timeout=UI_TIMEOUT_MS,
        )
        pages.append(set(table.locator("tr[data-record-id]").evaluate_all("rows => rows.map(r => r.dataset.recordId)")))
    assert page.get_by_test_id("drilldown-next").is_disabled(), "no page after the last"
    return pages


def test_a_defined_kpi_and_a_line_of_more_than_30_accounts_list_exactly_their_records(browser, base_url, wide_org):
    org_id, viewer, records = wide_org
    context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    sign_in(page, base_url, viewer.credentials, org_id)

    # From the org's own KPI card: the month's records of the 36 accounts its expression reads.
    page.get_by_test_id("defined-kpi-drill-contractor_spend").click(timeout=UI_TIMEOUT_MS)
    page.get_by_test_id("drilldown").wait_for(timeout=UI_TIMEOUT_MS)
    notes = page.get_by_test_id("drilldown-accounts")
    assert notes.get_attribute("data-accounts") == "36" and notes.get_attribute("data-queries") == "2"
    pages = _listed_pages(page, [25, 11])
    screenshot(page, "drill-defined-kpi")
    metric_accounts = {*CONTRACTORS, "6100"}
    expected = {
        r["record_id"]
        for r in records
        if r["account_id"] in metric_accounts and r["period"] == KPI_PERIOD and r["scenario"] == "actual"
    }
    assert len(expected) == 36
    assert not pages[0] & pages[1]
    assert pages[0] | pages[1] == expected, sorted((pages[0] | pages[1]) ^ expected)

    # From the P&L's total opex line: its 39 leaf accounts, the marketing record included.
    page.get_by_test_id("drilldown-back").click()
    page.get_by_test_id("period-picker").select_option(KPI_PERIOD)
    page.get_by_test_id("drill-opex").click(timeout=UI_TIMEOUT_MS)
    page.get_by_test_id("drilldown").wait_for(timeout=UI_TIMEOUT_MS)
    assert page.get_by_test_id("drilldown-accounts").get_attribute("data-accounts") == str(len(CONTRACTORS) + 4)
    pages = _listed_pages(page, [25, 12])
    expected = {
        r["record_id"]
        for r in records
        if r["account_id"] in metric_accounts | {"6200", "6300", "6400"} and r["period"] == KPI_PERIOD
    }
    assert len(expected) == 37 and not pages[0] & pages[1]
    assert pages[0] | pages[1] == expected, sorted((pages[0] | pages[1]) ^ expected)
    context.close()

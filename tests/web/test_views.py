"""Views people build, in Chromium: an editor builds a view with every widget type, arranges it with the
buttons, the keyboard and drag and drop, configures and removes widgets and shares it; a viewer sees it live,
and a heat map's cells and a department scorecard equal the documents; a duplicated starter stays private,
fits a phone and is deleted (docs/views.md)."""

from __future__ import annotations

import io
import subprocess
import uuid

import pytest
from finance_core.views import forecast_as_of
from google.cloud import firestore
from openpyxl import load_workbook
from reports import formatting

from tests.firestore_events import run_scheduled
from tests.support import event, publish, wait_for_events, wait_until
from tests.web.browser import axe_violations, screenshot, sign_in
from tests.web.orgs import KPI_PERIOD, PREVIOUS, add_member
from tests.web.test_dashboard import UI_TIMEOUT_MS, consolidated, usd, wait_for_text
from tests.web.test_journey import console, sideways_overflow
from tools.stack.seed import demo_reference, write_reference

pytestmark = pytest.mark.emulators

DEPARTMENTS = {"label": "Department", "values": ["sales", "ops"]}


def _with_department(body: dict, department: str) -> dict:
    body["record"]["dimensions"] = {"department": department}
    return body


def _dimension_doc(db, org_id: str, value: str, period: str) -> dict | None:
    return (
        db.document(f"organizations/{org_id}/dimension_aggregates/department__{value}___all__{period}__actual")
        .get()
        .to_dict()
    )


def _dimension_revenue(db, org_id: str, value: str, period: str = KPI_PERIOD) -> int:
    return int(((_dimension_doc(db, org_id, value, period) or {}).get("metrics") or {}).get("revenue", 0))


@pytest.fixture(scope="module")
def views_org(stack, db):
    """The demo chart with a declared department (sales, ops), revenue per department in two months, a budget."""
    org_id = f"views-{uuid.uuid4().hex[:10]}"
    write_reference(db, org_id, demo_reference())
    db.document(f"organizations/{org_id}").update({"dimensions": {"department": DEPARTMENTS}})
    events = [
        _with_department(event(org_id, "v-sales-prev", 1, period=PREVIOUS, amount="900.00"), "sales"),
        _with_department(event(org_id, "v-ops-prev", 1, period=PREVIOUS, amount="300.00"), "ops"),
        _with_department(event(org_id, "v-sales", 1, period=KPI_PERIOD, amount="1200.00"), "sales"),
        _with_department(event(org_id, "v-ops", 1, period=KPI_PERIOD, amount="450.00"), "ops"),
        _with_department(event(org_id, "v-ops-opex", 1, period=KPI_PERIOD, account="6100", amount="80.00"), "ops"),
        event(org_id, "v-budget", 1, period=KPI_PERIOD, scenario="budget", amount="2000.00"),
    ]
    publish(stack, events)
    wait_for_events(db, org_id, len(events), timeout=300)
    wait_until(
        lambda: _dimension_revenue(db, org_id, "sales") == 120000 and _dimension_revenue(db, org_id, "ops") == 45000,
        timeout=300,
        what="the department aggregates of the views org",
    )
    editor = add_member(stack, db, org_id, "editor", "Ed Editor")
    viewer = add_member(stack, db, org_id, "viewer", "Vera Viewer")
    return org_id, editor, viewer


def _add_widget(page, kind: str, **fields) -> None:
    """Fill "Add a widget": its type, then each field by its control (metric, metrics, range, compare, target...)."""
    form = page.get_by_role("form", name="Add a widget")
    form.get_by_test_id("widget-type").select_option(kind)
    for field, value in fields.items():
        form.get_by_test_id(f"widget-{field}").select_option(value)
    before = page.locator("[data-widget]").count()
    form.get_by_role("button", name="Add the widget").click(timeout=UI_TIMEOUT_MS)  # enabled once the last one is saved
    try:
        page.wait_for_function(
            "n => document.querySelectorAll('[data-widget]').length === n", arg=before + 1, timeout=UI_TIMEOUT_MS
        )
    except Exception:
        screenshot(page, f"views-add-{kind}-failed")
        raise AssertionError(f"the {kind} widget was not added: {form.text_content()}") from None


def _drag(page, source, target) -> None:
    """Drag as a hand does: press on the source, move over the target in steps, release."""
    box = source.bounding_box()
    goal = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 12, box["y"] + box["height"] / 2 + 12, steps=3)
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] / 2, steps=10)
    page.mouse.up()


def _order(page) -> list[str]:
    return page.eval_on_selector_all("[data-widget]", "els => els.map((el) => el.dataset.type)")


def _layout(db, org_id: str, view_id: str) -> list[str]:
    return list((db.document(f"organizations/{org_id}/views/{view_id}").get().to_dict() or {}).get("layout", []))


def test_an_editor_builds_arranges_and_shares_a_view_that_a_viewer_sees_live(browser, base_url, views_org, db, stack):
    org_id, editor, viewer = views_org
    # Tall enough for the whole view: a drag never has to scroll.
    editing = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1400, "height": 2200})
    watching = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1400, "height": 1000})
    try:
        page = editing.new_page()
        sign_in(page, base_url, editor.credentials, org_id)
        page.get_by_role("navigation", name="Sections").get_by_role("link", name="Views").click()
        # Never a blank page: the starters, and a scorecard per declared department with a heat map.
        ready = page.get_by_test_id("views-ready-made")
        ready.get_by_role("link", name="Executive overview").wait_for(timeout=UI_TIMEOUT_MS)
        scorecards = page.get_by_test_id("views-scorecards")
        assert scorecards.get_by_role("link").all_text_contents() == [
            "Heat map: Department",
            "Scorecard: Department sales",
            "Scorecard: Department ops",
        ]

        page.get_by_label("New view").fill("Board pack")
        page.get_by_role("button", name="Create").click()
        page.get_by_role("heading", name="Board pack").wait_for(timeout=UI_TIMEOUT_MS)
        view_id = page.locator("[data-view]").get_attribute("data-view")
        assert page.get_by_test_id("view-visibility").text_content() == "personal"
        page.get_by_role("button", name="Edit").click()

        _add_widget(page, "kpi", metric="revenue", range="this_month", compare="budget")
        _add_widget(page, "gauge", metric="revenue", range="this_month", target="budget")
        _add_widget(page, "timeseries", metrics="revenue", range="last_6_months", compare="previous_year")
        _add_widget(page, "table", metrics=["revenue", "opex"], range="last_3_months")
        _add_widget(page, "pnl", range="this_month")
        _add_widget(page, "variance", range="this_month")
        _add_widget(page, "heatmap", metric="revenue", range="last_3_months", dimension="department")
        _add_widget(page, "kpi", metric="opex", range="ytd")
        assert _order(page) == ["kpi", "gauge", "timeseries", "table", "pnl", "variance", "heatmap", "kpi"]

        # Remove the second KPI card; configure the first one's title.
        page.locator("[data-widget='kpi-2']").get_by_role("button", name="Remove").click()
        page.wait_for_function("() => document.querySelectorAll('[data-widget]').length === 7", timeout=UI_TIMEOUT_MS)
        first = page.locator("[data-widget='kpi-1']")
        first.get_by_role("button", name="Configure").click()
        first.get_by_role("form", name="Configure the widget").get_by_placeholder("(automatic)").fill(
            "Revenue this month"
        )
        first.get_by_role("button", name="Save the widget").click()
        first.get_by_role("heading", name="Revenue this month").wait_for(timeout=UI_TIMEOUT_MS)

        # Arrange: a button, the keyboard on the handle, and drag and drop; the stored layout follows.
        heat = page.locator("[data-widget='heatmap-1']")
        heat.get_by_role("button", name="earlier").click()
        wait_until(lambda: _layout(db, org_id, view_id)[5] == "heatmap-1", timeout=60, what="the heat map moved up")
        heat.get_by_role("button", name="arrow keys or drag").press("ArrowUp")
        wait_until(lambda: _layout(db, org_id, view_id)[4] == "heatmap-1", timeout=60, what="the heat map moved by key")
        page.wait_for_function(
            "() => document.querySelectorAll('[data-widget]')[4].dataset.widget === 'heatmap-1'", timeout=UI_TIMEOUT_MS
        )
        _drag(page, heat.get_by_role("button", name="arrow keys or drag"), page.locator("[data-widget='kpi-1'] h3"))
        wait_until(
            lambda: _layout(db, org_id, view_id)[0] == "heatmap-1", timeout=60, what="the heat map dragged first"
        )
        page.wait_for_function(
            "() => document.querySelector('[data-widget]').dataset.widget === 'heatmap-1'", timeout=UI_TIMEOUT_MS
        )
        assert _order(page) == ["heatmap", "kpi", "gauge", "timeseries", "table", "pnl", "variance"]

        page.get_by_role("button", name="Done").click()
        page.get_by_role("button", name="Share with the organisation").click()
        wait_for_text(page.get_by_test_id("view-visibility"), "shared")
        screenshot(page, "views-builder")
        assert axe_violations(page) == []

        # The viewer finds it among the shared views, sees every widget and cannot edit it.
        other = watching.new_page()
        sign_in(other, base_url, viewer.credentials, org_id)
        other.get_by_role("navigation", name="Sections").get_by_role("link", name="Views").click()
        other.get_by_test_id("views-shared").get_by_role("link", name="Board pack").click()
        other.get_by_role("heading", name="Board pack").wait_for(timeout=UI_TIMEOUT_MS)
        other.wait_for_function("() => document.querySelectorAll('[data-widget]').length === 7", timeout=UI_TIMEOUT_MS)
        assert other.get_by_role("button", name="Edit").count() == 0

        kpi = other.locator("[data-widget='kpi-1'] [data-testid='widget-value']")
        wait_for_text(kpi, usd(consolidated(db, org_id, "revenue")))
        cell = other.locator(
            "[data-testid='heat-cell'][data-dimension-value='sales'][data-period='" + KPI_PERIOD + "']"
        )
        other.wait_for_function(
            "([el, v]) => el.dataset.value === String(v)",
            arg=[cell.element_handle(), _dimension_revenue(db, org_id, "sales")],
            timeout=UI_TIMEOUT_MS,
        )
        # Every heat map cell equals its document (September has none: no record of a department then).
        for value in ("sales", "ops"):
            for period in ("2026-09", PREVIOUS, KPI_PERIOD):
                shown = other.locator(
                    f"[data-testid='heat-cell'][data-dimension-value='{value}'][data-period='{period}']"
                ).get_attribute("data-value")
                doc = _dimension_doc(db, org_id, value, period)
                expected = "" if doc is None else str(doc["metrics"]["revenue"])  # a month without records: no document
                assert shown == expected, (value, period, shown, expected)

        # Live: a new sale moves the viewer's KPI card and heat map cell without a reload...
        publish(stack, [_with_department(event(org_id, "v-sales-2", 1, period=KPI_PERIOD, amount="55.55"), "sales")])
        wait_until(lambda: _dimension_revenue(db, org_id, "sales") == 125555, timeout=300, what="the new sale")
        other.wait_for_function(
            "([el, v]) => el.dataset.value === String(v)", arg=[cell.element_handle(), 125555], timeout=UI_TIMEOUT_MS
        )
        wait_for_text(kpi, usd(consolidated(db, org_id, "revenue")))
        # ...and the editor's rearranging reaches the viewer too.
        page.get_by_role("button", name="Edit").click()
        page.locator("[data-widget='heatmap-1']").get_by_role("button", name="later").click()
        other.wait_for_function(
            "() => document.querySelectorAll('[data-widget]')[1].dataset.widget === 'heatmap-1'", timeout=UI_TIMEOUT_MS
        )
        screenshot(other, "views-shared-viewer")
    finally:
        editing.close()
        watching.close()


def test_a_department_scorecard_shows_that_department_against_the_documents(context, base_url, views_org, db):
    org_id, _editor, viewer = views_org
    page = context.new_page()
    sign_in(page, base_url, viewer.credentials, org_id)
    page.goto(f"{base_url}#/org/{org_id}/views/scorecard.department.ops")
    page.get_by_role("heading", name="Scorecard: Department ops").wait_for(timeout=UI_TIMEOUT_MS)
    revenue = page.locator("[data-widget='revenue'] [data-testid='widget-value']")
    wait_for_text(revenue, usd(_dimension_revenue(db, org_id, "ops")))
    opex = page.locator("[data-widget='opex'] [data-testid='widget-value']")
    wait_for_text(opex, usd(8000))
    pnl = page.locator("[data-widget='pnl'] tr[data-line='revenue'] td").first
    assert pnl.get_attribute("data-value") == str(_dimension_revenue(db, org_id, "ops"))
    # A ready-made view is duplicated to be changed, never edited in place.
    assert page.get_by_role("button", name="Edit").count() == 0
    assert page.get_by_role("button", name="Duplicate").count() == 1


def test_a_duplicated_starter_is_personal_private_deleted_and_fits_a_phone(browser, base_url, views_org):
    org_id, editor, viewer = views_org
    phone = browser.new_context(
        locale="en-US", timezone_id="UTC", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    other = browser.new_context(locale="en-US", timezone_id="UTC")
    try:
        page = phone.new_page()
        sign_in(page, base_url, editor.credentials, org_id)
        page.goto(f"{base_url}#/org/{org_id}/views/starter-overview")
        page.get_by_role("heading", name="Executive overview").wait_for(timeout=UI_TIMEOUT_MS)
        page.get_by_role("button", name="Duplicate").click()
        page.get_by_role("heading", name="Executive overview (copy)").wait_for(timeout=UI_TIMEOUT_MS)
        copy_id = page.locator("[data-view]").get_attribute("data-view")
        assert copy_id.startswith("view-") and page.get_by_test_id("view-visibility").text_content() == "personal"
        page.wait_for_function("() => document.querySelectorAll('[data-widget]').length === 7", timeout=UI_TIMEOUT_MS)
        page.locator("[data-widget] [data-testid='widget-value']").first.wait_for(timeout=UI_TIMEOUT_MS)
        # One column on a phone: nothing reaches past the screen (wide tables scroll in their panel).
        assert sideways_overflow(page) == []
        screenshot(page, "views-phone")

        # Another member cannot open it, even with its link.
        them = other.new_page()
        sign_in(them, base_url, viewer.credentials, org_id)
        them.goto(f"{base_url}#/org/{org_id}/views/{copy_id}")
        them.get_by_test_id("view-unavailable").wait_for(timeout=UI_TIMEOUT_MS)

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Delete").click()
        page.get_by_role("heading", name="Views", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
        assert page.get_by_role("link", name="Executive overview (copy)").count() == 0
    finally:
        phone.close()
        other.close()


def test_a_viewer_exports_a_scorecard_whose_workbook_holds_the_widgets_figures(context, base_url, views_org):
    """Export PDF / XLSX on a view: ask, watch the status, download; the workbook's figures are the widgets'."""

    org_id, _editor, viewer = views_org
    page = context.new_page()
    sign_in(page, base_url, viewer.credentials, org_id)
    page.goto(f"{base_url}#/org/{org_id}/views/scorecard.department.sales")
    page.get_by_role("heading", name="Scorecard: Department sales").wait_for(timeout=UI_TIMEOUT_MS)
    revenue = page.locator("[data-widget='revenue'] [data-testid='widget-value']")
    revenue.wait_for(timeout=UI_TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelector(\"[data-widget='revenue'] [data-testid='widget-value']\").dataset.value !== ''",
        timeout=UI_TIMEOUT_MS,
    )
    shown = {
        "revenue": int(revenue.get_attribute("data-value")),
        "budget": page.locator("[data-widget='revenue'] [data-testid='widget-comparison']").get_attribute("data-value"),
        "pnl": int(page.locator("[data-widget='pnl'] tr[data-line='revenue'] td").first.get_attribute("data-value")),
    }
    export = page.get_by_test_id("view-export")
    export.get_by_role("button", name="Export PDF / XLSX").click()
    page.locator("[data-testid='view-export'][data-status='succeeded']").wait_for(timeout=UI_TIMEOUT_MS * 2)
    files = page.get_by_test_id("view-export-files")
    with page.expect_download(timeout=UI_TIMEOUT_MS) as download:
        files.get_by_role("button", name="Download Excel workbook").click()
    workbook_file = download.value
    assert workbook_file.suggested_filename == f"view-scorecard.department.sales-{org_id}-{KPI_PERIOD}.xlsx"
    with open(workbook_file.path(), "rb") as handle:
        workbook = load_workbook(io.BytesIO(handle.read()))
    sheets = {ws.title.split(". ", 1)[0]: ws for ws in workbook.worksheets}
    card = sheets["1"]  # the first widget: the revenue card
    header = [c.value for c in card[4]]
    row = [c.value for c in card[5]]
    assert formatting.minor_from_excel(row[header.index("Value")], "USD") == shown["revenue"]
    budget = row[header.index("Budget")]
    assert (budget is None and shown["budget"] in ("", None)) or (
        formatting.minor_from_excel(budget, "USD") == int(shown["budget"])
    )
    pnl = next(ws for ws in workbook.worksheets if ws.title.startswith("8. "))
    pnl_header = [c.value for c in pnl[4]]
    assert formatting.minor_from_excel(pnl[5][pnl_header.index("Actual")].value, "USD") == shown["pnl"]

    with page.expect_download(timeout=UI_TIMEOUT_MS) as download:
        files.get_by_role("button", name="Download PDF").click()
    pdf = download.value
    assert pdf.suggested_filename.endswith(".pdf")
    text = subprocess.run(["pdftotext", "-layout", pdf.path(), "-"], capture_output=True, text=True, check=True).stdout
    assert "Scorecard: Department sales" in text and usd(shown["revenue"]).lstrip("$") in text
    screenshot(page, "views-export")


def test_a_pnl_blocks_forecast_column_is_the_trend_as_of_the_month_shown(context, base_url, views_org, db, stack):
    """The Executive overview's P&L block: each money line's forecast is its trend's of the month, or none."""

    org_id, _editor, viewer = views_org
    # Two more complete months of revenue (no department: the other tests' dimension figures stay; August
    # reopened to take it), so the revenue trend, fitted on the 3 months before the month in progress,
    # forecasts it.
    db.document(f"organizations/{org_id}/periods/2026-08").set({"status": "open"}, merge=True)
    earlier = [
        event(org_id, f"v-rev-2026-{month}", 1, period=f"2026-{month}", amount=amount)
        for month, amount in (("08", "800.00"), ("09", "850.00"))
    ]
    publish(stack, earlier)

    def revenue_forecast() -> int | None:
        run_scheduled(stack, "sweep_trend_requests")  # the debounced trends, as the minute sweep would
        trend = db.document(f"organizations/{org_id}/trends/metric__revenue").get().to_dict()
        return forecast_as_of(trend, KPI_PERIOD)

    wait_until(
        revenue_forecast, timeout=300, interval=2, what="a revenue trend fitted before the month, with its forecast"
    )
    page = context.new_page()
    sign_in(page, base_url, viewer.credentials, org_id)
    page.goto(f"{base_url}#/org/{org_id}/views/starter-overview")
    page.get_by_role("heading", name="Executive overview").wait_for(timeout=UI_TIMEOUT_MS)
    pnl = page.locator("[data-widget='pnl']")
    pnl.get_by_role("columnheader", name="Forecast").wait_for(timeout=UI_TIMEOUT_MS)

    def agrees() -> bool:
        for metric in ("revenue", "gross_profit", "net_income"):
            trend = db.document(f"organizations/{org_id}/trends/metric__{metric}").get().to_dict()
            expected = forecast_as_of(trend, KPI_PERIOD)
            cell = pnl.locator(f"tr[data-line='{metric}'] td[data-column='forecast']")
            if cell.get_attribute("data-value") != ("" if expected is None else str(expected)):
                return False
        return True

    wait_until(agrees, timeout=60, what="the P&L block's forecasts to equal the trends as of the month")
    assert pnl.locator("tr[data-line='gross_margin_pct'] td[data-column='forecast']").get_attribute("data-value") == ""


def test_an_admin_schedules_a_shared_views_report_in_the_console(context, base_url, views_org, db, stack):
    """Report schedules offer the ready-made and shared views (never a personal one); the schedule names the view."""

    org_id, editor, _viewer = views_org
    admin = add_member(stack, db, org_id, "admin", "Ada Admin")
    for view_id, visibility, name in (("board-shared", "shared", "Board numbers"), ("eds-own", "personal", "Ed's own")):
        db.document(f"organizations/{org_id}/views/{view_id}").set(
            {
                "name": name,
                "visibility": visibility,
                "owner": editor.uid,
                "layout": [],
                "schema": 1,
                "created_at": firestore.SERVER_TIMESTAMP,
                "updated_at": firestore.SERVER_TIMESTAMP,
                "updated_by": editor.uid,
            }
        )
    page = context.new_page()
    sign_in(page, base_url, admin.credentials, org_id)
    console(page, base_url, org_id, "schedules")
    form = page.get_by_test_id("schedule-form")
    report = form.get_by_label("Report")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=schedule-form] option')]"
        ".some(o => o.value === 'board-shared')",
        timeout=UI_TIMEOUT_MS,
    )
    options = report.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert "starter-overview" in options and "scorecard.department.sales" in options and "eds-own" not in options
    form.get_by_label("Schedule id").fill("board-monthly")
    report.select_option("board-shared")
    form.get_by_label("Recipients (replace the channel's)").fill("board@example.com")
    form.get_by_role("button", name="Save schedule").click()
    row = page.locator("[data-testid='schedules'] tr[data-schedule='board-monthly']")
    row.wait_for(timeout=UI_TIMEOUT_MS)
    assert row.get_by_test_id("schedule-report").text_content() == "view Board numbers"
    stored = db.document(f"organizations/{org_id}/report_schedules/board-monthly").get().to_dict()
    assert stored["view_id"] == "board-shared" and stored["recipients"] == ["board@example.com"]

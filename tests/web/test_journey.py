"""A finance team from nothing to live, in Chromium on the emulator stack, without writing a document by hand.

The operator command creates the org and invites its admin; the admin signs up from the link, invites an
editor and a viewer (e-mailed to the stack's mailbox), imports entities and the chart (a bad row of each is
refused with its reason), opens periods, enters FX rates by hand and by import, uploads a budget, defines a
KPI checked as it is typed, writes an alert rule with its preview, sets a webhook channel's write-only URL and
sends a test, and schedules the pack for period close; the editor uploads actuals; the viewer sees the KPIs
and the alert, and downloads the month's pack; the admin closes the previous month with its checklist and the
pack is e-mailed. Screenshots of every screen land in test-artifacts/web/journey-*.png; the viewer's part runs
again at 390 x 844 without horizontal scrolling.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.alert_receivers import WebhookReceiver
from tests.support import wait_until
from tests.web.browser import axe_violations, screenshot
from tests.web.test_dashboard import UI_TIMEOUT_MS
from tools.organizations import main as organizations_command
from tools.stack.mailbox import wait_for_mail

pytestmark = pytest.mark.emulators

LINK = re.compile(r"http://\S+#/invitation/[A-Za-z0-9_-]+")
NOW = datetime.now(UTC)
CUR = f"{NOW:%Y-%m}"
PREV = f"{NOW.year - (NOW.month == 1)}-{(NOW.month - 2) % 12 + 1:02d}"
EUR_RATE = {PREV: "1.05", CUR: "1.10"}

ENTITIES_CSV = """entity_id,name,currency,parent_id
group,Journey Group,USD,
us,Journey US Inc.,USD,group
eu,Journey Europe GmbH,EUR,group
bad__id,Bad entity,USD,
"""
CHART_CSV = """account_id,name,type,parent_id,tags
1000,Cash,asset,,cash current_asset
4000,Revenue,revenue,,
4100,Product revenue,revenue,4000,
4200,Subscriptions,revenue,4000,recurring
5000,Cost of goods sold,cogs,,
5100,Hosting,cogs,5000,
6000,Operating expenses,opex,,
6100,Salaries,opex,6000,
6200,Marketing,opex,6000,
7777,Misfiled,income,,
"""
HEADER = "record_id,entity_id,account_id,period,scenario,amount,currency\n"
BUDGET_CSV = HEADER + "".join(
    f"B-{p}-{a},us,{a},{p},budget,{amount},USD\n"
    for p in (PREV, CUR)
    for a, amount in (("4100", "70000.00"), ("4200", "30000.00"), ("5100", "18000.00"), ("6100", "32000.00"))
)
ACTUALS = {  # (entity, account, currency) -> amount, per period
    PREV: [("us", "4100", "55000.00", "USD"), ("us", "6100", "31000.00", "USD"), ("eu", "4100", "8000.00", "EUR")],
    CUR: [
        ("us", "4100", "60000.00", "USD"),
        ("us", "4200", "25000.00", "USD"),
        ("eu", "4100", "10000.00", "EUR"),
        ("us", "5100", "20000.00", "USD"),
        ("us", "6100", "30000.00", "USD"),
        ("eu", "6200", "5000.00", "EUR"),
    ],
}
ACTUALS_CSV = HEADER + "".join(
    f"A-{p}-{i},{e},{a},{p},actual,{amount},{c}\n"
    for p, rows in ACTUALS.items()
    for i, (e, a, amount, c) in enumerate(rows)
)


def reporting(period: str, account_prefix: str) -> Decimal:
    """Consolidated USD of the actuals of accounts starting with `account_prefix` (computed here, independently)."""
    total = Decimal(0)
    for _entity, account, amount, currency in ACTUALS[period]:
        if account.startswith(account_prefix):
            total += Decimal(amount) * (Decimal(EUR_RATE[period]) if currency == "EUR" else 1)
    return total


def file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def workbook(tmp_path: Path, name: str, text: str) -> str:
    """The CSV `text` as the first sheet of an .xlsx, as a spreadsheet saves it (numbers as numbers)."""
    import csv
    import io

    import openpyxl

    book = openpyxl.Workbook()
    for row in csv.reader(io.StringIO(text)):
        book.active.append([int(cell) if cell.isdigit() else (cell or None) for cell in row])
    path = tmp_path / name
    book.save(path)
    return str(path)


def create_account_from_link(page, link: str, email: str, password: str) -> None:
    page.goto(link)
    page.get_by_role("button", name="I am new here: create an account").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    page.get_by_test_id("invitation-accepted").wait_for(timeout=UI_TIMEOUT_MS)


def console(page, base_url: str, org_id: str, screen: str) -> None:
    page.goto(f"{base_url}#/org/{org_id}/admin/{screen}")
    page.locator(f"[data-screen='{screen}']").wait_for(timeout=UI_TIMEOUT_MS)


def sideways_overflow(page) -> list[str]:
    """What makes the page wider than the screen (scrollWidth beyond clientWidth: Chromium's mobile layout
    widens the viewport to fit overflow): the outermost elements that reach past the right edge."""
    return page.evaluate(
        """() => {
          const limit = document.documentElement.clientWidth;
          if (document.scrollingElement.scrollWidth <= limit) return [];
          const found = [];
          for (const el of document.querySelectorAll('body *')) {
            const box = el.getBoundingClientRect();
            const parent = el.parentElement ? el.parentElement.getBoundingClientRect().right : 0;
            if (box.right > limit + 1 && parent <= limit + 1) {
              found.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ${Math.round(box.right)}px`);
            }
          }
          return [`page ${document.scrollingElement.scrollWidth}px > ${limit}px`, ...found.slice(0, 10)];
        }"""
    )


def test_a_finance_team_goes_from_nothing_to_live_in_the_browser(browser, base_url, stack, db, capsys, tmp_path):
    org_id = f"journey-{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:6]
    emails = {role: f"{role}-{tag}@journey.example" for role in ("admin", "editor", "viewer")}

    # 1. The operator creates the organisation and invites its first admin: one command.
    assert (
        organizations_command(
            ["create", org_id, "--name", "Journey Ltd", "--currency", "USD", "--admin-email", emails["admin"]]
            + ["--admin-name", "Ada Admin"]
        )
        == 0
    )
    admin_link = LINK.search(capsys.readouterr().out).group(0)

    # 2. The admin opens the link, creates an account and joins.
    admin_context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1300, "height": 900})
    page = admin_context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    create_account_from_link(page, admin_link, emails["admin"], "ada-password")
    screenshot(page, "journey-01-admin-joined")

    # 3. Invites an editor and a viewer by e-mail.
    console(page, base_url, org_id, "members")
    for role in ("editor", "viewer"):
        form = page.get_by_test_id("invite-form")
        form.get_by_label("E-mail").fill(emails[role])
        form.get_by_label("Role").select_option(role)
        form.get_by_role("button", name="Invite").click()
        page.locator("[data-testid='invitations'] tr[data-state='sent']", has_text=emails[role]).wait_for(
            timeout=UI_TIMEOUT_MS
        )
    screenshot(page, "journey-02-members")

    # 4. Organisation: a dimension; entities and the chart of accounts imported, bad rows refused.
    console(page, base_url, org_id, "organisation")
    dimension = page.get_by_test_id("dimension-form")
    dimension.get_by_label("Name").fill("region")
    dimension.get_by_label("Label").fill("Region")
    dimension.get_by_label("Allowed values (separated by commas or spaces; empty: any identifier)").fill("emea, amer")
    dimension.get_by_role("button", name="Save dimension").click()
    page.locator("[data-testid='dimensions'] tr[data-dimension='region']").wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "journey-03-organisation")

    console(page, base_url, org_id, "entities")
    page.get_by_label("Import entities (CSV or XLSX)").set_input_files(file(tmp_path, "entities.csv", ENTITIES_CSV))
    page.get_by_test_id("import-entities").get_by_role("button", name="Import", exact=True).click()
    report = page.get_by_test_id("import-report")
    report.wait_for(timeout=UI_TIMEOUT_MS)
    assert "4 rows: 3 written, 1 refused" in report.text_content()
    assert 'must not contain "__"' in report.locator("tr[data-row='5']").text_content()
    page.locator("[data-testid='entities'] tr[data-entity='eu']").wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "journey-04-entities")

    console(page, base_url, org_id, "accounts")
    # The chart as an Excel workbook: account ids are numbers there, read back as the text typed.
    page.get_by_label("Import accounts (CSV or XLSX)").set_input_files(workbook(tmp_path, "chart.xlsx", CHART_CSV))
    page.get_by_test_id("import-accounts").get_by_role("button", name="Import", exact=True).click()
    report = page.get_by_test_id("import-report")
    report.wait_for(timeout=UI_TIMEOUT_MS)
    assert "10 rows: 9 written, 1 refused" in report.text_content()
    assert 'type "income" is not one of' in report.locator("tr[data-row='11']").text_content()
    page.locator("[data-testid='account-tree'] li[data-account='4000'] li[data-account='4200']").wait_for(
        timeout=UI_TIMEOUT_MS
    )
    assert db.document(f"organizations/{org_id}/accounts/4200").get().to_dict()["tags"] == ["recurring"]
    screenshot(page, "journey-05-chart-of-accounts")

    # 5. Periods, FX rates (one by hand, one imported), the budget.
    console(page, base_url, org_id, "periods")
    opening = page.get_by_test_id("open-periods")
    opening.get_by_label("From").fill(PREV)
    opening.get_by_label("To (optional)").fill(CUR)
    opening.get_by_role("button", name="Open months").click()
    page.locator(f"[data-testid='periods'] tr[data-period='{CUR}'][data-status='open']").wait_for(timeout=UI_TIMEOUT_MS)

    console(page, base_url, org_id, "fx")
    fx = page.get_by_test_id("fx-form")
    fx.get_by_label("Period").fill(CUR)
    fx.get_by_label("Currency").fill("EUR")
    fx.get_by_label("Rate (USD per unit)").fill(EUR_RATE[CUR])
    fx.get_by_role("button", name="Save rate").click()
    rates_csv = f"period,currency,rate\n{PREV},EUR,{EUR_RATE[PREV]}\n{PREV},usd,1\n"
    page.get_by_label("Import FX rates (CSV or XLSX)").set_input_files(file(tmp_path, "rates.csv", rates_csv))
    page.get_by_test_id("import-FX-rates").get_by_role("button", name="Import", exact=True).click()
    assert "2 rows: 1 written, 1 refused" in page.get_by_test_id("import-report").text_content(timeout=UI_TIMEOUT_MS)
    page.locator(
        f"[data-testid='fx-rates'] tr[data-period='{PREV}'] td[data-currency='EUR']", has_text="1.05"
    ).wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "journey-06-fx-rates")

    console(page, base_url, org_id, "plans")
    plans = page.get_by_test_id("plan-upload")
    plans.get_by_label("File (CSV or XLSX)").set_input_files(file(tmp_path, "budget.csv", BUDGET_CSV))
    plans.get_by_role("button", name="Upload budget").click()
    page.get_by_test_id("upload-report").wait_for(timeout=UI_TIMEOUT_MS)
    assert "8 rows: 8 applied" in page.get_by_test_id("upload-report").text_content()
    page.locator(f"[data-testid='plan-months'] tr[data-period='{CUR}']", has_text="$100,000.00").wait_for(
        timeout=UI_TIMEOUT_MS
    )
    screenshot(page, "journey-07-budget")

    # 6. A KPI, checked as it is typed.
    console(page, base_url, org_id, "metrics")
    definition = page.get_by_test_id("definition-form")
    definition.get_by_label("Id").fill("opex_ratio_pct")
    definition.get_by_label("Label").fill("Opex ratio")
    definition.get_by_label("Unit").select_option("percent")
    definition.get_by_label("Direction").select_option("lower_is_better")
    definition.get_by_label("Expression").fill('100 * account("6999") / revenue')
    check = page.get_by_test_id("definition-check")
    check.locator("text=account '6999' is not in the chart").wait_for(timeout=UI_TIMEOUT_MS)
    definition.get_by_label("Expression").fill("100 * opex / revenue")
    page.locator("[data-testid='definition-check'][data-status='active']").wait_for(timeout=UI_TIMEOUT_MS)
    definition.get_by_role("button", name="Add definition").click()
    page.locator("[data-definition='opex_ratio_pct'][data-status='active']").wait_for(timeout=UI_TIMEOUT_MS)
    screenshot(page, "journey-08-kpi-definitions")

    # 7. A webhook channel whose URL is write-only, and a test message.
    with WebhookReceiver() as hook:
        console(page, base_url, org_id, "channels")
        channel = page.get_by_test_id("channel-form")
        channel.get_by_label("Channel id").fill("ops-hook")
        channel.get_by_label("Name").fill("Ops webhook")
        channel.get_by_role("button", name="Save channel").click()
        row = page.locator("[data-testid='channels'] tr[data-channel='ops-hook']")
        row.wait_for(timeout=UI_TIMEOUT_MS)
        secret_url = f"{hook.url}/hooks/T000/B000/{uuid.uuid4().hex}"
        row.get_by_label("Webhook URL of ops-hook", exact=True).fill(secret_url)
        row.get_by_role("button", name="Set").click()
        try:
            row.locator("[data-testid='secret-ops-hook'] code").wait_for(timeout=60_000)
        except Exception:
            print("ROW:", row.inner_html())
            screenshot(page, "journey-debug-secret")
            raise
        hint = row.get_by_test_id("secret-ops-hook").text_content()
        assert hook.url in hint and "/hooks/" not in hint  # masked: the path is the credential
        assert secret_url not in str(
            db.document(f"organizations/{org_id}/notification_channels/ops-hook").get().to_dict()
        )
        row.get_by_role("button", name="Send test").click()
        row.get_by_role("status").filter(has_text="Test delivered").wait_for(timeout=UI_TIMEOUT_MS)
        tests = hook.delivered()
        assert len(tests) == 1 and "Test notification of channel ops-hook" in tests[0].body["text"]
        screenshot(page, "journey-09-channels")

        # 8. An alert rule, previewed on current data, notifying the channel.
        console(page, base_url, org_id, "alerts")
        rule = page.get_by_test_id("rule-form")
        rule.get_by_label("Rule id").fill("revenue-floor")
        rule.get_by_label("Name").fill("Group revenue under 100k")
        rule.get_by_label("Severity").select_option("critical")
        rule.get_by_label("Direction").select_option("below")
        rule.get_by_label("Threshold (USD)").fill("100,000.00")
        rule.get_by_label("Ops webhook").check()
        # No actuals yet: the preview says the rule cannot judge; on the budget it would fire.
        preview = page.get_by_test_id("rule-preview")
        page.locator("[data-testid='rule-preview'][data-state='unjudged']").wait_for(timeout=UI_TIMEOUT_MS)
        assert f"No Revenue figure for {CUR}" in preview.text_content()
        rule.get_by_label("Scenario").select_option("budget")
        rule.get_by_label("Threshold (USD)").fill("150,000.00")
        page.locator("[data-testid='rule-preview'][data-state='firing']").wait_for(timeout=UI_TIMEOUT_MS)
        assert "is 100,000.00 USD, below the threshold of 150,000.00 USD" in preview.text_content()
        screenshot(page, "journey-10-alert-rule-preview")
        rule.get_by_label("Scenario").select_option("actual")
        rule.get_by_label("Threshold (USD)").fill("100,000.00")
        page.locator("[data-testid='rule-preview'][data-state='unjudged']").wait_for(timeout=UI_TIMEOUT_MS)
        rule.get_by_role("button", name="Save rule").click()
        page.locator("[data-testid='alert-rules'] tr[data-rule='revenue-floor']").wait_for(timeout=UI_TIMEOUT_MS)
        screenshot(page, "journey-11-alert-rules")

        # 9. The pack is e-mailed to the viewer when a period is closed.
        console(page, base_url, org_id, "schedules")
        schedule = page.get_by_test_id("schedule-form")
        schedule.get_by_label("Schedule id").fill("close-pack")
        schedule.get_by_label("When").select_option("period_close")
        schedule.get_by_label("Recipients (replace the channel's)").fill(emails["viewer"])
        schedule.get_by_role("button", name="Save schedule").click()
        page.locator("[data-testid='schedules'] tr[data-schedule='close-pack']").wait_for(timeout=UI_TIMEOUT_MS)
        screenshot(page, "journey-12-schedules")

        # 10. The editor and the viewer join from their e-mails; the editor uploads the actuals.
        editor_context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1300, "height": 900})
        editor = editor_context.new_page()
        create_account_from_link(
            editor, LINK.search(wait_for_mail(emails["editor"]).text).group(0), emails["editor"], "ed-password"
        )
        editor.goto(f"{base_url}#/org/{org_id}")
        upload = editor.locator("form.upload-form")
        upload.wait_for(timeout=UI_TIMEOUT_MS)
        upload.get_by_label("File").set_input_files(file(tmp_path, "actuals.csv", ACTUALS_CSV))
        upload.get_by_role("button", name="Upload").click()
        editor.get_by_test_id("upload-report").wait_for(timeout=UI_TIMEOUT_MS)
        assert "9 rows: 9 applied" in editor.get_by_test_id("upload-report").text_content()
        screenshot(editor, "journey-13-editor-upload")

        # The rule fires on the actuals and the channel gets the alert.
        wait_until(lambda: len(hook.delivered()) >= 2, timeout=UI_TIMEOUT_MS / 1000, what="the alert at the webhook")
        assert "rule `revenue-floor`" in json.dumps(hook.delivered()[1].body)  # one message, both months

    revenue = reporting(CUR, "4")
    viewer_link = LINK.search(wait_for_mail(emails["viewer"]).text).group(0)
    for name, viewport, mobile in (
        ("desktop", {"width": 1300, "height": 900}, False),
        ("phone", {"width": 390, "height": 844}, True),
    ):
        viewer_context = browser.new_context(
            locale="en-US", timezone_id="UTC", viewport=viewport, is_mobile=mobile, has_touch=mobile
        )
        viewer = viewer_context.new_page()
        if name == "desktop":
            create_account_from_link(viewer, viewer_link, emails["viewer"], "vi-password")
            viewer.goto(f"{base_url}#/org/{org_id}")
        else:
            viewer.goto(f"{base_url}#/org/{org_id}")
            viewer.get_by_label("E-mail").fill(emails["viewer"])
            viewer.get_by_label("Password").fill("vi-password")
            viewer.get_by_role("button", name="Sign in").click()
        viewer.locator(f"main[data-org='{org_id}'][data-role='viewer']").wait_for(timeout=UI_TIMEOUT_MS)
        # 11. The viewer sees the KPIs (exact), the org's KPI and the alert.
        viewer.locator("[data-testid='kpi-value-revenue']", has_text=f"${revenue:,.2f}").wait_for(timeout=UI_TIMEOUT_MS)
        ratio = (100 * reporting(CUR, "6") / revenue).quantize(Decimal("0.1"))
        viewer.locator("[data-testid='defined-kpi-value-opex_ratio_pct']", has_text=f"{ratio}%").wait_for(
            timeout=UI_TIMEOUT_MS
        )
        viewer.locator("[data-testid='active-alerts']", has_text="below 100,000.00 USD").wait_for(timeout=UI_TIMEOUT_MS)
        assert viewer.get_by_role("link", name="Admin").count() == 0
        screenshot(viewer, f"journey-14-viewer-dashboard-{name}")
        if name == "phone":
            overflow = sideways_overflow(viewer)
            assert overflow == [], f"the dashboard scrolls sideways at 390 px: {overflow}"
        # 12. ... and downloads the month's pack.
        viewer.get_by_role("navigation", name="Sections").get_by_role("link", name="Reports").click()
        request = viewer.get_by_test_id("request-report")
        request.get_by_label("Period").select_option(CUR)
        request.get_by_role("button", name="Request the pack").click()
        done = viewer.locator(f"[data-testid='reports'] li[data-period='{CUR}'][data-status='succeeded']").first
        done.wait_for(timeout=UI_TIMEOUT_MS * 2)
        with viewer.expect_download(timeout=UI_TIMEOUT_MS) as download:
            done.get_by_role("button", name="Download PDF").click()
        with open(download.value.path(), "rb") as handle:
            assert handle.read(5) == b"%PDF-"
        screenshot(viewer, f"journey-15-viewer-reports-{name}")
        if name == "phone":
            overflow = sideways_overflow(viewer)
            assert overflow == [], f"the reports page scrolls sideways at 390 px: {overflow}"
        else:
            assert axe_violations(viewer) == []
        viewer_context.close()

    # 13. The admin closes the previous month with its checklist; the schedule e-mails its pack.
    console(page, base_url, org_id, "periods")
    row = page.locator(f"[data-testid='periods'] tr[data-period='{PREV}']")
    row.get_by_role("button", name="Close checklist").click()
    checklist = page.get_by_test_id(f"checklist-{PREV}")
    checklist.locator("li[data-item='loads_applied'][data-state='done']").wait_for(timeout=UI_TIMEOUT_MS)
    assert checklist.locator("li[data-item='rejects_resolved'][data-state='done']").count() == 1
    screenshot(page, "journey-16-close-checklist")
    row.get_by_role("button", name=f"Close {PREV}").click()
    page.locator(f"[data-testid='periods'] tr[data-period='{PREV}'][data-status='closed']").wait_for(
        timeout=UI_TIMEOUT_MS
    )
    pack = wait_for_mail(emails["viewer"], after=1, timeout=UI_TIMEOUT_MS / 1000)
    assert PREV in pack.subject and "Journey Ltd" in pack.subject
    assert axe_violations(page) == []
    editor_context.close()
    admin_context.close()

    # 14. The console on a phone: every screen fits the 390 px width (wide tables scroll in their panel).
    phone = browser.new_context(
        locale="en-US", timezone_id="UTC", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    admin_phone = phone.new_page()
    admin_phone.goto(f"{base_url}#/org/{org_id}/admin/members")
    admin_phone.get_by_label("E-mail").fill(emails["admin"])
    admin_phone.get_by_label("Password").fill("ada-password")
    admin_phone.get_by_role("button", name="Sign in").click()
    screens = ["members", "organisation", "entities", "accounts", "periods", "fx", "plans", "metrics", "alerts"]
    for screen in [*screens, "channels", "schedules"]:
        console(admin_phone, base_url, org_id, screen)
        admin_phone.locator(".admin-screen .panel").first.wait_for(timeout=UI_TIMEOUT_MS)
        admin_phone.wait_for_function(  # every listener answered: the screen shows the data, not "Loading"
            "() => !document.querySelector('.admin-screen .state.loading')", timeout=UI_TIMEOUT_MS
        )
        overflow = sideways_overflow(admin_phone)
        assert overflow == [], f"the {screen} screen scrolls sideways at 390 px: {overflow}"
        screenshot(admin_phone, f"journey-17-phone-admin-{screen}")
    phone.close()

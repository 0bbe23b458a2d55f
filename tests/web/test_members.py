"""People in Chromium: the operator's link makes a new account the org's admin, the admin invites an editor by
e-mail from the console, the invitee opens the e-mailed link, creates an account and joins; roles change live,
and the last admin can be neither demoted nor removed."""

from __future__ import annotations

import re
import uuid

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.web.browser import screenshot
from tests.web.test_dashboard import UI_TIMEOUT_MS
from tools.organizations import main as organizations_command
from tools.stack.mailbox import wait_for_mail

pytestmark = pytest.mark.emulators

LINK = re.compile(r"http://\S+#/invitation/[A-Za-z0-9_-]+")


def create_account_from_link(page, link: str, email: str, password: str) -> None:
    """Open an invitation link signed out, create the account with the invited address, and wait to join."""
    page.goto(link)
    page.get_by_role("button", name="I am new here: create an account").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    page.get_by_test_id("invitation-accepted").wait_for(timeout=UI_TIMEOUT_MS)


def test_an_org_from_the_operator_command_to_an_invited_editor(browser, base_url, stack, db, capsys):
    org_id = f"web-people-{uuid.uuid4().hex[:8]}"
    admin_email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    assert (
        organizations_command(
            [
                "create",
                org_id,
                "--name",
                "People Ltd",
                "--currency",
                "USD",
                "--admin-email",
                admin_email,
                "--admin-name",
                "Ada",
            ]
        )
        == 0
    )
    link = LINK.search(capsys.readouterr().out).group(0)
    assert link.startswith(base_url)

    admin_context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1300, "height": 900})
    page = admin_context.new_page()
    create_account_from_link(page, link, admin_email, "ada-password")
    assert f"You joined {org_id} as admin" in page.get_by_test_id("invitation-accepted").text_content()
    screenshot(page, "invitation-accepted")
    page.get_by_role("link", name="Open the dashboard").click()
    page.locator(f"main[data-org='{org_id}'][data-role='admin']").wait_for(timeout=UI_TIMEOUT_MS)

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Admin").click()
    page.locator("[data-screen='members']").wait_for(timeout=UI_TIMEOUT_MS)
    members = page.get_by_test_id("members")
    members.locator("tr[data-role='admin']").wait_for(timeout=UI_TIMEOUT_MS)
    assert "Ada" in members.text_content()

    editor_email = f"ed-{uuid.uuid4().hex[:6]}@example.com"
    form = page.get_by_test_id("invite-form")
    form.get_by_label("E-mail").fill(editor_email.upper())  # typed in capitals: invitations are lower case
    form.get_by_label("Role").select_option("editor")
    form.get_by_role("button", name="Invite").click()
    sent = page.locator("[data-testid='invitations'] tr[data-state='sent']")
    sent.wait_for(timeout=UI_TIMEOUT_MS)
    assert editor_email in sent.text_content()
    screenshot(page, "admin-members")

    mail = wait_for_mail(editor_email, timeout=60)
    assert "People Ltd" in mail.subject and "Ada invited you" in mail.text
    editor_link = LINK.search(mail.text).group(0)
    editor_context = browser.new_context(locale="en-US", timezone_id="UTC")
    editor_page = editor_context.new_page()
    create_account_from_link(editor_page, editor_link, editor_email, "ed-password")
    assert "as editor" in editor_page.get_by_test_id("invitation-accepted").text_content()

    # The admin's screen follows without a reload: the editor is a member, the invitation accepted.
    editor_row = members.locator("tr[data-role='editor']")
    editor_row.wait_for(timeout=UI_TIMEOUT_MS)
    page.locator("[data-testid='invitations'] tr[data-state='accepted']", has_text=editor_email).wait_for(
        timeout=UI_TIMEOUT_MS
    )

    # A role change through the backend shows live; the editor's session follows at once.
    editor_row.get_by_role("combobox").select_option("viewer")
    members.locator("tr[data-role='viewer']").wait_for(timeout=UI_TIMEOUT_MS)
    editor_page.goto(f"{base_url}#/org/{org_id}")
    editor_page.locator(f"main[data-org='{org_id}'][data-role='viewer']").wait_for(timeout=UI_TIMEOUT_MS)
    assert editor_page.get_by_role("link", name="Admin").count() == 0

    # The only admin cannot demote themselves: the backend says why, and nothing changes.
    admin_row = members.locator("tr[data-role='admin']")
    admin_row.get_by_role("combobox").select_option("viewer")
    error = admin_row.get_by_role("alert")
    error.wait_for(timeout=UI_TIMEOUT_MS)
    assert "only admin" in error.text_content()
    assert (
        db.document(f"organizations/{org_id}")
        .collection("members")
        .where(filter=FieldFilter("role", "==", "admin"))
        .count()
        .get()
    )[0][0].value == 1
    admin_context.close()
    editor_context.close()

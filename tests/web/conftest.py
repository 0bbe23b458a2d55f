"""Fixtures of the browser tests: the dashboard on the session stack's Hosting emulator, Chromium, a seeded org."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import event, publish, wait_for_events, wait_until
from tests.web.browser import launch
from tests.web.orgs import KPI_PERIOD, NO_FX_PERIOD, PREVIOUS, WebOrg, add_member
from tools.stack.seed import demo_reference, write_reference


@pytest.fixture(scope="session")
def base_url(stack) -> str:
    """The dashboard as the Hosting emulator serves it, rebuilt first if web/ changed since the stack started."""
    from tools.web import build

    build(progress=lambda line: print(f"[web] {line}", flush=True))
    return f"http://{stack.config.address('hosting')}/"


@pytest.fixture(scope="session")
def browser(stack) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright, tuple(stack.config.ports.values()))
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def web_org(stack, db) -> WebOrg:
    """The demo chart under a fresh org with a few records in the KPI month, a viewer and an editor."""
    org_id = f"web-{uuid.uuid4().hex[:10]}"
    reference = demo_reference()
    reference = dict(reference, fx_rates={p: r for p, r in reference["fx_rates"].items() if p != NO_FX_PERIOD})
    write_reference(db, org_id, reference)
    events = [
        event(org_id, "w-rev-prev", 1, period=PREVIOUS, amount="1000.00"),
        event(org_id, "w-cogs-prev", 1, period=PREVIOUS, account="5100", amount="400.00"),
        event(org_id, "w-rev-1", 1, period=KPI_PERIOD, amount="500.00"),
        event(org_id, "w-rev-eu", 1, period=KPI_PERIOD, entity="eu-central", amount="200.00", currency="EUR"),
        event(org_id, "w-opex-1", 1, period=KPI_PERIOD, entity="us-west", account="6100", amount="100.00"),
        event(org_id, "w-rev-budget", 1, period=KPI_PERIOD, scenario="budget", amount="2000.00"),
    ]
    publish(stack, events)
    wait_for_events(db, org_id, len(events), timeout=300)
    viewer = add_member(stack, db, org_id, "viewer", "Vera Viewer")
    editor = add_member(stack, db, org_id, "editor", "Ed Editor")
    # The cards read kpis/current, derived after the aggregates: wait until it holds every record.
    kpis = db.document(f"organizations/{org_id}/kpis/current")
    wait_until(
        lambda: (kpis.get().to_dict() or {}).get("record_count") == 3,
        timeout=300,
        what=f"kpis/current of {org_id} to count the 3 records of {KPI_PERIOD}",
    )
    return WebOrg(org_id, viewer, editor, reference)


@pytest.fixture
def context(browser):
    """A fresh browser context (own cookies and IndexedDB: its own signed-in user)."""
    ctx = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1400, "height": 1000})
    yield ctx
    ctx.close()

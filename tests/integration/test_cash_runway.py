"""Burn and runway on the emulators: kpis/current carries the 13-week cash forecast's, for the headline and the
library's `net_burn` / `runway_months` alike, and a company whose cash grows shows no runway in months.

The expected figures are computed here from the events (weekly flows, cash on hand) with the definition of
docs/kpis.md, not with the backend's code.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

import pytest
from finance_core.metric_library import library, with_requirements
from finance_core.periods import add_months

from tests.firestore_events import run_scheduled
from tests.support import event, publish, wait_for_events, wait_until
from tools.stack.seed import demo_reference, write_reference

pytestmark = pytest.mark.emulators

WEEKLY_OUTFLOWS = [1000_00 + 100_00 * week for week in range(8)]  # 1,000.00 .. 1,700.00 a week
OPENING = 50_000_00


def dated(body: dict, day: date) -> dict:
    body["record"]["date"] = day.isoformat()
    return body


def _org(db, org_id: str, today: date) -> None:
    reference = dict(demo_reference(), members=[])
    first = add_months(today.isoformat()[:7], -4)
    months = [add_months(first, i) for i in range(6)]
    periods = {p: {"status": "open"} for p in sorted(set(reference["periods"]) | set(months))}
    # The month of today is the one in progress: the cash on hand counts every movement up to it.
    write_reference(db, org_id, dict(reference, periods=periods, current_period=today.isoformat()[:7]))
    org = db.collection("organizations").document(org_id)
    entries = library()
    for metric_id in with_requirements(["net_burn", "runway_months"], entries):
        org.collection("metric_definitions").document(metric_id).set(dict(entries[metric_id]))


def _expected(flows: list[int], cash: int) -> dict:
    """Burn and runway as docs/kpis.md defines them, from the weekly flows (minor units) and the cash."""
    mean = Decimal(sum(flows)) / len(flows)
    if mean >= 0:
        return {"status": "not_burning", "burn_monthly_minor": 0, "runway_months": None, "cash_minor": cash}
    monthly = -mean * 13 / 3
    return {
        "status": "burning",
        "burn_monthly_minor": int(monthly.quantize(Decimal(1), ROUND_HALF_EVEN)),
        "runway_months": str((Decimal(cash) / monthly).quantize(Decimal("0.1"), ROUND_FLOOR)),
        "cash_minor": cash,
    }


def _settle(stack, db, org_id: str, expected: dict) -> tuple[dict, dict]:
    forecast_ref = db.document(f"organizations/{org_id}/trends/cash__forecast")
    kpis_ref = db.document(f"organizations/{org_id}/kpis/current")

    def agreed():
        forecast = (forecast_ref.get().to_dict() or {}).get("runway") or {}
        kpis = kpis_ref.get().to_dict() or {}
        if any(forecast.get(k) != v for k, v in expected.items()) or kpis.get("cash") != forecast:
            return None
        entries = kpis.get("kpis") or {}
        if not {"net_burn", "runway_months"} <= set(entries):
            return None
        return forecast, kpis

    try:
        return wait_until(agreed, timeout=60, what="the cash forecast and kpis/current")
    except AssertionError:
        # The last change may have come inside the trends' debounce window: the minute sweep computes it.
        run_scheduled(stack, "sweep_trend_requests")
        return wait_until(agreed, timeout=240, what="the cash forecast and kpis/current, after the sweep")


def test_kpis_current_shows_the_cash_forecasts_burn_and_runway_and_none_when_cash_grows(stack, db, org_id):
    today = date.today()
    _org(db, org_id, today)
    monday = today - timedelta(days=today.weekday())
    days = [monday - timedelta(weeks=8 - week) + timedelta(days=2) for week in range(8)]
    events = [
        dated(
            event(org_id, f"out-{n}", 1, account="1000", period=day.isoformat()[:7], amount=f"-{flow / 100:.2f}"), day
        )
        for n, (day, flow) in enumerate(zip(days, WEEKLY_OUTFLOWS, strict=True))
    ]
    events.append(event(org_id, "opening", 1, account="1000", period=days[0].isoformat()[:7], amount="50000.00"))
    # Revenue in the month in progress: the headline KPIs exist (kpis/current is written).
    events.append(event(org_id, "sale", 1, period=today.isoformat()[:7], amount="10.00"))
    publish(stack, events)
    wait_for_events(db, org_id, len(events), timeout=240)

    cash = OPENING - sum(WEEKLY_OUTFLOWS)
    expected = _expected([-flow for flow in WEEKLY_OUTFLOWS], cash)
    assert expected["status"] == "burning" and expected["runway_months"] == "6.7"  # 39,200.00 / 5,850.00
    forecast, kpis = _settle(stack, db, org_id, expected)
    assert kpis["cash"] == forecast
    entries = kpis["kpis"]
    assert entries["net_burn"]["value"] == forecast["burn_monthly_minor"] == 5850_00
    assert entries["runway_months"]["value"] == float(Decimal(forecast["runway_months"])) == 6.7
    assert entries["runway_months"]["basis"] == "cash_forecast" and entries["runway_months"]["previous"] is None
    # The library's monthly series still exists (trends, alerts, BigQuery); kpis/current does not show it.
    assert entries["cash_position"]["value"] == cash

    # An inflow in the last complete week: the forecast is net positive, not burning, no runway in months.
    inflow = dated(
        event(org_id, "inflow", 1, account="1000", period=days[-1].isoformat()[:7], amount="20000.00"), days[-1]
    )
    publish(stack, [inflow])
    wait_for_events(db, org_id, len(events) + 1, timeout=240)
    flows = [-flow for flow in WEEKLY_OUTFLOWS]
    flows[-1] += 20_000_00
    expected = _expected(flows, cash + 20_000_00)
    assert expected["status"] == "not_burning"
    forecast, kpis = _settle(stack, db, org_id, expected)
    assert kpis["kpis"]["runway_months"]["value"] is None and kpis["kpis"]["runway_months"]["status"] == "not_burning"
    assert kpis["kpis"]["net_burn"]["value"] == 0 and kpis["cash"]["runway_weeks"] is None
